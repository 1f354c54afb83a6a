package mailer

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

func TestDirTransportRewritesTheSameFile(t *testing.T) {
	dir := t.TempDir()
	tr := DirTransport{Dir: dir}
	m := &Composed{From: "soporte+x@example.com", Rcpts: []string{"c@x.example"}, Data: []byte("Subject: hola\r\n\r\nhola\r\n")}
	for i := 0; i < 2; i++ {
		if err := tr.Send(context.Background(), 42, m); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "00000042.eml" {
		t.Fatalf("a repeated delivery must rewrite one file: %v", entries)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "00000042.eml"))
	if !bytes.Contains(b, []byte("X-Ticketd-Envelope-To: <c@x.example>\r\n")) || !bytes.HasSuffix(b, m.Data) {
		t.Fatalf("file content:\n%s", b)
	}
}

// smarthost is a real go-smtp server with STARTTLS and AUTH PLAIN.
type smarthost struct {
	addr     string
	mu       sync.Mutex
	got      []*Composed
	authUser string
	tls      bool
}

func startSmarthost(t *testing.T, offerTLS bool) (*smarthost, *tls.Config) {
	t.Helper()
	h := &smarthost{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &hostSession{h: h, c: c}, nil
	}))
	srv.Domain = "smarthost.test"
	var clientCfg *tls.Config
	if offerTLS {
		cert, pool := selfSigned(t)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		clientCfg = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	} else {
		srv.AllowInsecureAuth = true
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return h, clientCfg
}

type hostSession struct {
	h     *smarthost
	c     *smtp.Conn
	m     Composed
	authd bool
}

func (s *hostSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *hostSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != "ticketd" || pass != "s3cret" {
			return errors.New("bad credentials")
		}
		s.authd = true
		s.h.mu.Lock()
		s.h.authUser = user
		s.h.mu.Unlock()
		return nil
	}), nil
}
func (s *hostSession) Mail(from string, o *smtp.MailOptions) error {
	if !s.authd {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	s.m.From = from
	// What the mail was declared as: BODY=8BITMIME.
	s.m.EightBit = o != nil && o.Body == smtp.Body8BitMIME
	return nil
}
func (s *hostSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if to == "refused@x.example" {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	s.m.Rcpts = append(s.m.Rcpts, to)
	return nil
}
func (s *hostSession) Data(r io.Reader) error {
	b, _ := io.ReadAll(r)
	s.m.Data = b
	_, isTLS := s.c.TLSConnectionState()
	s.h.mu.Lock()
	s.h.got = append(s.h.got, &Composed{From: s.m.From, Rcpts: s.m.Rcpts, Data: b, EightBit: s.m.EightBit})
	s.h.tls = isTLS
	s.h.mu.Unlock()
	return nil
}
func (s *hostSession) Reset()        { s.m = Composed{} }
func (s *hostSession) Logout() error { return nil }

func TestSMTPTransportStartTLSAndAuth(t *testing.T) {
	h, tlsCfg := startSmarthost(t, true)
	tr := SMTPTransport{Addr: h.addr, Username: "ticketd", Password: "s3cret", StartTLS: "required", Hostname: "tickets.example.com", TLSConfig: tlsCfg}
	m := &Composed{From: "soporte+tok@example.com", Rcpts: []string{"c@x.example", "cc@x.example"}, Data: []byte("Subject: hola\r\n\r\nhola\r\n")}
	if err := tr.Send(context.Background(), 1, m); err != nil {
		t.Fatalf("send: %v", err)
	}
	if len(h.got) != 1 || !h.tls || h.authUser != "ticketd" || h.got[0].From != m.From || len(h.got[0].Rcpts) != 2 || !bytes.Equal(h.got[0].Data, m.Data) {
		t.Fatalf("smarthost got %+v tls=%v auth=%q", h.got, h.tls, h.authUser)
	}
	// A recipient the smarthost refuses for good is a permanent error.
	err := tr.Send(context.Background(), 2, &Composed{From: m.From, Rcpts: []string{"refused@x.example"}, Data: m.Data})
	var perm *PermanentError
	if !errors.As(err, &perm) {
		t.Fatalf("550 must be permanent, got %v", err)
	}
	// Wrong password: permanent too (a 5xx), and said clearly.
	bad := tr
	bad.Password = "nope"
	if err := bad.Send(context.Background(), 3, m); err == nil {
		t.Fatal("bad password accepted")
	}
}

func TestSMTPTransportStartTLSModes(t *testing.T) {
	plain, _ := startSmarthost(t, false)
	m := &Composed{From: "soporte@example.com", Rcpts: []string{"c@x.example"}, Data: []byte("Subject: x\r\n\r\nx\r\n")}
	// opportunistic falls back to plain text where TLS is not offered…
	op := SMTPTransport{Addr: plain.addr, Username: "ticketd", Password: "s3cret", StartTLS: "opportunistic", Hostname: "tickets.example.com"}
	if err := op.Send(context.Background(), 1, m); err != nil || plain.tls {
		t.Fatalf("opportunistic without TLS: %v (tls=%v)", err, plain.tls)
	}
	// …required refuses to send in clear.
	req := op
	req.StartTLS = "required"
	err := req.Send(context.Background(), 2, m)
	var perm *PermanentError
	if err == nil || errors.As(err, &perm) {
		t.Fatalf("required without TLS: %v, want a temporary error", err)
	}
}

func TestBackoff(t *testing.T) {
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute}
	for i, w := range want {
		if got := Backoff(i + 1); got != w {
			t.Errorf("Backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := Backoff(50); got != 2*time.Hour {
		t.Errorf("Backoff(50) = %v, want the 2 h cap", got)
	}
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smarthost.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}
