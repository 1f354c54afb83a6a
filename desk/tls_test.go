package desk_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ticketd/ticketd/desk"
)

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tickets.example.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"tickets.example.com"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// nonLoopback returns an address of this machine that is not loopback.
func nonLoopback(t *testing.T) string {
	t.Helper()
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
			return ipn.IP.String()
		}
	}
	t.Skip("this machine has no non-loopback IPv4 address to test plain-text login refusal on")
	return ""
}

// From another machine, a password crosses the network only inside TLS.
func TestPlainLoginOnlyOnLoopbackOrTLS(t *testing.T) {
	e := startDesk(t, "")
	srv := desk.New(desk.Options{Store: e.D.Store, Config: e.D.Config, Key: e.D.Desk.Key, Now: e.Clock.Now,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), TLSConfig: &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}})
	l, err := net.Listen("tcp", net.JoinHostPort(nonLoopback(t), "0"))
	if err != nil {
		t.Skipf("cannot listen on a non-loopback address: %v", err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	c, err := imapclient.DialInsecure(l.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var ie *imap.Error
	if err := c.Login(ana, "secreto-ana").Wait(); !errors.As(err, &ie) || ie.Code != imap.ResponseCodePrivacyRequired {
		t.Fatalf("plain-text login from the network: %v, want NO [PRIVACYREQUIRED]", err)
	}
	s, err := imapclient.DialStartTLS(l.Addr().String(), &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	defer s.Close()
	if err := s.Login(ana, "secreto-ana").Wait(); err != nil {
		t.Fatalf("login after STARTTLS: %v", err)
	}
}

// A change made by another process (inject, sweep), which cannot Notify
// this one, reaches an idling client at the next look at the database.
func TestIdleSeesOtherProcesses(t *testing.T) {
	e := startDesk(t, "")
	srv := desk.New(desk.Options{Store: e.D.Store, Config: e.D.Config, Key: e.D.Desk.Key, Now: e.Clock.Now,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), PollInterval: 100 * time.Millisecond})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	exists := make(chan uint32, 8)
	c, err := imapclient.DialInsecure(l.Addr().String(), &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				exists <- *d.NumMessages
			}
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(ana, "secreto-ana").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	e.open(carla, "Carla Ruiz", "No puedo entrar", "Hola.")
	select {
	case n := <-exists:
		if n != 1 {
			t.Fatalf("EXISTS %d", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the idling client never heard of the new ticket")
	}
	idle.Close()
}
