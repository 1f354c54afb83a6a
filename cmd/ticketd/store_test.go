package main

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"

	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/store/postgres/pgtest"
)

// check-config --connect reaches the PostgreSQL store and names the step
// that failed; a password never shows.
func TestCheckConfigConnectPostgres(t *testing.T) {
	srv := pgtest.Shared(t)
	good := srv.NewDB(t)
	withDSN := func(dsn string) string {
		dir := t.TempDir()
		_, path := writeConfig(t, daemontest.BaseConfig(dir)+fmt.Sprintf("\n[store]\ndriver = \"postgres\"\ndsn = %q\n", dsn))
		return path
	}
	u, _ := url.Parse(good)
	swap := func(f func(u *url.URL)) string {
		c := *u
		f(&c)
		return c.String()
	}
	cases := []struct {
		name, dsn string
		code      int
		want      string
	}{
		{"reachable", good, 0, "PostgreSQL 1"},
		{"wrong password", swap(func(u *url.URL) { u.User = url.UserPassword(pgtest.User, "wrong-pw") }), 1, "FAILED: auth: log in as ticketd"},
		{"no such database", swap(func(u *url.URL) { u.Path = "/nope" }), 1, "FAILED: database: open database nope"},
		{"closed port", swap(func(u *url.URL) { u.Host = fmt.Sprintf("127.0.0.1:%d", freePort(t)) }), 1, "FAILED: tcp: TCP connect to 127.0.0.1:"},
		{"unknown host", swap(func(u *url.URL) { u.Host = "db.ticketd-test.invalid:5432" }), 1, "FAILED: dns: DNS lookup of db.ticketd-test.invalid"},
		{"TLS refused", swap(func(u *url.URL) { u.RawQuery = "sslmode=require" }), 1, "FAILED: tls:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runBin(t, "", nil, "check-config", "--connect", "-config", withDSN(c.dsn))
			if r.code != c.code || !strings.Contains(r.stdout, c.want) {
				t.Fatalf("exit %d, stdout:\n%s\nstderr: %s\nwant exit %d and %q", r.code, r.stdout, r.stderr, c.code, c.want)
			}
			if strings.Contains(r.stdout+r.stderr, pgtest.Password) || strings.Contains(r.stdout+r.stderr, "wrong-pw") {
				t.Fatalf("a password was printed:\n%s%s", r.stdout, r.stderr)
			}
		})
	}
}

// startServe starts `serve` on cfg until the test ends (or stop is
// called), and returns the SMTP address it listens on.
func startServe(t *testing.T, cfg string) (addr string, stop func()) {
	t.Helper()
	cmd := exec.Command(ticketdBinary(t), "serve", "-config", cfg)
	logs := &syncBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-done
	}
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			stop()
		}
		if t.Failed() {
			t.Logf("serve log:\n%s", logs.String())
		}
	})
	return servingAddr(t, "serve", logs, done), stop
}

// withDesk adds [agent_imap] on a free port to a config, and returns the
// desk's address.
func withDesk(t *testing.T, text string) (string, string) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	return text + fmt.Sprintf("\n[agent_imap]\nlisten = %q\n", addr), addr
}

// deskInbox is what an agent's mail client knows of a desk folder.
type deskInbox struct {
	validity uint32
	next     imap.UID
	uids     []imap.UID
	seen     map[imap.UID]bool
}

// lookAtDesk logs in to the desk at addr as ana, selects folder and reads
// its UIDs and \Seen flags; with markSeen it marks every message seen.
func lookAtDesk(t *testing.T, addr, folder string, markSeen bool) deskInbox {
	t.Helper()
	waitFor(t, "the desk's listener", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("ana@example.com", "s3cret ana").Wait(); err != nil {
		t.Fatalf("desk login with the password set before: %v", err)
	}
	sel, err := c.Select(folder, nil).Wait()
	if err != nil {
		t.Fatalf("select %s: %v", folder, err)
	}
	in := deskInbox{validity: sel.UIDValidity, next: sel.UIDNext, seen: map[imap.UID]bool{}}
	if sel.NumMessages > 0 {
		if markSeen {
			if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}, Silent: true}, nil).Close(); err != nil {
				t.Fatalf("store \\Seen: %v", err)
			}
		}
		msgs, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true}).Collect()
		if err != nil {
			t.Fatalf("fetch: %v", err)
		}
		for _, m := range msgs {
			in.uids = append(in.uids, m.UID)
			in.seen[m.UID] = slices.Contains(m.Flags, imap.FlagSeen)
		}
	}
	c.Logout().Wait()
	return in
}

