package smtpd_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/ticketd/ticketd"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/intake"
	"github.com/ticketd/ticketd/smtpd"
)

func TestLMTPOnUnixSocketAndTCP(t *testing.T) {
	for _, kind := range []string{"unix", "tcp"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			listen := "127.0.0.1:0"
			if kind == "unix" {
				listen = "unix:" + filepath.Join(dir, "lmtp.sock")
			}
			cfg := strings.Replace(daemontest.BaseConfig(dir), `listen = "127.0.0.1:0"`, fmt.Sprintf("listen = \"127.0.0.1:0\"\nlmtp_listen = %q", listen), 1)
			e := daemontest.Start(t, cfg)
			conn, err := net.Dial(e.D.LMTPAddr.Network(), e.D.LMTPAddr.String())
			if err != nil {
				t.Fatal(err)
			}
			c := smtp.NewClientLMTP(conn)
			defer c.Close()
			if err := c.Hello("mx.example.com"); err != nil {
				t.Fatal(err)
			}
			if err := c.Mail("carla@cliente.example", nil); err != nil {
				t.Fatal(err)
			}
			if err := c.Rcpt("soporte@example.com", nil); err != nil {
				t.Fatal(err)
			}
			var se *smtp.SMTPError
			if err := c.Rcpt("nadie@example.com", nil); !errors.As(err, &se) || se.Code != 550 {
				t.Fatalf("unknown LMTP recipient: %v", err)
			}
			w, err := c.Data()
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(w, "From: carla@cliente.example\r\nTo: soporte@example.com\r\nSubject: Por LMTP\r\n\r\nHola.\r\n")
			statuses, err := w.CloseWithLMTPResponse()
			if err != nil {
				t.Fatalf("LMTP DATA: %v", err)
			}
			if r := statuses["soporte@example.com"]; r == nil {
				t.Fatalf("no per-recipient status: %v", statuses)
			}
			var tk *ticketd.Ticket
			e.D.Store.View(context.Background(), func(tx ticketd.Tx) error {
				tk, err = tx.TicketByNumber(1)
				return err
			})
			if err != nil || tk.Subject != "Por LMTP" {
				t.Fatalf("ticket from LMTP: %+v %v", tk, err)
			}
		})
	}
}

// A relay keeps idle connections open; shutdown must close them, while a
// transaction in flight finishes and is acknowledged.
func TestShutdownFinishesInFlightAndClosesIdle(t *testing.T) {
	e := daemontest.Start(t, "")
	addr := e.D.SMTPAddr.String()

	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	br := bufio.NewReader(idle)
	br.ReadString('\n') // greeting
	fmt.Fprintf(idle, "EHLO relay.example\r\n")
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(l, "250 ") {
			break
		}
	}

	busy, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busy.Hello("relay.example")
	busy.Mail("carla@cliente.example", nil)
	busy.Rcpt("soporte@example.com", nil)
	w, err := busy.Data()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "From: carla@cliente.example\r\nTo: soporte@example.com\r\nSubject: En vuelo\r\n\r\n")

	done := make(chan error, 1)
	start := time.Now()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		defer cancel()
		done <- e.D.SMTP.Shutdown(ctx)
	}()

	// The idle connection is closed by the server.
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadString('\n'); err == nil {
		// A 421 line is also fine; then the close must follow.
		if _, err := br.ReadString('\n'); err == nil {
			t.Fatalf("idle connection still open during shutdown")
		}
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("idle connection not closed within 5 s")
	}

	// The transaction in flight completes and is acknowledged.
	io.WriteString(w, "Este mensaje estaba en vuelo.\r\n")
	if err := w.Close(); err != nil {
		t.Fatalf("in-flight mail not acknowledged: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Fatalf("shutdown took %v", d)
	}
	var tk *ticketd.Ticket
	e.D.Store.View(context.Background(), func(tx ticketd.Tx) error {
		tk, err = tx.TicketByNumber(1)
		return err
	})
	if err != nil || tk.Subject != "En vuelo" {
		t.Fatalf("in-flight mail not stored: %v", err)
	}
	// New connections are no longer served.
	if c, err := smtp.Dial(addr); err == nil {
		c.Close()
		t.Fatalf("still accepting after shutdown")
	}
}

type failingDesk struct{}

func (failingDesk) CheckRecipient(string) error { return nil }
func (failingDesk) Deliver(context.Context, intake.Envelope, []byte) (intake.Result, error) {
	return intake.Result{}, errors.New("store: commit: disk I/O error at /var/lib/secret")
}

