package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/imapgw/imapgwtest"
	"github.com/ticketd/ticketd/oauth/oauthtest"
)

// xoauth2IMAPBlock is an [[imap]] entry that logs in with XOAUTH2 at srv.
func xoauth2IMAPBlock(addr string, srv *oauthtest.Server, tokenFile string) string {
	return fmt.Sprintf(`
[[imap]]
addr = %q
tls = "none"
username = %q
mailbox = "soporte@example.com"
auth = "xoauth2"
oauth2_token_url = %q
oauth2_device_auth_url = %q
oauth2_client_id = %q
oauth2_client_secret = %q
oauth2_refresh_token_file = %q
`, addr, imapgwtest.User, srv.TokenURL(), srv.DeviceAuthURL(), oauthtest.ClientID, oauthtest.ClientSecret, tokenFile)
}

// `ticketd oauth2 login` prints where to go and the code, waits while the
// person signs in there, and writes a refresh token the provider accepts.
func TestOAuth2DeviceLogin(t *testing.T) {
	srv := oauthtest.Start(t, time.Now)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "secrets", "imap.token")
	if err := os.Mkdir(filepath.Dir(tokenFile), 0o700); err != nil {
		t.Fatal(err)
	}
	_, cfg := writeConfig(t, daemontest.BaseConfig(dir)+xoauth2IMAPBlock("127.0.0.1:1", srv, tokenFile))

	cmd := exec.Command(ticketdBinary(t), "oauth2", "login", "-config", cfg, "--imap", "0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()

	// Read the prompt as the admin would: the URL, then the code.
	var uri, code string
	var printed []string
	deadline := time.After(20 * time.Second)
	for uri == "" || code == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("login ended before showing a code:\n%s\n%s", strings.Join(printed, "\n"), stderr.String())
			}
			printed = append(printed, l)
			l = strings.TrimSpace(l)
			switch {
			case strings.HasPrefix(l, "http://"):
				uri = l
			case uri != "" && l != "" && !strings.HasPrefix(l, "and enter"):
				code = l
			}
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("no code shown after 20s:\n%s", strings.Join(printed, "\n"))
		}
	}
	if !strings.Contains(strings.Join(printed, "\n"), "To sign in "+imapgwtest.User) {
		t.Errorf("the prompt does not name the account:\n%s", strings.Join(printed, "\n"))
	}

	// The person enters the code at the verification page.
	resp, err := http.PostForm(uri, url.Values{"user_code": {code}, "user": {imapgwtest.User}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("verification page answered %s for code %q", resp.Status, code)
	}
	// The command finishes by itself once it sees the sign-in.
	timeout := time.After(30 * time.Second)
	for open := true; open; {
		select {
		case l, ok := <-lines:
			printed = append(printed, l)
			open = ok
		case <-timeout:
			cmd.Process.Kill()
			t.Fatal("login did not finish 30s after the sign-in")
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("login: %v\n%s", err, stderr.String())
	}
	if out := strings.Join(printed, "\n"); !strings.Contains(out, "Signed in. The refresh token is in "+tokenFile) {
		t.Errorf("no closing line naming the file:\n%s", out)
	}

	b, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if rt := strings.TrimSpace(string(b)); !srv.RefreshTokenLive(rt) {
		t.Errorf("the file holds %q, not a refresh token the provider accepts", rt)
	}
	if fi, _ := os.Stat(tokenFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	for _, tok := range srv.Issued() {
		if strings.Contains(strings.Join(printed, "\n")+stderr.String(), tok) {
			t.Error("the command printed a token")
		}
	}
}

// Wrong uses of `oauth2 login` say what is wrong.
func TestOAuth2LoginMistakes(t *testing.T) {
	dir := t.TempDir()
	_, cfg := writeConfig(t, daemontest.BaseConfig(dir)+"\n[[imap]]\naddr = \"127.0.0.1:1\"\ntls = \"none\"\nusername = \"u\"\npassword = \"p\"\nmailbox = \"soporte@example.com\"\n")
	for _, tt := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"oauth2", "login", "-config", cfg}, exitUsage, "--imap N | --outbound"},
		{[]string{"oauth2", "login", "-config", cfg, "--imap", "0", "--outbound"}, exitUsage, "--imap N | --outbound"},
		{[]string{"oauth2", "-config", cfg, "--imap", "0"}, exitUsage, "usage: ticketd oauth2 login"},
		{[]string{"oauth2", "login", "-config", cfg, "--imap", "0"}, exitConfig, `imap[0] does not use XOAUTH2: set auth = "xoauth2"`},
		{[]string{"oauth2", "login", "-config", cfg, "--imap", "3"}, exitConfig, "has 1 [[imap]] entries"},
		{[]string{"oauth2", "login", "-config", cfg, "--outbound"}, exitConfig, "[outbound] does not use XOAUTH2"},
	} {
		r := runBin(t, "", nil, tt.args...)
		if r.code != tt.code || !strings.Contains(r.stderr, tt.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, r.code, r.stderr, tt.code, tt.msg)
		}
	}
}

