package mailer

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// countingHost is a real go-smtp smarthost with STARTTLS and AUTH PLAIN
// that counts the connections it was opened, those still open, and the
// commands it was sent.
type countingHost struct {
	addr string
	mu   sync.Mutex
	got  []*Composed
	// opened counts connections (by the client's port: go-smtp starts a
	// new session after STARTTLS); open holds those not closed yet.
	opened map[string]bool
	open   map[*smtp.Conn]bool
	wire   bytes.Buffer // every command the clients sent
}

func startCountingHost(t *testing.T) (*countingHost, *SMTPTransport) {
	t.Helper()
	h := &countingHost{opened: map[string]bool{}, open: map[*smtp.Conn]bool{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		h.mu.Lock()
		h.opened[c.Conn().RemoteAddr().String()] = true
		h.open[c] = true
		h.mu.Unlock()
		return &countingSession{h: h, c: c}, nil
	}))
	srv.Domain = "smarthost.test"
	cert, roots := selfSigned(t)
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Debug = commandLog{h}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	tr := &SMTPTransport{Addr: h.addr, Username: "ticketd", Password: "s3cret", StartTLS: "required", Hostname: "tickets.example.com",
		TLSConfig: &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}}
	return h, tr
}

// commandLog keeps what the clients sent (go-smtp's Debug writer sees
// both directions; the server's answers start with a digit).
type commandLog struct{ h *countingHost }

func (w commandLog) Write(p []byte) (int, error) {
	w.h.mu.Lock()
	defer w.h.mu.Unlock()
	for _, l := range strings.SplitAfter(string(p), "\n") {
		if l != "" && (l[0] < '0' || l[0] > '9') {
			w.h.wire.WriteString(l)
		}
	}
	return len(p), nil
}

func (h *countingHost) counts() (opened, open int, got int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.opened), len(h.open), len(h.got)
}

func (h *countingHost) commands(verb string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, l := range strings.Split(h.wire.String(), "\n") {
		if strings.HasPrefix(strings.ToUpper(l), verb) {
			n++
		}
	}
	return n
}

// dropAll closes every connection from the smarthost's side, as one does
// that restarts or times its clients out.
func (h *countingHost) dropAll() {
	h.mu.Lock()
	var open []*smtp.Conn
	for c := range h.open {
		open = append(open, c)
	}
	h.mu.Unlock()
	for _, c := range open {
		c.Close()
	}
}

type countingSession struct {
	h     *countingHost
	c     *smtp.Conn
	m     Composed
	authd bool
}

