package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/store/postgres"
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
	addr, _, stop = startServeLogs(t, cfg)
	return addr, stop
}

// anaReplyTo returns the Reply-To address of the first notification to
// ana in a dir transport's outbox, and how many mails the outbox holds.
func anaReplyTo(t *testing.T, outbox string) (string, int) {
	t.Helper()
	var note string
	entries, _ := os.ReadDir(outbox)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(outbox, e.Name()))
		if strings.Contains(string(b), "X-Ticketd-Envelope-To: <ana@example.com>") && strings.Contains(string(b), "Message-Id: <") && note == "" {
			note = string(b)
		}
	}
	msg, err := mail.ReadMessage(strings.NewReader(note))
	if err != nil || msg.Header.Get("Reply-To") == "" {
		t.Fatalf("no Reply-To in ana's notification (%v):\n%s", err, note)
	}
	return addrOf(t, msg.Header.Get("Reply-To")), len(entries)
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
	to, _ := anaReplyTo(t, outbox)

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

// startServeLogs is startServe that also returns what serve logs.
func startServeLogs(t *testing.T, cfg string) (addr string, logs *syncBuffer, stop func()) {
	t.Helper()
	cmd := exec.Command(ticketdBinary(t), "serve", "-config", cfg)
	logs = &syncBuffer{}
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
	return servingAddr(t, "serve", logs, done), logs, stop
}

var webServingRE = regexp.MustCompile(`msg="status page serving" http=(\S+)`)

// webAddr is the address a serve process said its status page listens on.
func webAddr(t *testing.T, logs *syncBuffer) string {
	t.Helper()
	m := webServingRE.FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("serve did not say where its status page listens:\n%s", logs.String())
	}
	return m[1]
}

// statusPage is what a customer's browser gets of a ticket: the page, and
// each file it links to (inline images and downloads), by URL.
type statusPage struct {
	html  string
	files map[string]string // URL path -> Content-Type, Content-Disposition and bytes
}

var fileLinkRE = regexp.MustCompile(`/t/[a-z2-7]+/files/[0-9]+`)

func getStatusPage(t *testing.T, web, token string) statusPage {
	t.Helper()
	get := func(path string) (*http.Response, string) {
		res, err := http.Get("http://" + web + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s\n%s", path, res.Status, b)
		}
		return res, string(b)
	}
	_, html := get("/t/" + token)
	p := statusPage{html: html, files: map[string]string{}}
	for _, link := range fileLinkRE.FindAllString(html, -1) {
		res, body := get(link)
		p.files[link] = res.Header.Get("Content-Type") + "\n" + res.Header.Get("Content-Disposition") + "\n" + body
	}
	return p
}

// A mail with a pasted screenshot (HTML, an inline image by Content-ID)
// and a PDF attached, as Outlook sends one.
const copyMail = "From: Carla Ruiz <carla@cliente.example>\r\nTo: soporte@example.com\r\nSubject: Factura duplicada\r\nMessage-ID: <f1@cliente.example>\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n" +
	"--m\r\nContent-Type: multipart/related; boundary=r\r\n\r\n" +
	"--r\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n" +
	"--a\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nMe han cobrado dos veces la facturación.\r\n[cid:captura@cliente.example]\r\n" +
	"--a\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n<p>Me han cobrado dos veces la <b>facturación</b>.</p><p><img src=\"cid:captura@cliente.example\" alt=\"captura\"></p>\r\n" +
	"--a--\r\n" +
	"--r\r\nContent-Type: image/png; name=captura.png\r\nContent-Disposition: inline; filename=captura.png\r\nContent-ID: <captura@cliente.example>\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
	"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==\r\n" +
	"--r--\r\n" +
	"--m\r\nContent-Type: application/pdf; name=factura.pdf\r\nContent-Disposition: attachment; filename=factura.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--m--\r\n"

