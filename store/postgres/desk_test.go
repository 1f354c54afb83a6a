package postgres

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/store/postgres/pgtest"
	"github.com/ticketd/ticketd/store/storetest"
)

// twoProcesses opens one database twice, each with a pool of its own, as
// two ticketd processes do.
func twoProcesses(t *testing.T) (*Store, *Store) {
	t.Helper()
	dsn := pgtest.Start(t).NewDB(t)
	var out [2]*Store
	for i := range out {
		s, err := Open(context.Background(), dsn, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out[i] = s
	}
	return out[0], out[1]
}

func mustUpdate(t *testing.T, s *Store, fn func(tx ticketd.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// deskView reads the last UID issued and every ticket's UID, in one snapshot.
func deskView(t *testing.T, s *Store) (last uint32, uids map[int64]uint32) {
	t.Helper()
	uids = map[int64]uint32{}
	err := s.View(context.Background(), func(tx ticketd.Tx) error {
		d := tx.(ticketd.DeskTx)
		var err error
		if last, err = d.DeskLastUID(); err != nil {
			return err
		}
		es, err := d.DeskFolder(ticketd.DeskFilter{Mailboxes: []string{"soporte@example.com"}})
		for _, e := range es {
			uids[e.Ticket] = e.UID
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return last, uids
}

func newTickets(t *testing.T, s *Store, n int) []*ticketd.Ticket {
	t.Helper()
	var out []*ticketd.Ticket
	mustUpdate(t, s, func(tx ticketd.Tx) error {
		out = out[:0]
		for i := range n {
			tk, err := storetest.NewTicket(tx, fmt.Sprintf("tok%02d", i), "carla@cliente.example")
			if err != nil {
				return err
			}
			out = append(out, tk)
		}
		return nil
	})
	return out
}

// A UID is issued when its transaction commits, not when it changed the
// ticket: a change that commits later gets the higher UID, also when it
// began first and in another process. Otherwise a mail client that has
// seen the later commit's UID would never ask for the earlier one's.
func TestDeskUIDsFollowCommitOrder(t *testing.T) {
	p1, p2 := twoProcesses(t)
	tks := newTickets(t, p1, 2)
	a, b := tks[0], tks[1]

	changed, release, done := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		done <- p1.Update(context.Background(), func(tx ticketd.Tx) error {
			a.Status = ticketd.StatusAbierto
			if err := tx.SaveTicket(a); err != nil {
				return err
			}
			close(changed)
			<-release
			return nil
		})
	}()
	<-changed
	// Process 2 changes the other ticket and commits while process 1's
	// change is still open.
	mustUpdate(t, p2, func(tx ticketd.Tx) error {
		_, err := tx.AddTag(b.Number, "vip")
		return err
	})
	last, uids := deskView(t, p2)
	if uids[b.Number] != last {
		t.Fatalf("after process 2's commit: ticket B has UID %d, the last issued is %d; want B's", uids[b.Number], last)
	}
	if uids[a.Number] >= uids[b.Number] {
		t.Fatalf("ticket A (uncommitted change) shows UID %d, not below B's %d", uids[a.Number], uids[b.Number])
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	last2, uids2 := deskView(t, p2)
	if uids2[a.Number] <= uids[b.Number] || uids2[a.Number] != last2 {
		t.Fatalf("ticket A committed last with UID %d (last issued %d); want one above B's %d", uids2[a.Number], last2, uids[b.Number])
	}
	if uids2[b.Number] != uids[b.Number] {
		t.Fatalf("ticket B's UID moved from %d to %d without a change", uids[b.Number], uids2[b.Number])
	}
}

// A transaction that reads a ticket's desk UID after changing it (a desk
// move answers with the new UID) sees the new one, and that is the UID the
// ticket keeps after the commit: one change in one transaction is one UID,
// however many rows it wrote.
func TestDeskUIDReadInItsTransaction(t *testing.T) {
	p1, _ := twoProcesses(t)
	tk := newTickets(t, p1, 1)[0]
	before, _ := deskView(t, p1)
	var inside, lastInside uint32
	mustUpdate(t, p1, func(tx ticketd.Tx) error {
		tk.Assignee = "ana@example.com"
		if err := tx.SaveTicket(tk); err != nil {
			return err
		}
		if _, err := tx.AddTag(tk.Number, "vip"); err != nil {
			return err
		}
		d := tx.(ticketd.DeskTx)
		e, err := d.DeskEntry(tk.Number)
		if err != nil {
			return err
		}
		inside = e.UID
		// More changes after the read: the ticket owes no further UID
		// within this transaction.
		if err := tx.InsertMessage(&ticketd.Message{Ticket: tk.Number, Author: ticketd.AuthorAgent, FromAddr: "ana@example.com", NewText: "hola", CreatedAt: time.Now()}); err != nil {
			return err
		}
		lastInside, err = d.DeskLastUID()
		return err
	})
	last, uids := deskView(t, p1)
	if inside != before+1 || lastInside != inside {
		t.Fatalf("inside the transaction: UID %d, last %d; want %d for both", inside, lastInside, before+1)
	}
	if uids[tk.Number] != inside || last != inside {
		t.Fatalf("after the commit: UID %d, last issued %d; want %d (the one read inside)", uids[tk.Number], last, inside)
	}
}

// Two processes changing tickets at once: every ticket ends with a UID
// above the one it had, none shown twice, and a reader never sees a UID
// appear at or below the last UID it had already seen issued.
func TestDeskUIDsConcurrentProcesses(t *testing.T) {
	p1, p2 := twoProcesses(t)
	const tickets, writers, changes = 6, 3, 30
	tks := newTickets(t, p1, tickets)
	start, startUIDs := deskView(t, p1)

	var wg sync.WaitGroup
	errs := make(chan error, 2*writers)
	for w := range 2 * writers {
		s := []*Store{p1, p2}[w%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range changes {
				n := tks[(w*7+i*5)%tickets].Number
				err := s.Update(context.Background(), func(tx ticketd.Tx) error {
					tk, err := tx.TicketByNumber(n)
					if err != nil {
						return err
					}
					tk.UpdatedAt = tk.UpdatedAt.Add(time.Second)
					if err := tx.SaveTicket(tk); err != nil {
						return err
					}
					return tx.InsertMessage(&ticketd.Message{Ticket: n, Author: ticketd.AuthorCustomer, FromAddr: "carla@cliente.example",
						NewText: fmt.Sprintf("w%d i%d", w, i), CreatedAt: tk.UpdatedAt})
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()

	prevLast, prev := start, startUIDs
	check := func() {
		last, uids := deskView(t, p2)
		if last < prevLast {
			t.Fatalf("the last UID issued went down: %d -> %d", prevLast, last)
		}
		owner := map[uint32]int64{}
		for n, u := range uids {
			if u > last {
				t.Fatalf("ticket %d shows UID %d above the last issued %d", n, u, last)
			}
			if o, dup := owner[u]; dup {
				t.Fatalf("UID %d shown for tickets %d and %d", u, o, n)
			}
			owner[u] = n
			if u != prev[n] && u <= prevLast {
				t.Fatalf("ticket %d appeared with UID %d, at or below %d, which an earlier read had already seen issued", n, u, prevLast)
			}
		}
		prevLast, prev = last, uids
	}
	for running := true; running; {
		select {
		case <-finished:
			running = false
		default:
		}
		check()
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	check()
	for n, u := range prev {
		if u <= startUIDs[n] {
			t.Fatalf("ticket %d changed, but its UID went from %d to %d", n, startUIDs[n], u)
		}
	}
}

// BenchmarkDeskUIDsOneTransaction changes many tickets in one transaction
// (as a scheduler pass or a bulk import does), each owed a new desk UID at
// the commit. The cost per ticket should not grow with their number.
//
//	go test -run '^$' -bench DeskUIDsOneTransaction ./store/postgres/
func BenchmarkDeskUIDsOneTransaction(b *testing.B) {
	dsn := pgtest.Start(b).NewDB(b)
	s, err := Open(context.Background(), dsn, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for _, n := range []int{2000, 20000} {
		b.Run(fmt.Sprintf("%d-tickets", n), func(b *testing.B) {
			round := 0
			for b.Loop() {
				round++
				_, err := s.Pool().Exec(context.Background(), `INSERT INTO tickets(token, mailbox, requester_addr, status, created_at, updated_at)
					SELECT 'b'||$2::int||'-'||g, 'soporte@example.com', 'c@x.example', 'nuevo', now(), now() FROM generate_series(1, $1::int) g`, n, round*1000000+n)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/ticket")
		})
	}
}

// A database made before the desk (migration 0007 missing, later ones
// applied) gets it at the next start: every ticket a UID, in the order of
// its last activity, and the next change a UID above them all.
func TestDeskMigrationOnExistingTickets(t *testing.T) {
	dsn := pgtest.Start(t).NewDB(t)
	s, err := Open(context.Background(), dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Back to the schema without the desk, with tickets in it.
	_, err = s.Pool().Exec(context.Background(), `DROP TABLE desk_uids, desk_seen, desk_agents, desk_digests;
		DROP SEQUENCE desk_uid_seq; DROP FUNCTION desk_owe() CASCADE; DROP FUNCTION desk_settle(boolean); DELETE FROM schema_migrations WHERE version = 7`)
	if err != nil {
		t.Fatal(err)
	}
	var nums []int64
	mustUpdate(t, s, func(tx ticketd.Tx) error {
		nums = nums[:0]
		// Created in one order, last active in the reverse one.
		for i := range 3 {
			tk := &ticketd.Ticket{Token: fmt.Sprintf("old%d", i), Mailbox: "soporte@example.com", RequesterAddr: "carla@cliente.example",
				Status: ticketd.StatusNuevo, CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2026, 1, 10-i, 0, 0, 0, 0, time.UTC)}
			if err := tx.CreateTicket(tk); err != nil {
				return err
			}
			nums = append(nums, tk.Number)
		}
		return nil
	})
	s.Close()

	s, err = Open(context.Background(), dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	last, uids := deskView(t, s)
	if last != 3 || uids[nums[2]] != 1 || uids[nums[1]] != 2 || uids[nums[0]] != 3 {
		t.Fatalf("after the migration: last %d, UIDs %v; want 3, and 1, 2, 3 from the least recently active", last, uids)
	}
	mustUpdate(t, s, func(tx ticketd.Tx) error { _, err := tx.AddTag(nums[2], "vip"); return err })
	if last, uids = deskView(t, s); last != 4 || uids[nums[2]] != 4 {
		t.Fatalf("after a change: last %d, UID %d; want 4", last, uids[nums[2]])
	}
}

// BenchmarkDeskConcurrentChanges is the price of issuing desk UIDs in
// commit order: 16 connections each changing a ticket of its own and
// committing, on a durable server (fsync on), with the desk's triggers as
// they are and, for comparison, turned off (commits then need not take
// turns, and flush together).
//
//	go test -run '^$' -bench DeskConcurrentChanges ./store/postgres/
func BenchmarkDeskConcurrentChanges(b *testing.B) {
	srv := pgtest.StartWith(b, pgtest.Options{Durable: true})
	for _, on := range []bool{true, false} {
		b.Run(map[bool]string{true: "desk-uids", false: "triggers-off"}[on], func(b *testing.B) {
			s, err := Open(context.Background(), srv.NewDB(b), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if !on {
				_, err := s.Pool().Exec(context.Background(), `ALTER TABLE tickets DISABLE TRIGGER desk_ticket_update`)
				if err != nil {
					b.Fatal(err)
				}
			}
			var nums []int64
			if err := s.Update(context.Background(), func(tx ticketd.Tx) error {
				for i := range 16 {
					tk, err := storetest.NewTicket(tx, fmt.Sprintf("c%02d", i), "carla@cliente.example")
					if err != nil {
						return err
					}
					nums = append(nums, tk.Number)
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			var next atomic.Int64
			b.SetParallelism(8) // 16 goroutines on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				n := nums[int(next.Add(1)-1)%len(nums)]
				for pb.Next() {
					err := s.Update(context.Background(), func(tx ticketd.Tx) error {
						_, err := tx.(*Tx).exec("bench", `UPDATE tickets SET updated_at = updated_at + interval '1 ms' WHERE number = $1`, n)
						return err
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
		})
	}
}
