package smtpd_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/daemon/daemontest"
)

// rawClient speaks SMTP by hand, so a test can stall, trickle, or send
// what no library client would.
type rawClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	rc := &rawClient{t: t, c: c, br: bufio.NewReader(c)}
	if r := rc.reply(); !strings.HasPrefix(r, "220") {
		t.Fatalf("greeting: %q", r)
	}
	return rc
}

// reply reads one (possibly multi-line) reply; "" when the connection
// ended first. It waits at most 10 s, so a hang fails instead of blocking.
func (rc *rawClient) reply() string {
	rc.t.Helper()
	r, err := rc.tryReply()
	if err != nil {
		rc.t.Fatal(err)
	}
	return r
}

// tryReply is reply for use outside the test's goroutine.
func (rc *rawClient) tryReply() (string, error) {
	rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var all []string
	for {
		l, err := rc.br.ReadString('\n')
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return "", fmt.Errorf("no reply within 10 s (so far %q)", all)
			}
			return strings.Join(all, ""), nil
		}
		all = append(all, l)
		if len(l) < 4 || l[3] != '-' {
			return strings.Join(all, ""), nil
		}
	}
}

func (rc *rawClient) send(s string) {
	rc.t.Helper()
	if _, err := io.WriteString(rc.c, s); err != nil {
		rc.t.Fatalf("write %q: %v", s, err)
	}
}

// cmd sends one command and checks its reply code.
func (rc *rawClient) cmd(line, want string) string {
	rc.t.Helper()
	rc.send(line + "\r\n")
	r := rc.reply()
	if !strings.HasPrefix(r, want) {
		rc.t.Fatalf("%s: got %q, want %s", line, r, want)
	}
	return r
}

// startData opens a transaction for soporte@ and gets to the 354.
func (rc *rawClient) startData(from string) {
	rc.t.Helper()
	rc.cmd("EHLO client.example", "250")
	rc.cmd("MAIL FROM:<"+from+">", "250")
	rc.cmd("RCPT TO:<soporte@example.com>", "250")
	rc.cmd("DATA", "354")
}

// closed tells whether the server closed the connection (after any
// lines it still had to say, which are returned).
func (rc *rawClient) closed() (bool, string) {
	rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	rest, err := io.ReadAll(rc.br)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false, string(rest)
	}
	return true, string(rest)
}

func withSMTP(t *testing.T, extra string) *daemontest.Env {
	t.Helper()
	dir := t.TempDir()
	cfg := strings.Replace(daemontest.BaseConfig(dir), "max_message_bytes = 5000000", "max_message_bytes = 5000000\n"+extra, 1)
	return daemontest.Start(t, cfg)
}

