package imapgw_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/imapgw"
	"github.com/ticketd/ticketd/imapgw/imapgwtest"
	"github.com/ticketd/ticketd/store/postgres/pgtest"
)

// New mail becomes tickets, acknowledged to the customer, and the mail is
// then marked, deleted or moved as `after` says.
func TestNewMailTakenAndMarkedPerAfter(t *testing.T) {
	for _, after := range []string{"seen", "delete", "move:Done"} {
		t.Run(after, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, "INBOX", after)
			r.run(imapgw.Options{})
			r.dv.Append("INBOX", mails(newMail("a1", "la factura"), newMail("a2", "el envío"))...)

			got := r.waitTickets(2, 10*time.Second)
			if s := subjects(got); !slices.Equal(s, []string{"la factura", "el envío"}) {
				t.Errorf("tickets %q", s)
			}
			acks := daemontest.To(r.e.Flush(), "cliente-a1@example.org")
			if len(acks) != 1 {
				t.Errorf("customer a1 got %d mails, want one acknowledgement", len(acks))
			}

			// Marking follows the commit; give the gateway its moment.
			waitFor(t, 5*time.Second, func() bool {
				inbox := r.dv.Messages("INBOX")
				switch after {
				case "seen":
					return len(inbox) == 2 && inbox[0].Seen() && inbox[1].Seen()
				default:
					return len(inbox) == 0
				}
			}, func() string { return fmt.Sprintf("INBOX %+v", r.dv.Messages("INBOX")) })
			if after == "move:Done" {
				if done := r.dv.Messages("Done"); len(done) != 2 {
					t.Errorf("Done holds %d mails, want 2 (folder created when missing)", len(done))
				}
			}
		})
	}
}

// With IDLE, a new mail is taken within two seconds although the poll
// interval is an hour.
func TestIdleWakeUp(t *testing.T) {
	t.Parallel()
	r := newRig(t, "INBOX", "seen")
	r.run(imapgw.Options{})
	waitFor(t, 5*time.Second, func() bool { return r.logs.count("imap connected") == 1 }, r.logs.String)
	// The first (empty) pass ends and IDLE begins.
	waitFor(t, 5*time.Second, func() bool { return r.logs.count("imap idling") >= 1 }, r.logs.String)

	sent := time.Now()
	r.dv.Append("INBOX", mails(newMail("idle1", "despierta"))...)
	r.waitTickets(1, 2*time.Second)
	t.Logf("taken %v after APPEND", time.Since(sent).Round(time.Millisecond))
}

// Dovecot restarts under a connected gateway: it reconnects, carries on,
// and says so once each way, not once per attempt.
func TestServerRestart(t *testing.T) {
	t.Parallel()
	r := newRig(t, "INBOX", "seen")
	r.run(imapgw.Options{})
	r.dv.Append("INBOX", mails(newMail("r1", "antes"))...)
	r.waitTickets(1, 5*time.Second)

	r.dv.Stop()
	waitFor(t, 5*time.Second, func() bool { return r.logs.count("imap connection lost") == 1 }, r.logs.String)
	// Several reconnect attempts fail meanwhile.
	waitFor(t, 10*time.Second, func() bool { return r.logs.count("imap still unavailable") >= 2 }, r.logs.String)
	r.dv.Start()
	r.dv.Append("INBOX", mails(newMail("r2", "después"))...)
	r.waitTickets(2, 5*time.Second)

	logs := r.logs.String()
	if n := r.logs.count("imap connection lost") + r.logs.count("imap cannot connect"); n != 1 {
		t.Errorf("outage logged %d times, want once:\n%s\n%s", n, logs, r.dv.Log())
	}
	if n := r.logs.count("imap reconnected"); n != 1 {
		t.Errorf("reconnection logged %d times, want once:\n%s", n, logs)
	}
	if strings.Contains(logs, imapgwtest.Password) {
		t.Errorf("a log line carries the password:\n%s", logs)
	}
}

