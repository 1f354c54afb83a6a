package desk_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/desk"
	"github.com/ticketd/ticketd/store/postgres"
	"github.com/ticketd/ticketd/store/postgres/pgtest"
	"github.com/ticketd/ticketd/store/sqlite"
	"github.com/ticketd/ticketd/store/storetest"
)

// BenchmarkFirstSync is what a mail client does when an agent opens the
// desk: SELECT INBOX and FETCH flags, size and envelope of every message,
// on a desk of 500 waiting tickets with three messages each. "cold" renders
// every message (a new server); "warm" finds them rendered. It runs on
// SQLite and on PostgreSQL (a private server on this machine) side by side.
//
//	go test -run '^$' -bench FirstSync ./desk/
func BenchmarkFirstSync(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		benchFirstSync(b, func(dir string) (ticketd.Store, error) {
			return sqlite.Open(filepath.Join(dir, "t.db"), sqlite.Options{})
		})
	})
	b.Run("postgres", func(b *testing.B) {
		dsn := pgtest.Shared(b).NewDB(b)
		benchFirstSync(b, func(string) (ticketd.Store, error) {
			return postgres.Open(context.Background(), dsn, postgres.Options{})
		})
	})
}

func benchFirstSync(b *testing.B, open func(dir string) (ticketd.Store, error)) {
	dir := b.TempDir()
	cfg, err := config.Parse([]byte(daemontest.BaseConfig(dir)), "")
	if err != nil {
		b.Fatal(err)
	}
	st, err := open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	const tickets = 500
	err = st.Update(context.Background(), func(tx ticketd.Tx) error {
		for i := range tickets {
			tk, err := storetest.NewTicket(tx, fmt.Sprintf("tok%021d", i), fmt.Sprintf("c%d@cliente.example", i))
			if err != nil {
				return err
			}
			for j := range 3 {
				if err := tx.InsertMessage(&ticketd.Message{Ticket: tk.Number, Author: ticketd.AuthorCustomer, FromAddr: tk.RequesterAddr,
					NewText: strings.Repeat("Hola, no puedo entrar en mi cuenta desde ayer. ", 20), CreatedAt: now.Add(time.Duration(j) * time.Minute)}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := desk.SetPassword(context.Background(), st, cfg, ana, "pw", now); err != nil {
		b.Fatal(err)
	}
	connect := func() (*imapclient.Client, func()) {
		srv := desk.New(desk.Options{Store: st, Config: func() *config.Config { return cfg }, Key: []byte("k"),
			Now: func() time.Time { return now }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		go srv.Serve(l)
		c, err := imapclient.DialInsecure(l.Addr().String(), nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Login(ana, "pw").Wait(); err != nil {
			b.Fatal(err)
		}
		return c, func() { c.Close(); srv.Close() }
	}
	sync := func(c *imapclient.Client) {
		sel, err := c.Select("INBOX", nil).Wait()
		if err != nil || sel.NumMessages != tickets {
			b.Fatalf("select: %v %+v", err, sel)
		}
		var all imap.SeqSet
		all.AddRange(1, 0)
		msgs, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true, RFC822Size: true, Envelope: true}).Collect()
		if err != nil || len(msgs) != tickets {
			b.Fatalf("fetch: %v (%d)", err, len(msgs))
		}
	}
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			c, stop := connect()
			b.StartTimer()
			sync(c)
			b.StopTimer()
			stop()
			b.StartTimer()
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*tickets), "µs/message")
	})
	b.Run("warm", func(b *testing.B) {
		c, stop := connect()
		defer stop()
		sync(c)
		b.ResetTimer()
		for b.Loop() {
			sync(c)
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*tickets), "µs/message")
	})
}
