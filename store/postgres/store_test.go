package postgres

import (
	"context"
	"testing"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/store/postgres/pgtest"
	"github.com/ticketd/ticketd/store/storetest"
)

func TestContract(t *testing.T) {
	srv := pgtest.Start(t)
	storetest.Run(t, func(t *testing.T) (ticketd.Store, func() ticketd.Store) {
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
	})
}