func ticketCount(t *testing.T, e *daemontest.Env) int {
	t.Helper()
	n := 0
	for i := int64(1); i < 10; i++ {
		err := e.D.Store.View(context.Background(), func(tx ticketd.Tx) error {
			_, err := tx.TicketByNumber(i)
			return err
		})
		if errors.Is(err, ticketd.ErrNotFound) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

func ticket(t *testing.T, e *daemontest.Env, n int64) *ticketd.Ticket {
	t.Helper()
	var tk *ticketd.Ticket
	err := e.D.Store.View(context.Background(), func(tx ticketd.Tx) error {
		var err error
		tk, err = tx.TicketByNumber(n)
		return err
	})
	if err != nil {
		t.Fatalf("ticket %d: %v", n, err)
	}
	return tk
}

// A sender that stalls mid-DATA and then sends the rest — which holds a
// whole second transaction — gets 451 4.4.2 for its mail, and the rest is
// never read: no ticket from "ceo".
func TestStalledDataIs451AndTheRestIsNeverRead(t *testing.T) {
	e := withSMTP(t, `read_timeout = "300ms"`)
	rc := dialRaw(t, e.D.SMTPAddr.String())
	rc.startData("carla@cliente.example")
	rc.send("From: carla@cliente.example\r\nSubject: Primera\r\n\r\nHola, ")
	// The server, not the test, decides when the stall is too long: the
	// reply arrives by itself.
	r := rc.reply()
	if !strings.HasPrefix(r, "451 4.4.2 ") {
		t.Fatalf("stalled DATA answered %q, want 451 4.4.2", r)
	}
	if strings.Contains(r, "i/o") || strings.Contains(r, "tcp") || strings.Contains(r, "127.0.0.1") {
		t.Fatalf("reply carries internal text: %q", r)
	}
	// The rest of the "body": a smuggled transaction.
	io.WriteString(rc.c, "sigue.\r\n.\r\nRSET\r\nMAIL FROM:<ceo@example.com>\r\nRCPT TO:<soporte@example.com>\r\nDATA\r\n"+
		"From: ceo@example.com\r\nSubject: Transferencia urgente\r\n\r\nPaguen.\r\n.\r\n")
	closed, rest := rc.closed()
	if !closed {
		t.Fatalf("connection still open after the stall")
	}
	if strings.Contains(rest, "250") || strings.Contains(rest, "354") {
		t.Fatalf("the rest of the stalled body ran as commands: %q", rest)
	}
	if n := ticketCount(t, e); n != 0 {
		t.Fatalf("%d tickets after a stalled DATA, want none (first subject %q)", n, ticket(t, e, 1).Subject)
	}
}

// The same over BDAT, whose chunks go-smtp reads itself: 451 4.4.2 in
// words, then the connection is closed.
func TestStalledBDATIs451AndClosed(t *testing.T) {
	e := withSMTP(t, `read_timeout = "300ms"`)
	rc := dialRaw(t, e.D.SMTPAddr.String())
	rc.cmd("EHLO client.example", "250")
	rc.cmd("MAIL FROM:<carla@cliente.example>", "250")
	rc.cmd("RCPT TO:<soporte@example.com>", "250")
	rc.send("BDAT 200 LAST\r\nFrom: carla@cliente.example\r\n")
	r := rc.reply()
	if !strings.HasPrefix(r, "451 4.4.2 ") || strings.Contains(r, "i/o") || strings.Contains(r, "tcp") {
		t.Fatalf("stalled BDAT answered %q, want 451 4.4.2 in words", r)
	}
	io.WriteString(rc.c, strings.Repeat("x", 170)+"RSET\r\nMAIL FROM:<ceo@example.com>\r\n")
	if closed, rest := rc.closed(); !closed || strings.Contains(rest, "250") {
		t.Fatalf("after a stalled chunk: closed=%v, then %q", closed, rest)
	}
	if n := ticketCount(t, e); n != 0 {
		t.Fatalf("%d tickets, want none", n)
	}
}

// A slow link that keeps sending is not a stall: read_timeout is the
// longest silence, not a limit on the whole transfer.
func TestSlowLinkThatKeepsSendingIsAccepted(t *testing.T) {
	e := withSMTP(t, `read_timeout = "400ms"`)
	rc := dialRaw(t, e.D.SMTPAddr.String())
	rc.startData("carla@cliente.example")
	rc.send("From: carla@cliente.example\r\nSubject: Despacio\r\n\r\n")
	// 12 lines, one every 100 ms: 1.2 s in all, three times read_timeout.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for i := range 12 {
		<-tick.C
		rc.send(fmt.Sprintf("linea %d\r\n", i))
	}
	rc.send(".\r\n")
	if r := rc.reply(); !strings.HasPrefix(r, "250") {
		t.Fatalf("slow but steady DATA answered %q, want 250", r)
	}
	if tk := ticket(t, e, 1); tk.Subject != "Despacio" {
		t.Fatalf("ticket subject %q", tk.Subject)
	}
}

// data_timeout bounds a whole DATA, however steadily it trickles.
func TestDataTimeoutBoundsTheWholeTransfer(t *testing.T) {
	e := withSMTP(t, "read_timeout = \"400ms\"\ndata_timeout = \"1s\"")
	rc := dialRaw(t, e.D.SMTPAddr.String())
	rc.startData("carla@cliente.example")
	rc.send("From: carla@cliente.example\r\nSubject: Eterno\r\n\r\n")
	replies := make(chan string, 1)
	go func() {
		r, err := rc.tryReply()
		if err != nil {
			r = err.Error()
		}
		replies <- r
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	for {
		select {
		case r := <-replies:
			if !strings.HasPrefix(r, "451 4.4.2 ") {
				t.Fatalf("endless DATA answered %q, want 451 4.4.2", r)
			}
			if d := time.Since(start); d < 900*time.Millisecond {
				t.Fatalf("cut after %v, before data_timeout", d)
			}
			if n := ticketCount(t, e); n != 0 {
				t.Fatalf("%d tickets, want none", n)
			}
			return
		case <-tick.C:
			// The server may have closed already; a failed write is fine.
			io.WriteString(rc.c, "x\r\n")
		case <-time.After(10 * time.Second):
			t.Fatal("DATA never cut")
		}
	}
}

// A client that disappears mid-DATA gets a 4xx (it may still read it on a
// half-closed connection) and nothing is stored.
func TestEOFMidDataStoresNothing(t *testing.T) {
	e := withSMTP(t, "")
	rc := dialRaw(t, e.D.SMTPAddr.String())
	rc.startData("carla@cliente.example")
	rc.send("From: carla@cliente.example\r\nSubject: Cortado\r\n\r\nHola, no pude term")
	rc.c.(*net.TCPConn).CloseWrite()
	r := rc.reply()
	if !strings.HasPrefix(r, "451 4.4.2 ") || strings.Contains(strings.ToLower(r), "eof") {
		t.Fatalf("EOF mid-DATA answered %q, want 451 4.4.2 without internal text", r)
	}
	if n := ticketCount(t, e); n != 0 {
		t.Fatalf("%d tickets after a cut DATA, want none", n)
	}
}

// A line longer than the limit inside DATA is a permanent refusal that
// says what is wrong in words, not go-smtp's internal error.
func TestOverLongLineInDataIs5xxWithoutInternalText(t *testing.T) {
	e := withSMTP(t, "")
	rc := dialRaw(t, e.D.SMTPAddr.String())
	rc.startData("carla@cliente.example")
	rc.send("From: carla@cliente.example\r\nSubject: Larga\r\n\r\n" + strings.Repeat("a", 3000) + "\r\n.\r\n")
	r := rc.reply()
	if r == "" || r[0] != '5' || strings.Contains(r, "smtp:") || strings.Contains(r, "transaction failed") {
		t.Fatalf("over-long line answered %q, want a 5xx in words", r)
	}
	if !strings.Contains(r, "line") {
		t.Fatalf("reply does not say the line is the problem: %q", r)
	}
	if n := ticketCount(t, e); n != 0 {
		t.Fatalf("%d tickets, want none", n)
	}
}

// exactly builds a mail of n bytes.
func exactly(n int, subject string) string {
	var b strings.Builder
	b.WriteString("From: carla@cliente.example\r\nSubject: " + subject + "\r\n\r\n")
	for b.Len() < n {
		line := min(76, n-b.Len()-2)
		b.WriteString(strings.Repeat("x", max(line, 0)) + "\r\n")
	}
	if b.Len() != n {
		panic(fmt.Sprintf("exactly(%d) built %d bytes", n, b.Len()))
	}
	return b.String()
}

// A mail of exactly max_message_bytes is accepted over DATA, as EHLO's
// SIZE, BDAT and inject promise; one byte more is refused with 552.
func TestMessageOfExactlyTheLimitIsAccepted(t *testing.T) {
	dir := t.TempDir()
	cfg := strings.Replace(daemontest.BaseConfig(dir), "max_message_bytes = 5000000", "max_message_bytes = 10000", 1)
	e := daemontest.Start(t, cfg)
	addr := e.D.SMTPAddr.String()
	if err := daemontest.SendSMTP(addr, "carla@cliente.example", []string{"soporte@example.com"}, exactly(10000, "Justo")); err != nil {
		t.Fatalf("mail of exactly max_message_bytes: %v", err)
	}
	if tk := ticket(t, e, 1); tk.Subject != "Justo" {
		t.Fatalf("ticket %q", tk.Subject)
	}
	err := daemontest.SendSMTP(addr, "carla@cliente.example", []string{"soporte@example.com"}, exactly(10001, "Sobra"))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 552 {
		t.Fatalf("one byte over: %v, want 552", err)
	}
	// The refusal leaves the connection in step: the next mail on it works.
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i, raw := range []string{exactly(10001, "Sobra"), exactly(2000, "Siguiente")} {
		c.Mail("carla@cliente.example", nil)
		c.Rcpt("soporte@example.com", nil)
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, raw)
		err = w.Close()
		if i == 0 && (!errors.As(err, &se) || se.Code != 552) {
			t.Fatalf("too big on a kept connection: %v", err)
		}
		if i == 1 && err != nil {
			t.Fatalf("next mail on the same connection: %v", err)
		}
	}
	if tk := ticket(t, e, 2); tk.Subject != "Siguiente" {
		t.Fatalf("ticket 2 %q", tk.Subject)
	}
}

// Beyond max_connections_per_ip, and beyond max_connections in all, a
// client hears 421 4.7.0 and is disconnected; the others are served.
func TestConnectionLimits(t *testing.T) {
	e := withSMTP(t, "max_connections = 3\nmax_connections_per_ip = 2")
	addr := e.D.SMTPAddr.String()
	dialFrom := func(ip string) (*bufio.Reader, net.Conn) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		return bufio.NewReader(c), c
	}
	greet := func(ip string) string {
		br, _ := dialFrom(ip)
		l, _ := br.ReadString('\n')
		return l
	}
	for _, ip := range []string{"127.0.0.1", "127.0.0.1"} {
		if g := greet(ip); !strings.HasPrefix(g, "220") {
			t.Fatalf("connection within the limits: %q", g)
		}
	}
	br, _ := dialFrom("127.0.0.1")
	if g, _ := br.ReadString('\n'); !strings.HasPrefix(g, "421 4.7.0") {
		t.Fatalf("third connection from one IP: %q, want 421 4.7.0", g)
	}
	if _, err := br.ReadString('\n'); err != io.EOF {
		t.Fatalf("refused connection not closed: %v", err)
	}
	if g := greet("127.0.0.2"); !strings.HasPrefix(g, "220") {
		t.Fatalf("another IP within max_connections: %q", g)
	}
	if g := greet("127.0.0.3"); !strings.HasPrefix(g, "421 4.7.0") {
		t.Fatalf("fourth connection in all: %q, want 421 4.7.0", g)
	}
}

