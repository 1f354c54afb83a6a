package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ticketd/ticketd/daemon/daemontest"
)

func TestAgentsSetPassword(t *testing.T) {
	_, cfg := writeConfig(t, "")
	r := runBin(t, "pw\n", nil, "agents", "set-password", "carla@cliente.example", "-config", cfg)
	if r.code != exitNoUser || !strings.Contains(r.stderr, "carla@cliente.example is not an [[agents]] entry") {
		t.Fatalf("not an agent: exit %d, %q", r.code, r.stderr)
	}
	if r := runBin(t, "", nil, "agents", "set-password", "ana@example.com", "-config", cfg); r.code != exitDataErr {
		t.Fatalf("no password: exit %d %q", r.code, r.stderr)
	}
	if r := runBin(t, "\n", nil, "agents", "set-password", "ana@example.com", "-config", cfg); r.code != exitDataErr || !strings.Contains(r.stderr, "empty") {
		t.Fatalf("empty password: exit %d %q", r.code, r.stderr)
	}
	if r := runBin(t, "s3cret ana\n", nil, "agents", "set-password", "Ana@Example.com", "-config", cfg); r.code != 0 || !strings.Contains(r.stdout, "ana@example.com") {
		t.Fatalf("set-password: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
}

func writeCert(t *testing.T, dir string) (certFile, keyFile string) {
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

// serve with [agent_imap] runs the desk: an agent logs in over TLS
// (STARTTLS, or implicit TLS on its own port) with the password set by
// `agents set-password` and sees her INBOX.
func TestServeDesk(t *testing.T) {
	for _, mode := range []string{"starttls", "implicit"} {
		t.Run(mode, func(t *testing.T) { serveDesk(t, mode) })
	}
}

func serveDesk(t *testing.T, mode string) {
	dir := t.TempDir()
	smtpPort, imapPort := freePort(t), freePort(t)
	cert, key := writeCert(t, dir)
	cfgText := strings.Replace(daemontest.BaseConfig(dir), `listen = "127.0.0.1:0"`, fmt.Sprintf(`listen = "127.0.0.1:%d"`, smtpPort), 1) +
		fmt.Sprintf("\n[agent_imap]\nlisten = \"127.0.0.1:%d\"\ntls_cert_file = %q\ntls_key_file = %q\ntls = %q\n", imapPort, cert, key, mode)
	_, cfg := writeConfig(t, cfgText)
	if r := runBin(t, "s3cret ana\n", nil, "agents", "set-password", "ana@example.com", "-config", cfg); r.code != 0 {
		t.Fatalf("set-password: %d %s", r.code, r.stderr)
	}
	cmd := exec.Command(ticketdBinary(t), "serve", "-config", cfg)
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	smtpAddr, imapAddr := fmt.Sprintf("127.0.0.1:%d", smtpPort), fmt.Sprintf("127.0.0.1:%d", imapPort)
	waitFor(t, "the desk's listener", func() bool {
		c, err := net.Dial("tcp", imapAddr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	if err := daemontest.SendSMTP(smtpAddr, "carla@cliente.example", []string{"soporte@example.com"},
		"From: Carla Ruiz <carla@cliente.example>\r\nSubject: No puedo entrar\r\n\r\nhola\r\n"); err != nil {
		t.Fatal(err)
	}
	opts := &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}}
	dial := imapclient.DialStartTLS
	if mode == "implicit" {
		dial = imapclient.DialTLS
	}
	c, err := dial(imapAddr, opts)
	if err != nil {
		t.Fatalf("STARTTLS: %v\n%s", err, logs.String())
	}
	defer c.Close()
	if err := c.Login("ana@example.com", "wrong").Wait(); err == nil {
		t.Fatal("a wrong password logged in")
	}
	if err := c.Login("ana@example.com", "s3cret ana").Wait(); err != nil {
		t.Fatalf("login: %v", err)
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil || sel.NumMessages != 1 {
		t.Fatalf("INBOX: %v %+v", err, sel)
	}
	bufs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil || len(bufs) != 1 || bufs[0].Envelope.Subject != "[#1] No puedo entrar" {
		t.Fatalf("fetch: %v %+v", err, bufs)
	}
	c.Logout().Wait()
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve exited with %v\n%s", err, logs.String())
	}
}