// While the store fails, the mail stays unmarked in the folder; it is taken
// on a later pass once the store works again.
func TestFailingStoreLeavesMailInPlace(t *testing.T) {
	t.Parallel()
	r := newRig(t, "INBOX", "seen")
	r.desk.fail.Store(true)
	r.run(imapgw.Options{})
	r.dv.Append("INBOX", mails(newMail("f1", "disco lleno"))...)

	waitFor(t, 5*time.Second, func() bool { return r.desk.attempts.Load() >= 2 },
		func() string { return "the gateway did not retry the delivery\n" + r.logs.String() })
	if n := len(r.tickets()); n != 0 {
		t.Fatalf("%d tickets while the store fails", n)
	}
	if inbox := r.dv.Messages("INBOX"); len(inbox) != 1 || inbox[0].Seen() {
		t.Fatalf("INBOX %+v: want the mail still there and unseen", inbox)
	}

	r.desk.fail.Store(false)
	r.waitTickets(1, 5*time.Second)
	waitFor(t, 5*time.Second, func() bool {
		inbox := r.dv.Messages("INBOX")
		return len(inbox) == 1 && inbox[0].Seen()
	}, func() string { return "mail not marked after the store recovered" })
}

// A backlog of 2,000 recent unseen mails is taken in batches, each once.
func TestBacklogOfTwoThousand(t *testing.T) {
	t.Parallel()
	const n = 2000
	r := newRig(t, "INBOX", "seen")
	ms := make([]imapgwtest.Mail, n)
	for i := range ms {
		ms[i] = imapgwtest.Mail{Raw: newMail(fmt.Sprintf("b%04d", i), fmt.Sprintf("asunto %04d", i)), Date: time.Now().Add(-time.Hour)}
	}
	r.dv.Append("INBOX", ms...)

	start := time.Now()
	r.run(imapgw.Options{})
	got := r.waitTickets(n, 60*time.Second)
	t.Logf("%d mails taken in %v", n, time.Since(start).Round(time.Millisecond))
	seen := map[string]bool{}
	for _, tk := range got {
		if seen[tk.Subject] {
			t.Errorf("mail %q stored twice", tk.Subject)
		}
		seen[tk.Subject] = true
	}
	if d := r.desk.duplicates.Load(); d != 0 {
		t.Errorf("%d duplicate deliveries", d)
	}
	waitFor(t, 10*time.Second, func() bool {
		for _, m := range r.dv.Messages("INBOX") {
			if !m.Seen() {
				return false
			}
		}
		return true
	}, func() string { return "not every mail marked seen" })
	if b := r.logs.count("imap batch"); b != n/100 {
		t.Errorf("%d batches, want %d of 100 UIDs", b, n/100)
	}
	if !strings.Contains(r.logs.String(), "fetched=2000 stored=2000 duplicates=0 quarantined=0") {
		t.Errorf("no pass line with the counts:\n%s", r.logs)
	}
}