// A session that only idles (NOOP after NOOP) is closed once it made no
// progress for read_timeout; so is one that only fails commands.
func TestIdleAndFailingSessionsAreClosed(t *testing.T) {
	e := withSMTP(t, `read_timeout = "500ms"`)
	rc := dialRaw(t, e.D.SMTPAddr.String())
	rc.cmd("EHLO client.example", "250")
	start := time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		<-tick.C
		rc.send("NOOP\r\n")
		r := rc.reply()
		if strings.HasPrefix(r, "250") {
			if time.Since(start) > 5*time.Second {
				t.Fatal("a session sending only NOOP is never closed")
			}
			continue
		}
		if !strings.HasPrefix(r, "421 4.4.2") {
			t.Fatalf("idle session got %q, want 421 4.4.2", r)
		}
		break
	}
	if closed, _ := rc.closed(); !closed {
		t.Fatal("idle session not closed after 421")
	}

	rc = dialRaw(t, e.D.SMTPAddr.String())
	rc.cmd("EHLO client.example", "250")
	rc.cmd("MAIL FROM:<probe@spam.example>", "250")
	var last string
	for i := range 25 {
		rc.send(fmt.Sprintf("RCPT TO:<user%d@example.com>\r\n", i))
		last = rc.reply()
		if !strings.HasPrefix(last, "550") {
			break
		}
	}
	if !strings.HasPrefix(last, "421 4.7.0") {
		t.Fatalf("after many unknown recipients: %q, want 421 4.7.0", last)
	}
	if closed, _ := rc.closed(); !closed {
		t.Fatal("failing session not closed after 421")
	}
}

