package oauthtest

import (
	"io"
	"net"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Smarthost is a go-smtp server that offers only AUTH XOAUTH2, takes only
// live access tokens of its Server, and refuses MAIL before a login: a
// provider's submission service in small.
type Smarthost struct {
	Addr string
	mu   sync.Mutex
	got  []Mail
}

// Mail is one message the smarthost accepted, with the login it came under.
type Mail struct {
	User  string
	From  string
	Rcpts []string
	Data  []byte
}

// StartSmarthost serves on 127.0.0.1 until the test ends.
func StartSmarthost(t testing.TB, srv *Server) *Smarthost {
	t.Helper()
	h := &Smarthost{}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{h: h, srv: srv}, nil }))
	s.Domain = "smtp.provider.test"
	s.AllowInsecureAuth = true // loopback without TLS; a provider would need STARTTLS first
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.Addr = l.Addr().String()
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return h
}

// Take returns and forgets what was accepted.
func (h *Smarthost) Take() []Mail {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.got
	h.got = nil
	return out
}

type session struct {
	h    *Smarthost
	srv  *Server
	user string
	m    Mail
}

func (s *session) AuthMechanisms() []string { return []string{"XOAUTH2"} }
func (s *session) Auth(string) (sasl.Server, error) {
	return s.srv.SASLServer(func(user string) { s.user = user }), nil
}
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.user == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	s.m = Mail{User: s.user, From: from}
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.m.Rcpts = append(s.m.Rcpts, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.m.Data = b
	s.h.mu.Lock()
	s.h.got = append(s.h.got, s.m)
	s.h.mu.Unlock()
	return nil
}
func (s *session) Reset()        { s.m = Mail{} }
func (s *session) Logout() error { return nil }