// The first connection takes only unseen mail younger than backlog_days,
// acknowledges only mail younger than a day, and reports what it left.
// Mail arriving later is taken even when a person already read it.
func TestFirstConnectionBacklogRule(t *testing.T) {
	t.Parallel()
	r := newRig(t, "INBOX", "seen")
	now := time.Now()
	r.dv.Append("INBOX",
		imapgwtest.Mail{Raw: newMail("k1", "reciente"), Date: now.Add(-time.Hour)},
		imapgwtest.Mail{Raw: newMail("k2", "ya leído"), Date: now.Add(-time.Hour), Flags: []imap.Flag{imap.FlagSeen}},
		imapgwtest.Mail{Raw: newMail("k3", "muy viejo"), Date: now.AddDate(0, 0, -20)},
		imapgwtest.Mail{Raw: newMail("k4", "de anteayer"), Date: now.AddDate(0, 0, -3)},
	)
	r.run(imapgw.Options{})
	got := r.waitTickets(2, 5*time.Second)
	if s := subjects(got); !slices.Equal(s, []string{"reciente", "de anteayer"}) {
		t.Errorf("tickets %q, want the unseen recent ones", s)
	}
	out := r.e.Flush()
	if len(daemontest.To(out, "cliente-k1@example.org")) != 1 {
		t.Errorf("no acknowledgement for the mail of an hour ago")
	}
	if len(daemontest.To(out, "cliente-k4@example.org")) != 0 {
		t.Errorf("acknowledgement sent for a three-day-old mail")
	}
	logs := r.logs.String()
	if r.logs.count("imap backlog: mail already in the folder") != 1 ||
		!strings.Contains(logs, "taking=2 leaving_seen=1 leaving_older=1") {
		t.Errorf("backlog not reported once with counts:\n%s", logs)
	}
	if inbox := r.dv.Messages("INBOX"); len(inbox) != 4 || inbox[2].Seen() {
		t.Errorf("left mail was touched: %+v", inbox)
	}

	r.dv.Append("INBOX", imapgwtest.Mail{Raw: newMail("k5", "leído en otro cliente"), Flags: []imap.Flag{imap.FlagSeen}})
	got = r.waitTickets(3, 5*time.Second)
	if got[2].Subject != "leído en otro cliente" {
		t.Errorf("ticket %q", got[2].Subject)
	}
}

// The folder is recreated (new UIDVALIDITY) holding the same mails again:
// the gateway re-scans, recognises them, and imports only the new one.
func TestUIDValidityChange(t *testing.T) {
	t.Parallel()
	dv := imapgwtest.Start(t)
	r := newRigOn(t, dv, t.TempDir(), "Soporte", "seen")
	old := []string{newMail("u1", "uno"), newMail("u2", "dos")}
	dv.Append("Soporte", mails(old...)...)
	r.run(imapgw.Options{})
	r.waitTickets(2, 5*time.Second)
	r.stop()

	before := dv.UIDValidity("Soporte")
	dv.Delete("Soporte")
	time.Sleep(1100 * time.Millisecond) // Dovecot derives UIDVALIDITY from the clock
	dv.Append("Soporte", mails(old[0], old[1], newMail("u3", "tres"))...)
	if dv.UIDValidity("Soporte") == before {
		t.Fatal("recreating the folder kept its UIDVALIDITY")
	}

	r.run(imapgw.Options{})
	got := r.waitTickets(3, 5*time.Second)
	waitFor(t, 5*time.Second, func() bool { return r.desk.duplicates.Load() == 2 },
		func() string { return fmt.Sprintf("%d duplicates recognised, want 2", r.desk.duplicates.Load()) })
	if s := subjects(got); !slices.Equal(s, []string{"uno", "dos", "tres"}) {
		t.Errorf("tickets %q", s)
	}
	if r.logs.count("imap UIDVALIDITY changed: re-scanning the folder; mail already stored is recognised and not imported again") != 1 {
		t.Errorf("UIDVALIDITY change not logged once:\n%s", r.logs)
	}
}

// ticketd restarts: the new process starts where the old one stopped,
// without fetching again what was already taken.
func TestTicketdRestartNoDoubles(t *testing.T) {
	t.Parallel()
	dv := imapgwtest.Start(t)
	data := t.TempDir()
	r1 := newRigOn(t, dv, data, "INBOX", "seen")
	dv.Append("INBOX", mails(newMail("d1", "uno"), newMail("d2", "dos"), newMail("d3", "tres"))...)
	r1.run(imapgw.Options{})
	r1.waitTickets(3, 5*time.Second)
	waitFor(t, 5*time.Second, func() bool {
		in := dv.Messages("INBOX")
		return len(in) == 3 && in[2].Seen()
	}, func() string { return "not marked" })
	r1.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r1.e.D.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	dv.Append("INBOX", mails(newMail("d4", "cuatro"), newMail("d5", "cinco"))...)
	r2 := newRigOn(t, dv, data, "INBOX", "seen")
	r2.run(imapgw.Options{})
	got := r2.waitTickets(5, 5*time.Second)
	if s := subjects(got); !slices.Equal(s, []string{"uno", "dos", "tres", "cuatro", "cinco"}) {
		t.Errorf("tickets %q", s)
	}
	if n := r2.desk.attempts.Load(); n != 2 {
		t.Errorf("the restarted gateway delivered %d mails, want only the 2 new ones", n)
	}
}

