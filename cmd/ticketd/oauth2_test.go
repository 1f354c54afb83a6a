package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
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

// login is a running `ticketd oauth2 login`, read line by line as the
// admin reads it.
type login struct {
	t       *testing.T
	cmd     *exec.Cmd
	stderr  bytes.Buffer
	lines   chan string
	printed []string
}

func startLogin(t *testing.T, args ...string) *login {
	t.Helper()
	l := &login{t: t, cmd: exec.Command(ticketdBinary(t), args...), lines: make(chan string)}
	stdout, err := l.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	l.cmd.Stderr = &l.stderr
	if err := l.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.cmd.Process.Kill() })
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			l.lines <- sc.Text()
		}
		close(l.lines)
	}()
	return l
}

// until reads lines until match returns true for one, which it returns.
func (l *login) until(match func(string) bool) string {
	l.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case line, ok := <-l.lines:
			if !ok {
				l.t.Fatalf("login ended early:\n%s\n%s", l.output(), l.stderr.String())
			}
			l.printed = append(l.printed, line)
			if match(strings.TrimSpace(line)) {
				return strings.TrimSpace(line)
			}
		case <-deadline:
			l.t.Fatalf("nothing expected printed after 20s:\n%s", l.output())
		}
	}
}

// finish waits for the command to end by itself and checks it succeeded.
func (l *login) finish() {
	l.t.Helper()
	timeout := time.After(30 * time.Second)
	for open := true; open; {
		select {
		case line, ok := <-l.lines:
			l.printed = append(l.printed, line)
			open = ok
		case <-timeout:
			l.t.Fatalf("login did not finish 30s after the sign-in:\n%s", l.output())
		}
	}
	if err := l.cmd.Wait(); err != nil {
		l.t.Fatalf("login: %v\n%s\n%s", err, l.output(), l.stderr.String())
	}
}

func (l *login) output() string { return strings.Join(l.printed, "\n") }

// checkTokenFile checks the file holds a refresh token srv accepts, mode
// 0600, and that no token was printed.
func checkTokenFile(t *testing.T, srv *oauthtest.Server, file string, l *login) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if rt := strings.TrimSpace(string(b)); !srv.RefreshTokenLive(rt) {
		t.Errorf("the file holds %q, not a refresh token the provider accepts", rt)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	if !strings.Contains(l.output(), "Signed in. The refresh token is in "+file) {
		t.Errorf("no closing line naming the file:\n%s", l.output())
	}
	for _, tok := range srv.Issued() {
		if strings.Contains(l.output()+l.stderr.String(), tok) {
			t.Error("the command printed a token")
		}
	}
}

// `ticketd oauth2 login` prints where to go and the code, waits while the
// person signs in there (RFC 8628), and writes a refresh token the
// provider accepts.
func TestOAuth2DeviceLogin(t *testing.T) {
	srv := oauthtest.Start(t, time.Now)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "secrets", "imap.token")
	if err := os.Mkdir(filepath.Dir(tokenFile), 0o700); err != nil {
		t.Fatal(err)
	}
	_, cfg := writeConfig(t, daemontest.BaseConfig(dir)+xoauth2IMAPBlock("127.0.0.1:1", srv, tokenFile))

	l := startLogin(t, "oauth2", "login", "-config", cfg, "--imap", "0")
	uri := l.until(func(s string) bool { return strings.HasPrefix(s, "http://") })
	l.until(func(s string) bool { return s == "and enter the code" })
	code := l.until(func(s string) bool { return s != "" })
	if !strings.Contains(l.output(), "To sign in "+imapgwtest.User) {
		t.Errorf("the prompt does not name the account:\n%s", l.output())
	}

	// The person enters the code at the verification page, elsewhere.
	resp, err := http.PostForm(uri, url.Values{"user_code": {code}, "user": {imapgwtest.User}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("verification page answered %s for code %q", resp.Status, code)
	}
	l.finish()
	checkTokenFile(t, srv, tokenFile, l)
}

// With --browser the command prints an authorization URL; the browser
// that signs in there is sent back to the command's loopback listener,
// which exchanges the code (with PKCE) and writes the refresh token.
func TestOAuth2BrowserLogin(t *testing.T) {
	srv := oauthtest.Start(t, time.Now)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "imap.token")
	block := xoauth2IMAPBlock("127.0.0.1:1", srv, tokenFile) + fmt.Sprintf("oauth2_auth_url = %q\n", srv.AuthURL())
	_, cfg := writeConfig(t, daemontest.BaseConfig(dir)+block)

	l := startLogin(t, "oauth2", "login", "-config", cfg, "--imap", "0", "--browser")
	authURL := l.until(func(s string) bool { return strings.HasPrefix(s, srv.AuthURL()+"?") })
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	if q := u.Query(); q.Get("login_hint") != imapgwtest.User || q.Get("code_challenge_method") != "S256" {
		t.Errorf("authorization URL %s lacks the login hint or PKCE", authURL)
	}
	// The browser: sign in as the user, follow the redirect home.
	q := u.Query()
	q.Set("user", imapgwtest.User)
	u.RawQuery = q.Encode()
	resp, err := http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "Signed in") {
		t.Fatalf("the page the browser lands on: %s %s", resp.Status, page)
	}
	l.finish()
	checkTokenFile(t, srv, tokenFile, l)
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

// serve gives an XOAUTH2 [[imap]] entry its token source: mail is taken,
// and the rotated refresh token is saved.
func TestServeTakesIMAPMailWithXOAUTH2(t *testing.T) {
	var now func() time.Time
	srv := oauthtest.Start(t, func() time.Time { return now() })
	dv := imapgwtest.StartOAuth2(t, srv.IntrospectionURL())
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "imap.token")
	granted := srv.Grant(imapgwtest.User)
	os.WriteFile(tokenFile, []byte(granted), 0o600)
	e := daemontest.Start(t, daemontest.BaseConfig(dir)+xoauth2IMAPBlock(dv.Addr, srv, tokenFile))
	e.Clock.Set(time.Now().UTC())
	now = e.Clock.Now
	if err := startIMAP(e.D, e.Config); err != nil {
		t.Fatal(err)
	}
	dv.Append("INBOX", imapgwtest.Mail{Raw: "From: Carla <carla@cliente.example>\r\nTo: soporte@example.com\r\n" +
		"Subject: Desde Microsoft 365\r\nMessage-ID: <oauth-1@cliente.example>\r\n\r\nHola.\r\n"})
	deadline := time.Now().Add(10 * time.Second)
	for len(daemontest.To(e.Flush(), "carla@cliente.example")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no acknowledgement 10s after the mail reached the XOAUTH2 mailbox")
		}
		time.Sleep(20 * time.Millisecond)
	}
	b, _ := os.ReadFile(tokenFile)
	if rt := strings.TrimSpace(string(b)); rt == granted || !srv.RefreshTokenLive(rt) {
		t.Error("serve did not save the rotated refresh token")
	}
}