// check-config --connect refreshes the token and logs in with XOAUTH2, to
// the IMAP server and to the smarthost; a revoked token is named with what
// to do.
func TestCheckConfigConnectXOAUTH2(t *testing.T) {
	srv := oauthtest.Start(t, time.Now)
	dv := imapgwtest.StartOAuth2(t, srv.IntrospectionURL())
	host := oauthtest.StartSmarthost(t, srv)
	dir := t.TempDir()
	imapFile, smtpFile := filepath.Join(dir, "imap.token"), filepath.Join(dir, "smtp.token")
	os.WriteFile(imapFile, []byte(srv.Grant(imapgwtest.User)), 0o600)
	os.WriteFile(smtpFile, []byte(srv.Grant("soporte@example.com")), 0o600)
	outbound := fmt.Sprintf(`[outbound]
transport = "smtp"
smtp_addr = %q
smtp_starttls = "none"
smtp_username = "soporte@example.com"
smtp_auth = "xoauth2"
oauth2_token_url = %q
oauth2_client_id = %q
oauth2_client_secret = %q
oauth2_refresh_token_file = %q
`, host.Addr, srv.TokenURL(), oauthtest.ClientID, oauthtest.ClientSecret, smtpFile)
	text := strings.Replace(daemontest.BaseConfig(dir), "[outbound]\ntransport = \"dir\"\n", outbound, 1) + xoauth2IMAPBlock(dv.Addr, srv, imapFile)
	_, cfg := writeConfig(t, text)

	r := runBin(t, "", nil, "check-config", "--connect", "-config", cfg)
	if r.code != 0 || !strings.Contains(r.stdout, "XOAUTH2 login ok, folder \"INBOX\"") || !strings.Contains(r.stdout, "outbound soporte@example.com@"+host.Addr+": XOAUTH2 login ok") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "XOAUTH2 (tokens from 127.0.0.1") {
		t.Errorf("the summary does not say the accounts use XOAUTH2:\n%s", r.stdout)
	}

	srv.Revoke(imapgwtest.User)
	r = runBin(t, "", nil, "check-config", "--connect", "-config", cfg)
	if r.code != exitFailure {
		t.Fatalf("exit %d with a revoked token, want %d\n%s", r.code, exitFailure, r.stdout)
	}
	for _, want := range []string{"imap[0] " + imapgwtest.User + "@" + dv.Addr + ": FAILED", "invalid_grant", "ticketd oauth2 login -config " + cfg + " --imap 0", imapFile} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "outbound soporte@example.com@"+host.Addr+": XOAUTH2 login ok") {
		t.Errorf("the smarthost check should still pass:\n%s", r.stdout)
	}
	for _, tok := range srv.Issued() {
		if strings.Contains(r.stdout+r.stderr, tok) {
			t.Error("check-config printed a token")
		}
	}
}
