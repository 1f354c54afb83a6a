package daemon_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/oauth/oauthtest"
)

// Outgoing mail leaves through AUTH XOAUTH2: at first, after the access
// tokens expired, and — after a revoked refresh token kept it queued well
// past give_up_after — once a new token is in the file.
func TestOutboundThroughXOAUTH2(t *testing.T) {
	var now func() time.Time
	srv := oauthtest.Start(t, func() time.Time { return now() })
	host := oauthtest.StartSmarthost(t, srv)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "smtp.token")
	granted := srv.Grant("soporte@example.com")
	if err := os.WriteFile(tokenFile, []byte(granted+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	outbound := fmt.Sprintf(`[outbound]
transport = "smtp"
smtp_addr = %q
smtp_starttls = "none"
smtp_username = "soporte@example.com"
smtp_auth = "xoauth2"
oauth2_token_url = %q
oauth2_client_id = %q
oauth2_client_secret = "env:TEST_OAUTH2_SECRET"
oauth2_refresh_token_file = %q
`, host.Addr, srv.TokenURL(), oauthtest.ClientID, tokenFile)
	t.Setenv("TEST_OAUTH2_SECRET", oauthtest.ClientSecret)
	cfgText := daemontest.BaseConfig(dir)
	cfgText = strings.Replace(cfgText, "[outbound]\ntransport = \"dir\"\n", outbound, 1)
	cfgText = strings.Replace(cfgText, "[server]\n", "[server]\nadmins = [\"it@example.com\"]\n", 1)
	logs := &lockedBuffer{}
	e := daemontest.StartOwnSmarthost(t, cfgText, logs)
	now = e.Clock.Now

	send := func(from, subject string) {
		t.Helper()
		e.MustSend(from, []string{"soporte@example.com"}, mail("From: "+from, "To: soporte@example.com", "Subject: "+subject,
			"Message-ID: <"+strings.ReplaceAll(subject, " ", "-")+"@cliente.example>", "", "Hola."))
	}
	flush := func() []oauthtest.Mail {
		t.Helper()
		if _, err := e.D.Worker.RunOnce(context.Background()); err != nil {
			t.Fatalf("outbox: %v", err)
		}
		return host.Take()
	}
	to := func(ms []oauthtest.Mail, rcpt string) int {
		n := 0
		for _, m := range ms {
			for _, r := range m.Rcpts {
				if r == rcpt {
					n++
				}
			}
		}
		return n
	}

	// 1. The acknowledgement and both notifications go out, each session
	// logged in as the support account; the rotated token is saved.
	send("carla@cliente.example", "primera consulta")
	got := flush()
	if len(got) != 3 || to(got, "carla@cliente.example") != 1 || to(got, "ana@example.com") != 1 || to(got, "luis@example.com") != 1 {
		t.Fatalf("smarthost got %d mails, want ack + 2 notifications\n%s", len(got), logs)
	}
	for _, m := range got {
		if m.User != "soporte@example.com" || !strings.HasPrefix(m.From, "soporte+") {
			t.Errorf("mail from %s sent by login %q", m.From, m.User)
		}
	}
	if b, _ := os.ReadFile(tokenFile); strings.TrimSpace(string(b)) == granted || !srv.RefreshTokenLive(strings.TrimSpace(string(b))) {
		t.Error("the rotated refresh token was not saved")
	}

	// 2. Eleven minutes on, every access token issued so far is dead:
	// mail still goes, with a fresh one.
	e.Clock.Advance(11 * time.Minute)
	send("pedro@cliente.example", "segunda consulta")
	if got := flush(); to(got, "pedro@cliente.example") != 1 {
		t.Fatalf("after the tokens expired: %d mails to pedro\n%s", to(got, "pedro@cliente.example"), logs)
	}
	if st := srv.Stats(); st.StaleTokens != 0 || st.Refreshes != 2 {
		t.Errorf("stats %+v: want 2 refreshes and no stale token offered", st)
	}

	// 2b. The provider ends the access token early: the smarthost refuses
	// it, the mail is retried (not failed), and goes with a new token.
	// (A session kept open stays logged in; after more than a minute
	// unused it is closed, and the next mail logs in anew.)
	e.Clock.Advance(2 * time.Minute)
	srv.DropAccessTokens()
	send("marta@cliente.example", "consulta intermedia")
	first := flush() // the first login is refused; the next ones get a new token
	if len(first) != 2 {
		t.Fatalf("%d of 3 mails went out right after the token was dropped, want 2", len(first))
	}
	e.Clock.Advance(time.Minute)
	all := append(first, flush()...)
	if len(all) != 3 || to(all, "marta@cliente.example") != 1 {
		t.Fatalf("after a refused access token: %d mails, %d to marta\n%s", len(all), to(all, "marta@cliente.example"), logs)
	}
	if evs := eventTypes(t, e, 3); contains(evs, "delivery_failed") {
		t.Fatalf("a refused access token failed the mail: %v", evs)
	}

	// 3. The refresh token is revoked: mail stays queued, for days, with
	// one clear log line, and no delivery failure on the ticket.
	srv.Revoke("soporte@example.com")
	e.Clock.Advance(11 * time.Minute)
	send("rosa@cliente.example", "tercera consulta")
	for i := 0; i < 5; i++ {
		if got := flush(); len(got) != 0 {
			t.Fatalf("mail went out with a revoked token: %d", len(got))
		}
		e.Clock.Advance(24 * time.Hour)
	}
	if n := strings.Count(logs.String(), `msg="oauth2 login needed"`); n != 1 {
		t.Fatalf("%d 'login needed' lines, want 1:\n%s", n, logs)
	}
	for _, l := range strings.Split(logs.String(), "\n") {
		if !strings.Contains(l, "oauth2 login needed") {
			continue
		}
		for _, want := range []string{"level=ERROR", "account=soporte@example.com", "invalid_grant", "--outbound", tokenFile, "outgoing mail stays queued"} {
			if !strings.Contains(l, want) {
				t.Errorf("log line lacks %q: %s", want, l)
			}
		}
	}
	if evs := eventTypes(t, e, 4); contains(evs, "delivery_failed") {
		t.Fatalf("the queued acknowledgement was given up: %v", evs)
	}
	// The admins hear of it once: one alert queued, whatever the retries.
	var alerts []*ticketd.Outgoing
	e.D.Store.View(context.Background(), func(tx ticketd.Tx) error {
		due, err := tx.DueOutgoing(e.Clock.Now().Add(time.Hour), 100)
		for _, o := range due {
			if o.Kind == ticketd.KindAdminOAuth {
				alerts = append(alerts, o)
			}
		}
		return err
	})
	if len(alerts) != 1 || alerts[0].Rcpt != "it@example.com" || alerts[0].Params.OAuth.Account != "soporte@example.com" ||
		!strings.Contains(alerts[0].Params.OAuth.Todo, "--outbound") {
		t.Fatalf("admin alerts queued: %+v", alerts)
	}

	// 4. A new refresh token in the file: the waiting mail goes, no restart.
	if err := os.WriteFile(tokenFile, []byte(srv.Grant("soporte@example.com")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(5 * time.Minute)
	got = flush()
	if to(got, "rosa@cliente.example") != 1 || to(got, "it@example.com") != 1 || len(got) != 4 {
		t.Fatalf("after the new token: %d mails (%d to rosa, %d to the admin), want her ack, 2 notifications and the admins' alert\n%s",
			len(got), to(got, "rosa@cliente.example"), to(got, "it@example.com"), logs)
	}
	for _, m := range got {
		if slices.Contains(m.Rcpts, "it@example.com") && (!strings.Contains(string(m.Data), "OAuth2 sign-in needed for soporte@example.com") ||
			!strings.Contains(string(m.Data), "Auto-Submitted: auto-generated")) {
			t.Errorf("admin alert reads:\n%s", m.Data)
		}
	}
	if evs := eventTypes(t, e, 4); !contains(evs, "delivered") {
		t.Errorf("ticket #4 events %v: want delivered", evs)
	}
	for _, tok := range srv.Issued() {
		if strings.Contains(logs.String(), tok) {
			t.Fatal("a token is in the log")
		}
	}
}
