package daemon_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/daemon/daemontest"
)

// BenchmarkDeliverNewTickets sends new-ticket mails over real SMTP to a
// daemon on loopback, one connection: a fixed amount of work per mail, for
// instruction counts (valgrind) as much as for time.
func BenchmarkDeliverNewTickets(b *testing.B) {
	e := daemontest.Start(b, "")
	body := strings.Repeat("Hola, desde ayer no puedo entrar en mi cuenta, y ya lo he probado todo.\r\n", 140)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		from := fmt.Sprintf("c%d@cliente.example", i)
		e.MustSend(from, []string{"soporte@example.com"}, mail("From: "+from, "To: soporte@example.com", "Subject: Consulta",
			fmt.Sprintf("Message-ID: <b%d@cliente.example>", i), "", body))
	}
}

// BenchmarkEndToEnd sends new-ticket mails over 16 SMTP connections while
// the outbox worker runs, and stops the clock when a smarthost that
// fsyncs every mail holds the acknowledgement and both notifications of
// each: ticketd's whole path, for profiles (-cpuprofile).
func BenchmarkEndToEnd(b *testing.B) {
	host := newFsyncHost(b)
	dir := b.TempDir()
	cfg := strings.Replace(daemontest.BaseConfig(dir), "[outbound]\ntransport = \"dir\"\n",
		fmt.Sprintf("[outbound]\ntransport = \"smtp\"\nsmtp_addr = %q\nsmtp_starttls = \"none\"\n", host.addr), 1)
	e := daemontest.StartOwnSmarthost(b, cfg, io.Discard)
	e.D.Worker.Concurrency = 4
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.D.Worker.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	body := strings.Repeat("Hola, desde ayer no puedo entrar en mi cuenta, y ya lo he probado todo.\r\n", 140)
	b.ResetTimer()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				from := fmt.Sprintf("c%d@cliente.example", i)
				if err := e.Send(from, []string{"soporte@example.com"}, mail("From: "+from, "To: soporte@example.com", "Subject: Consulta",
					fmt.Sprintf("Message-ID: <e%d@cliente.example>", i), "", body)); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	host.wait(3 * b.N)
}

// fsyncHost is a smarthost that says 250 once each mail is on disk.
type fsyncHost struct {
	addr string
	dir  string
	n    atomic.Int64
	got  chan struct{}
}

func newFsyncHost(b *testing.B) *fsyncHost {
	h := &fsyncHost{dir: b.TempDir(), got: make(chan struct{}, 1<<20)}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return fsyncSession{h}, nil }))
	srv.Domain = "smarthost.test"
	srv.AllowInsecureAuth = true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	h.addr = l.Addr().String()
	go srv.Serve(l)
	b.Cleanup(func() { srv.Close() })
	return h
}

func (h *fsyncHost) wait(n int) {
	for range n {
		<-h.got
	}
}

type fsyncSession struct{ h *fsyncHost }

func (fsyncSession) Mail(string, *smtp.MailOptions) error { return nil }
func (fsyncSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s fsyncSession) Data(r io.Reader) error {
	f, err := os.Create(filepath.Join(s.h.dir, fmt.Sprint(s.h.n.Add(1))))
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(f, r); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	s.h.got <- struct{}{}
	return nil
}
func (fsyncSession) Reset()        {}
func (fsyncSession) Logout() error { return nil }

// BenchmarkCompose composes the three mails a 10 KB new-ticket mail
// causes (its acknowledgement and both agents' notifications), each in its
// own read transaction as the outbox does: what the outbox spends per
// mail before the smarthost sees a byte. ns/op is per incoming mail.
func BenchmarkCompose(b *testing.B) {
	e := daemontest.Start(b, "")
	body := strings.Repeat("Hola, desde ayer no puedo entrar en mi cuenta, y ya lo he probado todo.\r\n", 140)
	for i := range 2 {
		if i == 1 {
			e.Flush() // the outbox has met its smarthost, as in a running daemon
		}
		e.MustSend("c@cliente.example", []string{"soporte@example.com"}, mail("From: Carla <c@cliente.example>", "To: soporte@example.com",
			"Subject: Consulta", fmt.Sprintf("Message-ID: <c%d@cliente.example>", i), "", body))
	}
	st := e.D.Parts.Store
	ctx := context.Background()
	var rows []*ticketd.Outgoing
	if err := st.Update(ctx, func(tx ticketd.Tx) error {
		var err error
		rows, err = tx.ClaimDue("bench", e.Clock.Now(), e.Clock.Now().Add(time.Minute), 64)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	if len(rows) != 3 {
		b.Fatalf("%d outbox rows, want the acknowledgement and two notifications", len(rows))
	}
	b.ReportAllocs()
	b.ResetTimer()
	var bytes int
	for range b.N {
		for _, o := range rows {
			if err := st.View(ctx, func(tx ticketd.Tx) error {
				c, err := e.D.Parts.Composer.Compose(tx, o)
				if err == nil {
					bytes += len(c.Data)
				}
				return err
			}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(bytes)/float64(b.N), "B/mail-out")
}