// Mail over the size limit is quarantined without fetching its body, and
// so is input that is not a mail; the folder is created when missing.
func TestQuarantine(t *testing.T) {
	t.Parallel()
	r := newRig(t, "INBOX", "seen")
	big := newMail("q1", "adjunto enorme") + strings.Repeat("x", 20000) + "\r\n"
	r.dv.Append("INBOX", mails(big, "esto no es un correo\r\n", newMail("q3", "normal"))...)
	r.run(imapgw.Options{MaxMessageBytes: func() int64 { return 10000 }})

	got := r.waitTickets(1, 5*time.Second)
	if got[0].Subject != "normal" {
		t.Errorf("ticket %q", got[0].Subject)
	}
	waitFor(t, 5*time.Second, func() bool { return len(r.dv.Messages("ticketd-quarantine")) == 2 },
		func() string { return "quarantine does not hold 2 mails\n" + r.logs.String() })
	if inbox := r.dv.Messages("INBOX"); len(inbox) != 1 || !inbox[0].Seen() {
		t.Errorf("INBOX %+v: want only the normal mail, seen", inbox)
	}
	if n := r.desk.attempts.Load(); n != 2 {
		t.Errorf("%d deliveries, want 2 (the oversize mail is never fetched)", n)
	}
	if !strings.Contains(r.logs.String(), "quarantined=2") {
		t.Errorf("pass line lacks the quarantine count:\n%s", r.logs)
	}
}

// Check names the step that failed.
func TestCheck(t *testing.T) {
	t.Parallel()
	dv := imapgwtest.Start(t)
	r := newRigOn(t, dv, t.TempDir(), "INBOX", "move:Hecho")
	ctx := context.Background()

	summary, err := imapgw.Check(ctx, r.imap, nil)
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	if !strings.Contains(summary, "login ok") || !strings.Contains(summary, `"Hecho" will be created`) {
		t.Errorf("summary %q", summary)
	}

	closed := dv.Addr[:strings.LastIndex(dv.Addr, ":")] + ":1"
	for _, tt := range []struct {
		name, step string
		mod        func(c *imapgwConfig)
	}{
		{"dns", imapgw.StepDNS, func(c *imapgwConfig) { c.Addr = "imap.ticketd-test.invalid:993" }},
		{"tcp", imapgw.StepTCP, func(c *imapgwConfig) { c.Addr = closed }},
		{"tls", imapgw.StepTLS, func(c *imapgwConfig) { c.TLS = "implicit" }},
		{"folder", imapgw.StepFolder, func(c *imapgwConfig) { c.Folder = "NoSuchFolder" }},
		// Last: Dovecot slows down logins from an address after a failed one.
		{"auth", imapgw.StepAuth, func(c *imapgwConfig) { c.Password = "wrong" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := r.imap
			tt.mod(&c)
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			_, err := imapgw.Check(ctx, c, nil)
			var se *imapgw.StepError
			if !errors.As(err, &se) || se.Step != tt.step {
				t.Fatalf("err %v, want step %s", err, tt.step)
			}
			if strings.Contains(err.Error(), imapgwtest.Password) || strings.Contains(err.Error(), "wrong") {
				t.Errorf("error carries the password: %v", err)
			}
			t.Logf("%v", err)
		})
	}
}

