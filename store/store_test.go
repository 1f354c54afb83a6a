package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

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

func newTicket(tx *Tx, token string) (*Ticket, error) {
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	tk := &Ticket{Token: token, Mailbox: "soporte@example.com", RequesterAddr: "c@x.example", Status: StatusNuevo, CreatedAt: now, UpdatedAt: now}
	return tk, tx.CreateTicket(tk)
}

// Sessions that commit at the same moment share a transaction, but a
// failing one rolls back alone: the others' work is committed.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	s, _ := openTest(t)
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Update(context.Background(), func(tx *Tx) error {
				tk, err := newTicket(tx, "tok"+string(rune('a'+i%26))+string(rune('a'+i/26)))
				if err != nil {
					return err
				}
				if i%4 == 0 {
					// Written, then refused: must leave no trace.
					tx.AddEvent(&Event{Ticket: tk.Number, Type: "created", Actor: "x", At: tk.CreatedAt})
					return errors.New("refused")
				}
				return tx.AddEvent(&Event{Ticket: tk.Number, Type: "created", Actor: "x", At: tk.CreatedAt})
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if (i%4 == 0) != (err != nil) {
			t.Fatalf("job %d: err %v", i, err)
		}
	}
	var tks []*Ticket
	s.View(context.Background(), func(tx *Tx) error {
		var err error
		tks, err = tx.ListTickets(TicketFilter{})
		return err
	})
	if len(tks) != 30 {
		t.Fatalf("%d tickets committed, want 30", len(tks))
	}
	for _, tk := range tks {
		var evs []Event
		s.View(context.Background(), func(tx *Tx) error {
			var err error
			evs, err = tx.Events(tk.Number)
			return err
		})
		if len(evs) != 1 {
			t.Fatalf("ticket %d has %d events", tk.Number, len(evs))
		}
	}
}

func TestCommittedWorkSurvivesReopen(t *testing.T) {
	s, path := openTest(t)
	if err := s.Update(context.Background(), func(tx *Tx) error {
		_, err := newTicket(tx, "durable")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.View(context.Background(), func(tx *Tx) error {
		_, err := tx.TicketByToken("durable")
		return err
	}); err != nil {
		t.Fatalf("after reopen: %v", err)
	}
}

func TestPanicInTransactionIsAnError(t *testing.T) {
	s, _ := openTest(t)
	err := s.Update(context.Background(), func(tx *Tx) error { panic("boom") })
	if err == nil {
		t.Fatal("panic swallowed")
	}
	if err := s.Update(context.Background(), func(tx *Tx) error { _, err := newTicket(tx, "after"); return err }); err != nil {
		t.Fatalf("store unusable after a panic: %v", err)
	}
}

func TestClaimIsExclusive(t *testing.T) {
	s, _ := openTest(t)
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	var id int64
	s.Update(context.Background(), func(tx *Tx) error {
		o := &Outgoing{Kind: "ack", Rcpt: "c@x.example", MessageID: "m@x", CreatedAt: now, NextAt: now}
		err := tx.Enqueue(o)
		id = o.ID
		return err
	})
	got := make([]bool, 2)
	for i := range got {
		s.Update(context.Background(), func(tx *Tx) error {
			var err error
			got[i], err = tx.Claim(id, now, now.Add(5*time.Minute))
			return err
		})
	}
	if !got[0] || got[1] {
		t.Fatalf("claims = %v, want exactly the first", got)
	}
}

// New messages become searchable in batches, off the commit of each mail.
func TestSearchIndexCatchesUp(t *testing.T) {
	s, _ := openTest(t)
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	var number int64
	for i := 0; i < 250; i++ {
		if err := s.Update(context.Background(), func(tx *Tx) error {
			if number == 0 {
				tk, err := newTicket(tx, "searchable")
				if err != nil {
					return err
				}
				number = tk.Number
			}
			text := "una consulta normal"
			if i == 237 {
				text = "la factura duplicada del mes"
			}
			return tx.InsertMessage(&Message{Ticket: number, Author: AuthorCustomer, Subject: "hola", Text: text, NewText: text, CreatedAt: at})
		}); err != nil {
			t.Fatal(err)
		}
	}
	// The store's own background pass (every second) may have indexed
	// some already when the machine is slow; together they index each once.
	n, err := s.IndexSearch(context.Background())
	var through, last int64
	s.View(context.Background(), func(tx *Tx) error {
		tx.queryRow(`SELECT indexed_through FROM search_state`).Scan(&through)
		return tx.queryRow(`SELECT MAX(id) FROM messages`).Scan(&last)
	})
	if err != nil || n > 250 || through != last || last != 250 {
		t.Fatalf("IndexSearch = %d, %v; index reaches %d of %d", n, err, through, last)
	}
	if n, _ := s.IndexSearch(context.Background()); n != 0 {
		t.Fatalf("second IndexSearch indexed %d again", n)
	}
	var hits []SearchHit
	s.View(context.Background(), func(tx *Tx) error {
		hits, err = tx.Search(SearchQuery{Text: "factura"})
		return err
	})
	if err != nil || len(hits) != 1 || hits[0].Ticket.Number != number || !strings.Contains(hits[0].Snippet, "[factura]") {
		t.Fatalf("search after indexing: %+v %v", hits, err)
	}
}
