package lifecycle_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ticketd/ticketd"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/lifecycle"
	"github.com/ticketd/ticketd/store/sqlite"
)

// BenchmarkPass compares a pass over 100,000 pending tickets of which 1,000
// are due with a pass over the same tickets when none is due: the cost must
// follow the work due, not the number of tickets.
//
//	go test -run '^$' -bench Pass ./lifecycle/
func BenchmarkPass(b *testing.B) {
	const total, due = 100_000, 1_000
	dir := b.TempDir()
	path := filepath.Join(dir, "ticketd.toml")
	if err := os.WriteFile(path, []byte(daemontest.BaseConfig(dir)), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	st, err := sqlite.Open(filepath.Join(dir, "bench.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	base := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	// 99,000 tickets answered at base (reminders due at base+23d) and
	// 1,000 answered 30 days earlier (due from base-7d).
	var dueTickets []int64
	for start := 0; start < total; start += 10_000 {
		err := st.Update(ctx, func(tx ticketd.Tx) error {
			for i := start; i < start+10_000; i++ {
				since := base
				if i%(total/due) == 0 {
					since = base.Add(-30 * 24 * time.Hour)
				}
				tk := &ticketd.Ticket{
					Token: fmt.Sprintf("tok%07d", i), Mailbox: "soporte@example.com",
					RequesterAddr: fmt.Sprintf("c%d@cliente.example", i), Subject: "bench",
					Status: ticketd.StatusPendiente, CreatedAt: since, UpdatedAt: since, PendingSince: since,
				}
				if err := tx.CreateTicket(tk); err != nil {
					return err
				}
				if i%(total/due) == 0 {
					dueTickets = append(dueTickets, tk.Number)
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if len(dueTickets) != due {
		b.Fatalf("%d due tickets", len(dueTickets))
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	run := func(name string, now time.Time, want int) {
		b.Run(name, func(b *testing.B) {
			s := &lifecycle.Scheduler{Store: st, Config: func() *config.Config { return cfg }, Now: func() time.Time { return now }, Log: quiet}
			for b.Loop() {
				done, err := s.Pass(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if len(done) != want {
					b.Fatalf("pass did %d, want %d", len(done), want)
				}
				if want == 0 {
					continue
				}
				b.StopTimer()
				// Un-remind the due tickets for the next iteration.
				err = st.Update(ctx, func(tx ticketd.Tx) error {
					for _, n := range dueTickets {
						tk, err := tx.TicketByNumber(n)
						if err != nil {
							return err
						}
						tk.ReminderSentAt = time.Time{}
						if err := tx.SaveTicket(tk); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
	run(fmt.Sprintf("tickets=%d/due=%d", total, due), base.Add(24*time.Hour), due)
	run(fmt.Sprintf("tickets=%d/due=0", total), base.Add(-8*24*time.Hour), 0)
}