type imapgwConfig = config.IMAP

// A server without IDLE and MOVE: the gateway polls at poll_interval and
// moves by COPY, then \Deleted and UID EXPUNGE.
func TestPollingAndCopyFallback(t *testing.T) {
	t.Parallel()
	dv := imapgwtest.StartWith(t, "imap_capability = IMAP4rev1 LITERAL+ UIDPLUS ENABLE")
	if caps := dv.Client().Caps(); caps.Has(imap.CapIdle) || caps.Has(imap.CapMove) {
		t.Fatalf("server still offers IDLE or MOVE: %v", caps)
	}
	r := newRigOn(t, dv, t.TempDir(), "INBOX", "move:Hecho")
	r.imap.PollInterval.Duration = 200 * time.Millisecond
	r.run(imapgw.Options{})
	waitFor(t, 5*time.Second, func() bool { return strings.Contains(r.logs.String(), "mode=\"poll every 200ms\"") },
		func() string { return "not polling:\n" + r.logs.String() })

	dv.Append("INBOX", mails(newMail("p1", "sin idle"))...)
	r.waitTickets(1, 3*time.Second)
	waitFor(t, 5*time.Second, func() bool { return len(dv.Messages("INBOX")) == 0 && len(dv.Messages("Hecho")) == 1 },
		func() string {
			return fmt.Sprintf("INBOX %d, Hecho %d", len(dv.Messages("INBOX")), len(dv.Messages("Hecho")))
		})
}

// Two ticketd processes on one PostgreSQL database watch the same folder:
// their passes take turns, so every mail is read and delivered by exactly
// one of them, and each becomes one ticket with one acknowledgement.
func TestTwoProcessesOnOneDatabaseShareAFolder(t *testing.T) {
	dv := imapgwtest.Start(t)
	st := config.Store{Driver: config.DriverPostgres, DSN: pgtest.Shared(t).NewDB(t)}
	var rigs []*rig
	for range 2 {
		dir := t.TempDir()
		e := daemontest.StartStore(t, daemontest.BaseConfig(dir)+imapSection(dv, "INBOX", "seen"), st)
		e.Clock.Set(time.Now().UTC())
		r := &rig{t: t, e: e, dv: dv, imap: e.Config.IMAP[0], logs: &logBuffer{t: t}}
		r.desk = &countingDesk{next: e.D.Desk}
		r.run(imapgw.Options{})
		rigs = append(rigs, r)
	}
	const n = 60
	var batch []imapgwtest.Mail
	for i := range n {
		batch = append(batch, mails(newMail(fmt.Sprintf("s%d", i), fmt.Sprintf("pedido %d", i)))...)
		if len(batch) == 6 {
			dv.Append("INBOX", batch...)
			batch = nil
		}
	}
	rigs[0].waitTickets(n, 30*time.Second)
	waitFor(t, 10*time.Second, func() bool {
		for _, m := range dv.Messages("INBOX") {
			if !m.Seen() {
				return false
			}
		}
		return true
	}, func() string { return "mail in INBOX still unseen" })
	for _, r := range rigs {
		r.stop()
	}
	var attempts, duplicates int64
	for _, r := range rigs {
		attempts += r.desk.attempts.Load()
		duplicates += r.desk.duplicates.Load()
	}
	if attempts != n || duplicates != 0 {
		t.Errorf("the two processes delivered %d mails (%d of them again), want each of the %d once (first %d, second %d)",
			attempts, duplicates, n, rigs[0].desk.attempts.Load(), rigs[1].desk.attempts.Load())
	}
	var acks int
	for _, r := range rigs {
		acks += len(daemontest.To(r.e.Flush(), "cliente-s7@example.org"))
	}
	if acks != 1 {
		t.Errorf("customer s7 got %d acknowledgements, want 1", acks)
	}
}
