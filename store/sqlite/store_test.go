package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (ticketd.Store, func() ticketd.Store) {
		path := filepath.Join(t.TempDir(), "t.db")
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		cur := s
		t.Cleanup(func() { cur.Close() })
		return s, func() ticketd.Store {
			cur.Close()
			s2, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			cur = s2
			return s2
		}
	})
}

func openTest(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func newTicket(tx *Tx, token string) (*ticketd.Ticket, error) {
	return storetest.NewTicket(tx, token, "c@x.example")
}

func TestDeskContract(t *testing.T) {
	storetest.RunDesk(t, func(t *testing.T) (ticketd.Store, func() ticketd.Store) {
		path := filepath.Join(t.TempDir(), "t.db")
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		cur := s
		t.Cleanup(func() { cur.Close() })
		return s, func() ticketd.Store {
			cur.Close()
			s2, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			cur = s2
			return s2
		}
	})
}