// RFC 5321 §4.5.1: postmaster at our domain is accepted and reaches the
// mailbox's agents.
func TestPostmasterIsAcceptedAndReachesTheAgents(t *testing.T) {
	e := withSMTP(t, "")
	for _, rcpt := range []string{"postmaster@example.com", "PostMaster@tickets.example.com"} {
		if err := daemontest.SendSMTP(e.D.SMTPAddr.String(), "admin@remote.example", []string{rcpt},
			"From: admin@remote.example\r\nTo: "+rcpt+"\r\nSubject: Abuse report "+rcpt+"\r\n\r\nSpam from your network.\r\n"); err != nil {
			t.Fatalf("RCPT %s: %v", rcpt, err)
		}
	}
	sent := e.Flush()
	for _, agent := range []string{"ana@example.com", "luis@example.com"} {
		if got := daemontest.To(sent, agent); len(got) != 2 || !strings.Contains(string(got[0].Data), "Abuse report") {
			t.Fatalf("%s got %d postmaster notifications", agent, len(got))
		}
	}
	rc := dialRaw(t, e.D.SMTPAddr.String())
	rc.cmd("EHLO client.example", "250")
	rc.cmd("MAIL FROM:<a@remote.example>", "250")
	rc.cmd("RCPT TO:<postmaster@elsewhere.example>", "550")
	// The bare form, which needs no domain.
	rc.cmd("RCPT TO:<Postmaster>", "250")
	rc.cmd("DATA", "354")
	rc.send("From: a@remote.example\r\nSubject: Bare postmaster\r\n\r\nHello.\r\n.\r\n")
	if r := rc.reply(); !strings.HasPrefix(r, "250") {
		t.Fatalf("mail to <Postmaster>: %q", r)
	}
	if tk := ticket(t, e, 3); tk.Subject != "Bare postmaster" || tk.Mailbox != "soporte@example.com" {
		t.Fatalf("ticket %q in %s", tk.Subject, tk.Mailbox)
	}
}

