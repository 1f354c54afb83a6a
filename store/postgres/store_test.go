package postgres

import (
	"context"
	"testing"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/store/postgres/pgtest"
	"github.com/ticketd/ticketd/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, opener(pgtest.Start(t)))
}

func TestDeskContract(t *testing.T) {
	storetest.RunDesk(t, opener(pgtest.Start(t)))
}

// opener gives each test a fresh database of srv, and reopens it as a
// restarted process would.
func opener(srv *pgtest.Server) storetest.Opener {
	return func(t *testing.T) (ticketd.Store, func() ticketd.Store) {
		dsn := srv.NewDB(t)
		s, err := Open(context.Background(), dsn, Options{})
		if err != nil {
			t.Fatal(err)
		}
		cur := s
		t.Cleanup(func() { cur.Close() })
		return s, func() ticketd.Store {
			cur.Close()
			s2, err := Open(context.Background(), dsn, Options{})
			if err != nil {
				t.Fatal(err)
			}
			cur = s2
			return s2
		}
	}
}
