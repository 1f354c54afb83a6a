package imapgw_test

import (
	"bytes"
	"context"
	"fmt"
	"github.com/ticketd/ticketd"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/imapgw"
	"github.com/ticketd/ticketd/imapgw/imapgwtest"
	"github.com/ticketd/ticketd/intake"
)

// rig is a real ticketd (daemontest) fed by one gateway from a private Dovecot.
type rig struct {
	t    *testing.T
	e    *daemontest.Env
	dv   *imapgwtest.Dovecot
	imap config.IMAP
	desk *countingDesk
	logs *logBuffer

	stop func()
}

// imapSection is an [[imap]] block for the test server.
func imapSection(dv *imapgwtest.Dovecot, folder, after string) string {
	return fmt.Sprintf(`
[[imap]]
addr = %q
tls = "none"
username = %q
password = %q
folder = %q
mailbox = "soporte@example.com"
after = %q
poll_interval = "1h"
`, dv.Addr, imapgwtest.User, imapgwtest.Password, folder, after)
}

// newRig starts Dovecot and ticketd (the gateway is started by run).
// The daemon's clock is set to the real time: Dovecot's dates are real.
func newRig(t *testing.T, folder, after string) *rig {
	t.Helper()
	dv := imapgwtest.Start(t)
	return newRigOn(t, dv, t.TempDir(), folder, after)
}

// newRigOn starts ticketd with its data in dataDir against an existing Dovecot.
func newRigOn(t *testing.T, dv *imapgwtest.Dovecot, dataDir, folder, after string) *rig {
	t.Helper()
	e := daemontest.Start(t, daemontest.BaseConfig(dataDir)+imapSection(dv, folder, after))
	e.Clock.Set(time.Now().UTC())
	r := &rig{t: t, e: e, dv: dv, imap: e.Config.IMAP[0], logs: &logBuffer{t: t}}
	r.desk = &countingDesk{next: e.D.Desk}
	return r
}

// run starts the gateway with fast backoff; it stops at the end of the test
// (before the daemon, as cleanups run last-in first-out) or on r.stop().
func (r *rig) run(opt imapgw.Options) {
	r.t.Helper()
	opt.Desk = r.desk
	opt.Store = r.e.D.Store
	opt.Now = r.e.Clock.Now
	opt.Log = slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if opt.MaxMessageBytes == nil {
		opt.MaxMessageBytes = func() int64 { return r.e.Config.SMTP.MaxMessageBytes }
	}
	if opt.MinBackoff == 0 {
		opt.MinBackoff, opt.MaxBackoff = 50*time.Millisecond, 400*time.Millisecond
	}
	gw := imapgw.New(r.imap, opt)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Run(ctx) }()
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					r.t.Errorf("gateway: %v", err)
				}
			case <-time.After(10 * time.Second):
				r.t.Errorf("gateway did not stop")
			}
		})
	}
	r.t.Cleanup(r.stop)
}

// tickets returns every ticket, oldest first.
func (r *rig) tickets() []*ticketd.Ticket {
	r.t.Helper()
	var out []*ticketd.Ticket
	err := r.e.D.Store.View(context.Background(), func(tx ticketd.Tx) error {
		var err error
		out, err = tx.ListTickets(ticketd.TicketFilter{})
		return err
	})
	if err != nil {
		r.t.Fatal(err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// waitTickets waits until n tickets exist, failing after timeout.
func (r *rig) waitTickets(n int, timeout time.Duration) []*ticketd.Ticket {
	r.t.Helper()
	var got []*ticketd.Ticket
	waitFor(r.t, timeout, func() bool { got = r.tickets(); return len(got) >= n },
		func() string { return fmt.Sprintf("%d tickets, want %d\n%s", len(got), n, r.logs) })
	if len(got) != n {
		r.t.Fatalf("%d tickets, want %d", len(got), n)
	}
	return got
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, cond func() bool, why func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v: %s", timeout, why())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// subjects lists the tickets' subjects.
func subjects(ts []*ticketd.Ticket) []string {
	out := make([]string, len(ts))
	for i, tk := range ts {
		out[i] = tk.Subject
	}
	return out
}

// newMail is a customer's first mail; id makes its Message-ID unique.
func newMail(id, subject string) string {
	return "From: Cliente <cliente-" + id + "@example.org>\r\n" +
		"To: soporte@example.com\r\n" +
		"Subject: " + subject + "\r\n" +
		"Date: Mon, 02 Nov 2026 08:00:00 +0000\r\n" +
		"Message-ID: <" + id + "@client.example.org>\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"\r\n" +
		"Hola, tengo un problema con " + subject + ".\r\n"
}

func mails(raws ...string) []imapgwtest.Mail {
	out := make([]imapgwtest.Mail, len(raws))
	for i, raw := range raws {
		out[i] = imapgwtest.Mail{Raw: raw}
	}
	return out
}

// countingDesk passes deliveries to intake, counting them; with fail set
// it refuses every one as a failing store would.
type countingDesk struct {
	next       imapgw.Deliverer
	fail       atomic.Bool
	attempts   atomic.Int64
	duplicates atomic.Int64
}

func (d *countingDesk) Deliver(ctx context.Context, env intake.Envelope, raw []byte) (intake.Result, error) {
	d.attempts.Add(1)
	if d.fail.Load() {
		return intake.Result{}, fmt.Errorf("store: commit: disk I/O error (test)")
	}
	res, err := d.next.Deliver(ctx, env, raw)
	if res.Duplicate {
		d.duplicates.Add(1)
	}
	return res, err
}

// logBuffer keeps the gateway's log lines and shows them in the test log.
type logBuffer struct {
	t  *testing.T
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// count returns how many log lines carry msg="<msg>".
func (l *logBuffer) count(msg string) int {
	return strings.Count(l.String(), `msg="`+msg+`"`) + strings.Count(l.String(), "msg="+msg+" ")
}