func (s *countingSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *countingSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "ticketd" || pass != "s3cret" {
			return errors.New("bad credentials")
		}
		s.authd = true
		return nil
	}), nil
}
func (s *countingSession) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authd {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	s.m.From = from
	return nil
}
func (s *countingSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if to == "refused@x.example" {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	s.m.Rcpts = append(s.m.Rcpts, to)
	return nil
}
func (s *countingSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.h.mu.Lock()
	s.h.got = append(s.h.got, &Composed{From: s.m.From, Rcpts: s.m.Rcpts, Data: b})
	s.h.mu.Unlock()
	return nil
}
func (s *countingSession) Reset() { s.m = Composed{} }
func (s *countingSession) Logout() error {
	s.h.mu.Lock()
	delete(s.h.open, s.c)
	s.h.mu.Unlock()
	return nil
}

func mailTo(i int) *Composed {
	return &Composed{From: "soporte+tok@example.com", Rcpts: []string{fmt.Sprintf("c%d@x.example", i)},
		Data: []byte(fmt.Sprintf("Subject: mail %d\r\n\r\nhola %d\r\n", i, i))}
}

// A burst of mail from eight senders at once goes over at most the pool's
// size of connections, each logged in once, and every mail arrives whole
// with its own envelope.
func TestPoolSendsABurstOverFewConnections(t *testing.T) {
	h, tr := startCountingHost(t)
	p := &SMTPPool{SMTPTransport: *tr, Size: 2}
	defer p.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				errs <- p.Send(context.Background(), int64(g*5+i), mailTo(g*5+i))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	opened, _, got := h.counts()
	if got != 40 || opened > 2 || opened < 1 {
		t.Fatalf("smarthost got %d mails over %d connections; want 40 over at most 2", got, opened)
	}
	if n := h.commands("AUTH"); n != opened {
		t.Errorf("%d logins for %d connections", n, opened)
	}
	seen := map[string]bool{}
	for _, m := range h.got {
		want := fmt.Sprintf("hola %s\r\n", strings.TrimSuffix(strings.TrimPrefix(m.Rcpts[0], "c"), "@x.example"))
		if len(m.Rcpts) != 1 || !bytes.HasSuffix(m.Data, []byte(want)) || seen[m.Rcpts[0]] {
			t.Errorf("mail to %v: %q", m.Rcpts, m.Data)
		}
		seen[m.Rcpts[0]] = true
	}
	// Mail in sequence uses the one session that is open, without RSET.
	before, _, _ := h.counts()
	for i := 100; i < 110; i++ {
		if err := p.Send(context.Background(), int64(i), mailTo(i)); err != nil {
			t.Fatal(err)
		}
	}
	if opened, _, _ := h.counts(); opened != before {
		t.Errorf("ten mails in a row opened %d new connections", opened-before)
	}
	if n := h.commands("RSET"); n != 0 {
		t.Errorf("%d RSET between finished transactions", n)
	}
}

// A recipient refused for good fails only its mail: the session is RSET
// and carries the next one.
func TestPoolResetsAfterARefusedRecipient(t *testing.T) {
	h, tr := startCountingHost(t)
	p := &SMTPPool{SMTPTransport: *tr, Size: 1}
	defer p.Close()
	bad := &Composed{From: "soporte@example.com", Rcpts: []string{"refused@x.example"}, Data: []byte("Subject: x\r\n\r\nx\r\n")}
	var perm *PermanentError
	if err := p.Send(context.Background(), 1, bad); !errors.As(err, &perm) {
		t.Fatalf("550 must be permanent, got %v", err)
	}
	if err := p.Send(context.Background(), 2, mailTo(2)); err != nil {
		t.Fatalf("next mail: %v", err)
	}
	opened, _, got := h.counts()
	if opened != 1 || got != 1 || h.commands("RSET") != 1 {
		t.Fatalf("%d connections, %d mails, %d RSET; want 1, 1, 1", opened, got, h.commands("RSET"))
	}
	if h.got[0].From != "soporte+tok@example.com" || len(h.got[0].Rcpts) != 1 || h.got[0].Rcpts[0] != "c2@x.example" {
		t.Errorf("the refused mail's envelope leaked into the next: %+v", h.got[0])
	}
}

// When the smarthost drops the pool's sessions (a restart, its own idle
// timeout), the next mail goes out over a new connection, with no error.
func TestPoolReconnectsAfterTheSmarthostDropsIt(t *testing.T) {
	h, tr := startCountingHost(t)
	p := &SMTPPool{SMTPTransport: *tr, Size: 1}
	defer p.Close()
	if err := p.Send(context.Background(), 1, mailTo(1)); err != nil {
		t.Fatal(err)
	}
	h.dropAll()
	if err := p.Send(context.Background(), 2, mailTo(2)); err != nil {
		t.Fatalf("mail after the smarthost dropped the session: %v", err)
	}
	if opened, _, got := h.counts(); opened != 2 || got != 2 {
		t.Fatalf("%d connections, %d mails; want 2 and 2", opened, got)
	}
}

// A session unused for a minute is closed with QUIT; one used since is
// kept; after a pause the kept one is checked with RSET before it is used.
func TestPoolClosesIdleSessionsAfterAMinute(t *testing.T) {
	h, tr := startCountingHost(t)
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	p := &SMTPPool{SMTPTransport: *tr, Size: 1, Now: clock}
	defer p.Close()
	if err := p.Send(context.Background(), 1, mailTo(1)); err != nil {
		t.Fatal(err)
	}
	advance(30 * time.Second)
	p.closeIdle()
	if n := h.commands("QUIT"); n != 0 {
		t.Fatalf("QUIT after 30 s unused")
	}
	if err := p.Send(context.Background(), 2, mailTo(2)); err != nil {
		t.Fatal(err)
	}
	if opened, _, _ := h.counts(); opened != 1 || h.commands("RSET") != 1 {
		t.Fatalf("after a 30 s pause: %d connections, %d RSET; want the same session, checked once", opened, h.commands("RSET"))
	}
	advance(61 * time.Second)
	p.closeIdle()
	// QUIT was answered before closeIdle returned.
	if h.commands("QUIT") != 1 {
		t.Fatalf("no QUIT for the session idle a minute")
	}
	if err := p.Send(context.Background(), 3, mailTo(3)); err != nil {
		t.Fatal(err)
	}
	if opened, _, got := h.counts(); opened != 2 || got != 3 {
		t.Fatalf("%d connections, %d mails; want a new session for the third mail", opened, got)
	}
}