// What intake decoded of a mail and who wrote it survive the copy: a
// daemon on the copy serves the ticket's HTML mail, inline image and
// attachment the same (the status page and its downloads, from the parts
// kept beside the raw mail), an outsider's messages stay an outsider's,
// and the agents' reply addresses issued before still verify, also those
// signed by a key that a rotation replaced (carried as a retired key).
func TestStoreCopyParts(t *testing.T) {
	dsn := pgtest.Shared(t).NewDB(t)
	dir := t.TempDir()
	withWeb := func(text string) string {
		return strings.Replace(text, "[http]\nlisten = \"\"", "[http]\nlisten = \"127.0.0.1:0\"", 1)
	}
	_, sqliteCfg := writeConfig(t, withWeb(daemontest.BaseConfig(dir)))
	addr, logs, stop := startServeLogs(t, sqliteCfg)
	if err := daemontest.SendSMTP(addr, "carla@cliente.example", []string{"soporte@example.com"}, copyMail); err != nil {
		t.Fatal(err)
	}
	outbox := filepath.Join(dir, "outbox")
	waitFor(t, "the notifications", func() bool { e, _ := os.ReadDir(outbox); return len(e) >= 3 })
	var tk struct {
		Token    string `json:"token"`
		Messages []struct {
			ID          int64 `json:"id"`
			Outsider    bool  `json:"outsider"`
			Attachments []struct {
				ID   int64  `json:"id"`
				Name string `json:"name"`
			} `json:"attachments"`
		} `json:"messages"`
	}
	if err := json.Unmarshal([]byte(runBin(t, "", nil, "tickets", "show", "1", "--json", "-config", sqliteCfg).stdout), &tk); err != nil || len(tk.Messages) != 1 || len(tk.Messages[0].Attachments) != 2 {
		t.Fatalf("ticket 1 on SQLite: %v %+v", err, tk)
	}
	// Someone who takes no part in the ticket writes through its address:
	// kept for the agents, never shown to the customer.
	if err := daemontest.SendSMTP(addr, "pablo@otra.example", []string{"soporte+" + tk.Token + "@example.com"},
		"From: Pablo <pablo@otra.example>\r\nTo: soporte+"+tk.Token+"@example.com\r\nSubject: Re: Factura duplicada\r\nMessage-ID: <p1@otra.example>\r\n\r\nYo también quiero la factura de Carla.\r\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the outsider's message", func() bool {
		return strings.Contains(runBin(t, "", nil, "tickets", "show", "1", "--json", "-config", sqliteCfg).stdout, `"outsider": true`)
	})
	sqlitePage := getStatusPage(t, webAddr(t, logs), tk.Token)
	if len(sqlitePage.files) != 2 || !strings.Contains(sqlitePage.html, "factura.pdf") || strings.Contains(sqlitePage.html, "Yo también") {
		t.Fatalf("the status page on SQLite: %d files\n%s", len(sqlitePage.files), sqlitePage.html)
	}
	// The acknowledgement and two notifications of the first mail, and the
	// agents' notifications of the outsider's.
	waitFor(t, "the outbox to drain", func() bool { e, _ := os.ReadDir(outbox); return len(e) >= 5 })
	stop()
	before := runBin(t, "", nil, "tickets", "show", "1", "--json", "-config", sqliteCfg)
	// The notification to an agent carries a reply address signed with the
	// SQLite installation's key.
	to, outboxRows := anaReplyTo(t, outbox)
	// The key that signed it is replaced before the copy: the address
	// must still work on PostgreSQL through the retired key.
	if r := runBin(t, "", nil, "keys", "rotate", "-config", sqliteCfg); r.code != 0 {
		t.Fatalf("keys rotate: exit %d %s", r.code, r.stderr)
	}

	r := runBin(t, "", nil, "store", "copy", "-config", sqliteCfg, "--to", dsn)
	if r.code != 0 {
		t.Fatalf("store copy: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("store copy:\n%s", r.stdout)
	for _, want := range []struct {
		table string
		rows  int
	}{{"raw_messages", 2}, {"tickets", 1}, {"messages", 2}, {"attachments", 2}, {"attachment_data", 2}, {"outbox", outboxRows}, {"reply key", 1}, {"retired keys", 1}} {
		if !regexp.MustCompile(`(?m)^` + want.table + ` +` + fmt.Sprint(want.rows) + ` rows  sha256 [0-9a-f]{64}  verified$`).MatchString(r.stdout) {
			t.Errorf("store copy output lacks %q with %d rows, verified:\n%s", want.table, want.rows, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "events ") || !strings.Contains(r.stdout, "search index: 2 messages") {
		t.Errorf("store copy output lacks the events or the search index:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout+r.stderr, pgtest.Password) {
		t.Errorf("the password was printed:\n%s", r.stdout)
	}
	again := runBin(t, "", nil, "store", "copy", "-config", sqliteCfg, "--to", dsn)
	if again.code == 0 || !strings.Contains(again.stderr, "not empty") {
		t.Fatalf("second copy: exit %d, stderr %q; want a refusal of the non-empty target", again.code, again.stderr)
	}

	// What intake decoded is on the copy as it was stored: the HTML body,
	// the inline image's Content-ID, and each attachment's bytes.
	pg, err := postgres.Open(t.Context(), dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = pg.View(t.Context(), func(tx ticketd.Tx) error {
		html, kept, err := tx.MessageHTML(tk.Messages[0].ID)
		if err != nil || !kept || !strings.Contains(html, "<b>facturación</b>") {
			t.Errorf("the HTML body on the copy: kept %v, %q, %v", kept, html, err)
		}
		for _, a := range tk.Messages[0].Attachments {
			att, err := tx.Attachment(a.ID)
			if err != nil {
				return err
			}
			data, kept, err := tx.AttachmentContent(a.ID)
			if err != nil || !kept || len(data) == 0 {
				t.Errorf("attachment %s on the copy: kept %v, %d bytes, %v", a.Name, kept, len(data), err)
			}
			if a.Name == "captura.png" && (!att.Inline || att.ContentID != "captura@cliente.example") {
				t.Errorf("the inline image on the copy: inline %v, Content-ID %q", att.Inline, att.ContentID)
			}
		}
		return nil
	})
	pg.Close()
	if err != nil {
		t.Fatal(err)
	}

	// Switch [store] to the copy, with a new data_dir: nothing is read from the old one.
	pgDir := t.TempDir()
	pgText := withWeb(daemontest.BaseConfig(pgDir)) + fmt.Sprintf("\n[store]\ndriver = \"postgres\"\ndsn = %q\n", dsn)
	_, pgCfg := writeConfig(t, pgText)
	after := runBin(t, "", nil, "tickets", "show", "1", "--json", "-config", pgCfg)
	if after.code != 0 || after.stdout != before.stdout {
		t.Fatalf("the ticket differs after the copy:\nSQLite:\n%s\nPostgreSQL (exit %d):\n%s%s", before.stdout, after.code, after.stdout, after.stderr)
	}
	if s := runBin(t, "", nil, "tickets", "search", "facturacion", "-config", pgCfg); s.code != 0 || !strings.Contains(s.stdout, "[facturación]") {
		t.Errorf("search on the copy: exit %d\n%s%s", s.code, s.stdout, s.stderr)
	}
	pgAddr, pgLogs, _ := startServeLogs(t, pgCfg)
	pgPage := getStatusPage(t, webAddr(t, pgLogs), tk.Token)
	if pgPage.html != sqlitePage.html {
		t.Errorf("the status page differs on the copy:\nSQLite:\n%s\nPostgreSQL:\n%s", sqlitePage.html, pgPage.html)
	}
	for link, want := range sqlitePage.files {
		if got := pgPage.files[link]; got != want {
			t.Errorf("%s differs on the copy:\nSQLite: %q\nPostgreSQL: %q", link, want, got)
		}
	}
	// The outsider is still one: an agent who accepts them is what changes that,
	// and until then a further mail from them stays off the customer's page.
	if err := daemontest.SendSMTP(pgAddr, "pablo@otra.example", []string{"soporte+" + tk.Token + "@example.com"},
		"From: Pablo <pablo@otra.example>\r\nTo: soporte+"+tk.Token+"@example.com\r\nSubject: Re: Factura duplicada\r\nMessage-ID: <p2@otra.example>\r\n\r\nInsisto.\r\n"); err != nil {
		t.Fatal(err)
	}
	if err := daemontest.SendSMTP(pgAddr, "ana@example.com", []string{to},
		"From: Ana Pérez <ana@example.com>\r\nTo: "+to+"\r\nSubject: Re: Factura duplicada\r\n\r\nYa le hemos devuelto el importe.\r\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the answer through the copy", func() bool {
		out := runBin(t, "", nil, "tickets", "show", "1", "--json", "-config", pgCfg).stdout
		return strings.Contains(out, `"status": "pendiente"`) && strings.Contains(out, `"assignee": "ana@example.com"`)
	})
	if out := runBin(t, "", nil, "tickets", "show", "1", "--json", "-config", pgCfg).stdout; strings.Contains(out, `"unverified": true`) {
		t.Errorf("ana's answer through the retired key's address was taken as unverified:\n%s", out)
	}
	if err := json.Unmarshal([]byte(runBin(t, "", nil, "tickets", "show", "1", "--json", "-config", pgCfg).stdout), &tk); err != nil || len(tk.Messages) != 4 {
		t.Fatalf("ticket 1 on the copy: %v %+v", err, tk)
	}
	if m := tk.Messages[2]; !tk.Messages[1].Outsider || !m.Outsider {
		t.Errorf("the outsider's messages on the copy: %+v", tk.Messages)
	}
	if page := getStatusPage(t, webAddr(t, pgLogs), tk.Token); strings.Contains(page.html, "Insisto") || strings.Contains(page.html, "Yo también") || !strings.Contains(page.html, "Ya le hemos devuelto") {
		t.Errorf("the status page on the copy shows an outsider's message, or not the agent's answer:\n%s", page.html)
	}
}