// Completing <Postmaster> never touches a message: a body line that reads
// like the command is stored as sent, over DATA and over BDAT.
func TestPostmasterLinesInsideMessagesAreKept(t *testing.T) {
	e := withSMTP(t, "")
	body := "From: carla@cliente.example\r\nSubject: %s\r\n\r\nRCPT TO:<postmaster>\r\nrcpt to: <POSTMASTER> x\r\n"
	rc := dialRaw(t, e.D.SMTPAddr.String())
	rc.startData("carla@cliente.example")
	rc.send(fmt.Sprintf(body, "por DATA") + ".\r\n")
	if r := rc.reply(); !strings.HasPrefix(r, "250") {
		t.Fatalf("DATA: %q", r)
	}
	rc.cmd("MAIL FROM:<carla@cliente.example>", "250")
	rc.cmd("RCPT TO:<soporte@example.com>", "250")
	chunk := fmt.Sprintf(body, "por BDAT")
	rc.send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(chunk), chunk))
	if r := rc.reply(); !strings.HasPrefix(r, "250") {
		t.Fatalf("BDAT: %q", r)
	}
	for n, subject := range map[int64]string{1: "por DATA", 2: "por BDAT"} {
		var raw *ticketd.Raw
		e.D.Store.View(context.Background(), func(tx ticketd.Tx) error {
			msgs, err := tx.Messages(n)
			if err == nil {
				raw, err = tx.Raw(msgs[0].RawID)
			}
			return err
		})
		if raw == nil || string(raw.Data) != fmt.Sprintf(body, subject) {
			t.Fatalf("ticket %d: raw bytes changed", n)
		}
	}
}

