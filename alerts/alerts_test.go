package alerts_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/ticketd/ticketd/alerts"
	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/imapgw"
	"github.com/ticketd/ticketd/imapgw/imapgwtest"
)

// An IMAP account that cannot be read for 30 minutes gets the admins one
// mail (not one per check), and one more when it works again; a shorter
// outage gets none. The gateway is real, against a real Dovecot that is
// down, then started.
func TestIMAPFailureMailsAdminsOncePerIncident(t *testing.T) {
	dv := imapgwtest.Start(t)
	dv.Stop()
	cfg := strings.Replace(daemontest.BaseConfig(t.TempDir()), "[server]\n", "[server]\nadmins = [\"it@example.com\", \"jefa@example.com\"]\n", 1) +
		fmt.Sprintf("\n[[imap]]\naddr = %q\ntls = \"none\"\nusername = %q\npassword = %q\nmailbox = \"soporte@example.com\"\npoll_interval = \"1m\"\n",
			dv.Addr, imapgwtest.User, imapgwtest.Password)
	e := daemontest.Start(t, cfg)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	watch := &alerts.IMAPWatch{Store: e.D.Store, Config: e.D.Config, Now: e.Clock.Now, Log: quiet}
	entry := e.Config.IMAP[0]
	passed, failed := watch.Watch(entry.Username+"@"+entry.Addr, entry.Folder, entry.Mailbox, entry.PollInterval.Duration)
	passes, failures := make(chan struct{}, 1), make(chan struct{}, 1)
	gw := imapgw.New(entry, imapgw.Options{Desk: e.D.Desk, Store: e.D.Store, Now: e.Clock.Now, Log: quiet,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		OnPass:    func(at time.Time) { passed(at); signal(passes) },
		OnFailure: func(err error) { failed(err); signal(failures) },
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); gw.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	await(t, failures, "a failed connection")

	// Due every minute: 29 minutes past the due pass is not yet an incident.
	e.Clock.Advance(30 * time.Minute)
	watch.Check(ctx)
	if sent := e.Flush(); len(sent) != 0 {
		t.Fatalf("alert after 29 minutes: %d mails", len(sent))
	}
	e.Clock.Advance(2 * time.Minute)
	watch.Check(ctx)
	sent := e.Flush()
	for _, admin := range []string{"it@example.com", "jefa@example.com"} {
		got := daemontest.To(sent, admin)
		if len(got) != 1 {
			t.Fatalf("failure alerts to %s: %d", admin, len(got))
		}
		m, err := mail.ReadMessage(strings.NewReader(string(got[0].Data)))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(m.Body)
		if subj := m.Header.Get("Subject"); !strings.Contains(subj, "failing since 2026-11-02 09:00 UTC") || !strings.Contains(subj, entry.Username) ||
			m.Header.Get("Auto-Submitted") != "auto-generated" || !strings.Contains(string(body), "Last error:") || !strings.Contains(string(body), "connect") {
			t.Fatalf("failure alert:\n%s", got[0].Data)
		}
	}
	// Still failing: no second mail.
	await(t, failures, "another failed connection")
	e.Clock.Advance(2 * time.Hour)
	watch.Check(ctx)
	if sent := e.Flush(); len(sent) != 0 {
		t.Fatalf("a second alert for the same incident: %d mails", len(sent))
	}

	dv.Start()
	await(t, passes, "a pass after Dovecot started")
	sent = e.Flush()
	if got := daemontest.To(sent, "it@example.com"); len(got) != 1 || !strings.Contains(string(got[0].Data), "works again") {
		t.Fatalf("recovery mail: %d of %d", len(got), len(sent))
	}
	if len(sent) != 2 {
		t.Fatalf("recovery mails: %d, want one per admin", len(sent))
	}
	// Working: no alert however late the checks run.
	e.Clock.Advance(10 * time.Minute)
	watch.Check(ctx)
	if sent := e.Flush(); len(sent) != 0 {
		t.Fatalf("alert while working: %d", len(sent))
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// await waits for the gateway to report something it does by itself.
func await(t *testing.T, ch chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}
