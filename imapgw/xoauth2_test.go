package imapgw_test

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ticketd/ticketd/daemon"
	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/imapgw"
	"github.com/ticketd/ticketd/imapgw/imapgwtest"
	"github.com/ticketd/ticketd/oauth/oauthtest"
)

// oauthRig is a rig whose Dovecot takes only XOAUTH2 from the gateway,
// checking each token at the test's own authorization server.
type oauthRig struct {
	*rig
	srv       *oauthtest.Server
	tokenFile string
	granted   string // the refresh token the file started with
}

func newOAuthRig(t *testing.T) *oauthRig {
	t.Helper()
	var now func() time.Time
	srv := oauthtest.Start(t, func() time.Time { return now() })
	dv := imapgwtest.StartOAuth2(t, srv.IntrospectionURL())
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "imap.token")
	granted := srv.Grant(imapgwtest.User)
	if err := os.WriteFile(tokenFile, []byte(granted+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	section := fmt.Sprintf(`
[[imap]]
addr = %q
tls = "none"
username = %q
auth = "xoauth2"
oauth2_token_url = %q
oauth2_client_id = %q
oauth2_client_secret = %q
oauth2_refresh_token_file = %q
folder = "INBOX"
mailbox = "soporte@example.com"
after = "seen"
poll_interval = "1h"
`, dv.Addr, imapgwtest.User, srv.TokenURL(), oauthtest.ClientID, oauthtest.ClientSecret, tokenFile)
	e := daemontest.Start(t, daemontest.BaseConfig(dir)+section)
	e.Clock.Set(time.Now().UTC())
	now = e.Clock.Now
	r := &rig{t: t, e: e, dv: dv, imap: e.Config.IMAP[0], logs: &logBuffer{t: t}}
	r.desk = &countingDesk{next: e.D.Desk}
	return &oauthRig{rig: r, srv: srv, tokenFile: tokenFile, granted: granted}
}

// run starts the gateway with the token source serve would give it.
func (o *oauthRig) run() {
	o.t.Helper()
	log := slog.New(slog.NewTextHandler(o.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o.rig.run(imapgw.Options{Tokens: daemon.IMAPTokens(o.e.Config, 0, daemon.Options{Now: o.e.Clock.Now, Log: log})})
}

func (o *oauthRig) fileToken() string {
	o.t.Helper()
	b, err := os.ReadFile(o.tokenFile)
	if err != nil {
		o.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// noTokensLogged fails if any token the server ever issued reached the log.
func (o *oauthRig) noTokensLogged() {
	o.t.Helper()
	logs := o.logs.String()
	for _, tok := range o.srv.Issued() {
		if strings.Contains(logs, tok) {
			o.t.Fatalf("a token is in the log:\n%s", logs)
		}
	}
}

// Mail is taken through an XOAUTH2 login that Dovecot verified at the
// authorization server, and the rotated refresh token is in the file.
func TestXOAUTH2MailTakenAndRotatedTokenSaved(t *testing.T) {
	t.Parallel()
	o := newOAuthRig(t)
	o.run()
	o.dv.Append("INBOX", mails(newMail("x1", "la factura"), newMail("x2", "el envío"))...)

	got := o.waitTickets(2, 10*time.Second)
	if s := subjects(got); len(s) != 2 || s[0] != "la factura" {
		t.Errorf("tickets %q", s)
	}
	waitFor(t, 5*time.Second, func() bool {
		inbox := o.dv.Messages("INBOX")
		return len(inbox) == 2 && inbox[0].Seen() && inbox[1].Seen()
	}, func() string { return fmt.Sprintf("INBOX %+v", o.dv.Messages("INBOX")) })

	st := o.srv.Stats()
	if st.Introspections == 0 {
		t.Error("Dovecot never asked the introspection endpoint: the login was not XOAUTH2")
	}
	if rt := o.fileToken(); rt == o.granted || !o.srv.RefreshTokenLive(rt) || o.srv.RefreshTokenLive(o.granted) {
		t.Errorf("the file does not hold the rotated refresh token (rotated: %v, live: %v)", rt != o.granted, o.srv.RefreshTokenLive(rt))
	}
	fi, _ := os.Stat(o.tokenFile)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	o.noTokensLogged()
}

// Access tokens live ten minutes. After more than that, and a server
// restart that forces a new login, mail still flows: the gateway logged in
// with a fresh token, never with a stale one.
func TestXOAUTH2MailFlowsAfterAccessTokensExpire(t *testing.T) {
	t.Parallel()
	o := newOAuthRig(t)
	o.run()
	o.dv.Append("INBOX", mails(newMail("e1", "antes"))...)
	o.waitTickets(1, 10*time.Second)

	for i, subject := range []string{"después", "mucho después"} {
		o.e.Clock.Advance(11 * time.Minute)
		o.dv.Stop()
		o.dv.Start()
		o.dv.Append("INBOX", mails(newMail(fmt.Sprintf("e%d", i+2), subject))...)
		o.waitTickets(i+2, 20*time.Second)
	}
	st := o.srv.Stats()
	if st.StaleTokens != 0 {
		t.Errorf("Dovecot was offered %d expired access tokens", st.StaleTokens)
	}
	if st.Refreshes < 3 {
		t.Errorf("%d refreshes for three logins ten minutes apart, want 3", st.Refreshes)
	}
	o.noTokensLogged()
}

// A revoked refresh token: one clear log line naming the account and what
// to do, the new mail stays in the folder untouched, and once a new token
// is in the file the gateway carries on without a restart.
func TestXOAUTH2RevokedRefreshToken(t *testing.T) {
	t.Parallel()
	o := newOAuthRig(t)
	o.run()
	o.dv.Append("INBOX", mails(newMail("v1", "antes"))...)
	o.waitTickets(1, 10*time.Second)

	o.srv.Revoke(imapgwtest.User)
	o.e.Clock.Advance(11 * time.Minute)
	o.dv.Stop()
	o.dv.Start()
	o.dv.Append("INBOX", mails(newMail("v2", "durante"))...)

	// Several reconnects pass while the token is dead.
	waitFor(t, 10*time.Second, func() bool { return o.logs.count("imap waiting for a new OAuth2 refresh token") >= 4 }, o.logs.String)
	if n := o.logs.count("oauth2 login needed"); n != 1 {
		t.Fatalf("%d 'login needed' lines for one incident, want 1:\n%s", n, o.logs)
	}
	var line string
	for _, l := range strings.Split(o.logs.String(), "\n") {
		if strings.Contains(l, "oauth2 login needed") {
			line = l
		}
	}
	for _, want := range []string{"level=ERROR", "account=" + imapgwtest.User, "invalid_grant", "ticketd oauth2 login -config ", "--imap 0", o.tokenFile, "mail stays in the IMAP folder"} {
		if !strings.Contains(line, want) {
			t.Errorf("the log line lacks %q:\n%s", want, line)
		}
	}
	if n := len(o.tickets()); n != 1 {
		t.Errorf("%d tickets while the login is dead, want 1", n)
	}
	inbox := o.dv.Messages("INBOX")
	if len(inbox) != 2 || inbox[1].Seen() {
		t.Fatalf("the new mail must stay in INBOX, unseen: %+v", inbox)
	}

	// The admin signs in again (or pastes a token): no restart.
	if err := os.WriteFile(o.tokenFile, []byte(o.srv.Grant(imapgwtest.User)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got := o.waitTickets(2, 20*time.Second)
	if got[1].Subject != "durante" {
		t.Errorf("second ticket %q", got[1].Subject)
	}
	waitFor(t, 5*time.Second, func() bool { return o.logs.count("oauth2 token refresh works again") == 1 }, o.logs.String)
	o.noTokensLogged()
}