// LMTP: go-smtp does not read an oversized body to its end in LMTP mode;
// the connection is closed after the 552 instead of reading the rest of
// the body as commands.
func TestLMTPOversizedBodyNeverRunsAsCommands(t *testing.T) {
	dir := t.TempDir()
	cfg := strings.Replace(daemontest.BaseConfig(dir), "max_message_bytes = 5000000", "max_message_bytes = 2000\nlmtp_listen = \"127.0.0.1:0\"", 1)
	e := daemontest.Start(t, cfg)
	c, err := net.Dial("tcp", e.D.LMTPAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rc := &rawClient{t: t, c: c, br: bufio.NewReader(c)}
	rc.reply()
	rc.cmd("LHLO mta.example", "250")
	rc.cmd("MAIL FROM:<carla@cliente.example>", "250")
	rc.cmd("RCPT TO:<soporte@example.com>", "250")
	rc.cmd("DATA", "354")
	rc.send("From: carla@cliente.example\r\nSubject: Grande\r\n\r\n" + strings.Repeat(strings.Repeat("y", 70)+"\r\n", 40) +
		"MAIL FROM:<ceo@example.com>\r\nRCPT TO:<soporte@example.com>\r\nDATA\r\nSubject: Colado\r\n\r\nx\r\n.\r\n")
	if r := rc.reply(); !strings.HasPrefix(r, "552") {
		t.Fatalf("oversized LMTP body: %q, want 552", r)
	}
	closed, rest := rc.closed()
	if !closed || strings.Contains(rest, "250") || strings.Contains(rest, "354") {
		t.Fatalf("after the 552: closed=%v, then %q", closed, rest)
	}
	if n := ticketCount(t, e); n != 0 {
		t.Fatalf("%d tickets, want none", n)
	}
}

// A nested-multipart bomb is answered at once with 250, never 4xx (a 4xx
// would have it resent forever): its raw bytes are kept exactly and its
// text says it is too complex to display.
func TestMIMEBombIsAcceptedRawAndShownTooComplex(t *testing.T) {
	e := withSMTP(t, "")
	var b strings.Builder
	b.WriteString("From: m@evil.example\r\nTo: soporte@example.com\r\nSubject: bomba\r\n")
	for i := range 14500 {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\r\n\r\nhola\r\n")
	raw := b.String()
	if err := daemontest.SendSMTP(e.D.SMTPAddr.String(), "m@evil.example", []string{"soporte@example.com"}, raw); err != nil {
		t.Fatalf("bomb: %v, want 250", err)
	}
	var msgs []*ticketd.Message
	var stored *ticketd.Raw
	err := e.D.Store.View(context.Background(), func(tx ticketd.Tx) error {
		var err error
		if msgs, err = tx.Messages(1); err != nil {
			return err
		}
		stored, err = tx.Raw(msgs[0].RawID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(stored.Data) != raw {
		t.Fatalf("raw bytes changed: %d stored, %d sent", len(stored.Data), len(raw))
	}
	if m := msgs[0]; !strings.Contains(m.Text, "too complex to display") || !strings.Contains(m.ParseError, "too complex") || len(m.Attachments) != 0 {
		t.Fatalf("bomb message: text %q, parse error %q, %d attachments", m.Text, m.ParseError, len(m.Attachments))
	}
}