// A SQLite installation is copied into PostgreSQL, verified table by
// table; a second copy is refused; and a daemon on the copy, with a data
// directory of its own, accepts the reply addresses issued before, and
// its desk the agent's password, with the same UIDVALIDITY, UIDs and read
// marks, so her mail client's cache stays good.
func TestStoreCopy(t *testing.T) {
	dsn := pgtest.Shared(t).NewDB(t)
	dir := t.TempDir()
	sqliteText, sqliteDesk := withDesk(t, daemontest.BaseConfig(dir))
	_, sqliteCfg := writeConfig(t, sqliteText)
	if r := runBin(t, "s3cret ana\n", nil, "agents", "set-password", "ana@example.com", "-config", sqliteCfg); r.code != 0 {
		t.Fatalf("set-password: exit %d %s", r.code, r.stderr)
	}
	addr, stop := startServe(t, sqliteCfg)
	if err := daemontest.SendSMTP(addr, "carla@cliente.example", []string{"soporte@example.com"},
		"From: Carla Ruiz <carla@cliente.example>\r\nTo: soporte@example.com\r\nSubject: Factura duplicada\r\nMessage-ID: <f1@cliente.example>\r\n"+
			"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMe han cobrado dos veces la facturación.\r\n"+
			"--b\r\nContent-Type: application/pdf; name=factura.pdf\r\nContent-Disposition: attachment; filename=factura.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"); err != nil {
		t.Fatal(err)
	}
	outbox := filepath.Join(dir, "outbox")
	waitFor(t, "the notifications", func() bool { e, _ := os.ReadDir(outbox); return len(e) >= 3 })
	lookAtDesk(t, sqliteDesk, "INBOX", true)
	deskBefore := lookAtDesk(t, sqliteDesk, "INBOX", false)
	if len(deskBefore.uids) != 1 || !deskBefore.seen[deskBefore.uids[0]] {
		t.Fatalf("the SQLite desk's INBOX: %+v, want the ticket, read", deskBefore)
	}
	stop()
	before := runBin(t, "", nil, "tickets", "show", "1", "--json", "-config", sqliteCfg)
	// The notification to an agent carries a reply address signed with the
	// SQLite installation's key.
	var note string
	entries, _ := os.ReadDir(outbox)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(outbox, e.Name()))
		if strings.Contains(string(b), "X-Ticketd-Envelope-To: <ana@example.com>") {
			note = string(b)
		}
	}
	msg, err := mail.ReadMessage(strings.NewReader(note))
	if err != nil || msg.Header.Get("Reply-To") == "" {
		t.Fatalf("no Reply-To in ana's notification (%v):\n%s", err, note)
	}
	to := addrOf(t, msg.Header.Get("Reply-To"))

	r := runBin(t, "", nil, "store", "copy", "-config", sqliteCfg, "--to", dsn)
	if r.code != 0 {
		t.Fatalf("store copy: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("store copy:\n%s", r.stdout)
	for _, want := range []string{"raw_messages         1 rows", "tickets              1 rows", "messages             1 rows", "attachments          1 rows",
		"events ", "outbox               3 rows", "reply key            1 rows", "verified", "search index: 1 messages",
		"desk_uids            1 rows", "desk_seen            1 rows", "desk_agents          1 rows", "desk last uid        1 rows"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("store copy output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout+r.stderr, pgtest.Password) {
		t.Errorf("the password was printed:\n%s", r.stdout)
	}
	again := runBin(t, "", nil, "store", "copy", "-config", sqliteCfg, "--to", dsn)
	if again.code == 0 || !strings.Contains(again.stderr, "not empty") {
		t.Fatalf("second copy: exit %d, stderr %q; want a refusal of the non-empty target", again.code, again.stderr)
	}

	// Switch [store] to the copy, with a new data_dir: nothing is read from the old one.
	pgDir := t.TempDir()
	pgText, pgDesk := withDesk(t, daemontest.BaseConfig(pgDir)+fmt.Sprintf("\n[store]\ndriver = \"postgres\"\ndsn = %q\n", dsn))
	_, pgCfg := writeConfig(t, pgText)
	after := runBin(t, "", nil, "tickets", "show", "1", "--json", "-config", pgCfg)
	if after.code != 0 || after.stdout != before.stdout {
		t.Fatalf("the ticket differs after the copy:\nSQLite:\n%s\nPostgreSQL (exit %d):\n%s%s", before.stdout, after.code, after.stdout, after.stderr)
	}
	if s := runBin(t, "", nil, "tickets", "search", "facturacion", "-config", pgCfg); s.code != 0 || !strings.Contains(s.stdout, "[facturación]") {
		t.Errorf("search on the copy: exit %d\n%s%s", s.code, s.stdout, s.stderr)
	}
	pgAddr, _ := startServe(t, pgCfg)
	if got := lookAtDesk(t, pgDesk, "INBOX", false); got.validity != deskBefore.validity || got.next != deskBefore.next ||
		!slices.Equal(got.uids, deskBefore.uids) || !got.seen[got.uids[0]] {
		t.Fatalf("the desk on the copy: %+v; want it as on SQLite: %+v", got, deskBefore)
	}
	if err := daemontest.SendSMTP(pgAddr, "ana@example.com", []string{to},
		"From: Ana Pérez <ana@example.com>\r\nTo: "+to+"\r\nSubject: Re: Factura duplicada\r\n\r\nYa le hemos devuelto el importe.\r\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the answer through the copy", func() bool {
		out := runBin(t, "", nil, "tickets", "show", "1", "--json", "-config", pgCfg).stdout
		return strings.Contains(out, `"status": "pendiente"`) && strings.Contains(out, `"assignee": "ana@example.com"`)
	})
	// The changed ticket comes back under a UID above every one issued
	// before the copy, unread.
	if got := lookAtDesk(t, pgDesk, "Pendiente", false); got.validity != deskBefore.validity || len(got.uids) != 1 ||
		got.uids[0] < deskBefore.next || got.seen[got.uids[0]] {
		t.Fatalf("the changed ticket on the copy's desk: %+v; want one unread message at UID %d or above", got, deskBefore.next)
	}
}

// A database that cannot be reached is a temporary failure everywhere:
// SMTP answers 451 (never 5xx), inject exits 75, and a serve started
// before its database waits for it, retrying with backoff.
func TestPostgresUnavailable(t *testing.T) {
	srv := pgtest.Start(t)
	dsn := srv.NewDB(t)
	dir := t.TempDir()
	text := daemontest.BaseConfig(dir) + fmt.Sprintf("\n[store]\ndriver = \"postgres\"\ndsn = %q\n", dsn)
	_, cfg := writeConfig(t, text)
	mail := "From: carla@cliente.example\r\nTo: soporte@example.com\r\nSubject: Sin base de datos\r\nMessage-ID: <nodb@cliente.example>\r\n\r\nHola\r\n"

	srv.Stop()
	r := runBin(t, mail, nil, "inject", "-config", cfg, "-to", "soporte@example.com")
	if r.code != 75 || !strings.Contains(r.stderr, "database unavailable") {
		t.Fatalf("inject with the database down: exit %d, stderr %q; want 75, saying the database is unavailable", r.code, r.stderr)
	}
	// serve waits for the database before it listens.
	cmd := exec.Command(ticketdBinary(t), "serve", "-config", cfg)
	logs := &syncBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-done
		if t.Failed() {
			t.Logf("serve log:\n%s", logs.String())
		}
	})
	waitFor(t, "serve to report the database unavailable", func() bool { return strings.Contains(logs.String(), "database unavailable, retrying") })
	srv.Start(t)
	addr := servingAddr(t, "serve", logs, done)
	if err := daemontest.SendSMTP(addr, "carla@cliente.example", []string{"soporte@example.com"}, mail); err != nil {
		t.Fatalf("with the database back: %v", err)
	}
	// The database goes away under a running daemon: 451, and the mail is
	// taken once it is back (the sender retries).
	srv.Kill()
	second := strings.Replace(mail, "nodb@", "nodb2@", 1)
	err := daemontest.SendSMTP(addr, "carla@cliente.example", []string{"soporte@example.com"}, second)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 451 {
		t.Fatalf("with the database gone: %v; want 451", err)
	}
	srv.Start(t)
	waitLong(t, "the retried mail to be taken", 30*time.Second, func() bool {
		return daemontest.SendSMTP(addr, "carla@cliente.example", []string{"soporte@example.com"}, second) == nil
	})
	out := runBin(t, "", nil, "tickets", "list", "--json", "-config", cfg).stdout
	if strings.Count(out, `"number"`) != 2 {
		t.Fatalf("want 2 tickets after the retries:\n%s", out)
	}
}