func TestInternalFailureAnswers451WithoutDetails(t *testing.T) {
	srv := smtpd.New(failingDesk{}, smtpd.Options{Hostname: "tickets.example.com", MaxMessageBytes: 1 << 20})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l, false)
	defer srv.Shutdown(context.Background())
	err = daemontest.SendSMTP(l.Addr().String(), "a@b.example", []string{"soporte@example.com"}, "From: a@b.example\r\nSubject: x\r\n\r\nx\r\n")
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 451 || se.EnhancedCode != (smtp.EnhancedCode{4, 3, 0}) {
		t.Fatalf("want 451 4.3.0, got %v", err)
	}
	if strings.Contains(se.Message, "disk") || strings.Contains(se.Message, "/var") {
		t.Fatalf("internal error leaked to the client: %q", se.Message)
	}
}

// Mail held in memory before commit is bounded across sessions: beyond the
// budget a sender is told to retry, and nothing is half-stored.
func TestMemoryBudgetDefersInsteadOfGrowing(t *testing.T) {
	desk := slowDesk{entered: make(chan struct{}, 1), release: make(chan struct{}, 1)}
	srv := smtpd.New(desk, smtpd.Options{Hostname: "tickets.example.com", MaxMessageBytes: 1 << 20, MemoryBudget: 600 << 10})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l, false)
	defer srv.Shutdown(context.Background())
	body := "From: a@b.example\r\nSubject: x\r\n\r\n" + strings.Repeat(strings.Repeat("x", 76)+"\r\n", 5000) // ~390 KB
	first := make(chan error, 1)
	go func() {
		first <- daemontest.SendSMTP(l.Addr().String(), "a@b.example", []string{"soporte@example.com"}, body)
	}()
	// The first mail waits in Deliver holding ~390 KB; a second one
	// would exceed 600 KB.
	select {
	case <-desk.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("first mail never reached Deliver")
	}
	err = daemontest.SendSMTP(l.Addr().String(), "a@b.example", []string{"soporte@example.com"}, body)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 452 {
		t.Fatalf("second mail over the budget: %v, want 452", err)
	}
	desk.release <- struct{}{}
	if err := <-first; err != nil {
		t.Fatalf("first mail: %v", err)
	}
}

// slowDesk holds each delivery until released.
type slowDesk struct{ entered, release chan struct{} }

func (slowDesk) CheckRecipient(string) error { return nil }
func (d slowDesk) Deliver(context.Context, intake.Envelope, []byte) (intake.Result, error) {
	d.entered <- struct{}{}
	<-d.release
	return intake.Result{}, nil
}

// With a certificate configured, SMTP offers STARTTLS, as mail servers
// expect on port 25, and mail sent over it is taken as usual.
func TestStartTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeSelfSigned(t, dir)
	cfg := strings.Replace(daemontest.BaseConfig(dir), "max_message_bytes = 5000000",
		fmt.Sprintf("max_message_bytes = 5000000\ntls_cert_file = %q\ntls_key_file = %q", certFile, keyFile), 1)
	e := daemontest.Start(t, cfg)
	conn, err := net.Dial("tcp", e.D.SMTPAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := smtp.NewClientStartTLS(conn, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	defer c.Close()
	if err := c.SendMail("carla@cliente.example", []string{"soporte@example.com"},
		strings.NewReader("From: carla@cliente.example\r\nSubject: Cifrado\r\n\r\nhola\r\n")); err != nil {
		t.Fatalf("send over TLS: %v", err)
	}
	if state, ok := c.TLSConnectionState(); !ok || !state.HandshakeComplete || state.Version < tls.VersionTLS12 {
		t.Fatalf("no TLS 1.2+ session: ok=%v version=%x", ok, state.Version)
	}
	var tk *ticketd.Ticket
	e.D.Store.View(context.Background(), func(tx ticketd.Tx) error {
		tk, err = tx.TicketByNumber(1)
		return err
	})
	if err != nil || tk.Subject != "Cifrado" {
		t.Fatalf("mail over STARTTLS not stored: %v", err)
	}
}

func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tickets.example.com"},
		DNSNames: []string{"tickets.example.com"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}

func TestInternationalizedSender(t *testing.T) {
	e := daemontest.Start(t, "")
	c, err := smtp.Dial(e.D.SMTPAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("josé@ejemplo.es", &smtp.MailOptions{UTF8: true}); err != nil {
		t.Fatalf("MAIL FROM with SMTPUTF8: %v", err)
	}
	if err := c.Rcpt("soporte@example.com", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "From: José Núñez <josé@ejemplo.es>\r\nSubject: Pedido\r\n\r\nHola.\r\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var tk *ticketd.Ticket
	e.D.Store.View(context.Background(), func(tx ticketd.Tx) error {
		tk, err = tx.TicketByNumber(1)
		return err
	})
	if err != nil || tk.RequesterAddr != "josé@ejemplo.es" || tk.RequesterName != "José Núñez" {
		t.Fatalf("ticket %+v, %v", tk, err)
	}
	sent := e.Flush()
	if got := daemontest.To(sent, "josé@ejemplo.es"); len(got) != 1 {
		t.Fatalf("no acknowledgement to the internationalized address: %d mails", len(sent))
	}
}
