package oauth_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/oauth"
	"github.com/ticketd/ticketd/oauth/oauthtest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

type fixture struct {
	t     *testing.T
	clock *clock
	srv   *oauthtest.Server
	file  string
	logs  *syncBuffer
	src   *oauth.Source
}

const account = "soporte@example.com"

// newFixture starts the authorization server and a Source whose refresh
// token file holds a freshly granted token.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, clock: &clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}, logs: &syncBuffer{}}
	f.srv = oauthtest.Start(t, f.clock.Now)
	f.file = filepath.Join(t.TempDir(), "imap.token")
	f.put(f.srv.Grant(account))
	f.src = oauth.New(config.OAuth2{
		Key: "imap[0]", Account: account, TokenURL: f.srv.TokenURL(),
		ClientID: oauthtest.ClientID, ClientSecret: oauthtest.ClientSecret, RefreshTokenFile: f.file,
	}, oauth.Options{
		Now: f.clock.Now, Log: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Login: "ticketd oauth2 login -config /etc/ticketd/config.toml --imap 0", Waiting: "mail stays in the IMAP folder",
	})
	return f
}

// put writes a refresh token into the file as an admin would.
func (f *fixture) put(rt string) {
	f.t.Helper()
	if err := os.WriteFile(f.file, []byte(rt+"\n"), 0o600); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) fileToken() string {
	f.t.Helper()
	b, err := os.ReadFile(f.file)
	if err != nil {
		f.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func (f *fixture) token() string {
	f.t.Helper()
	at, err := f.src.Token(context.Background())
	if err != nil {
		f.t.Fatalf("token: %v\n%s", err, f.logs)
	}
	return at
}

// The provider replaces the refresh token at each refresh: the new one is
// in the file at once, alone, mode 0600, and the old one is dead.
func TestRotatedRefreshTokenIsWrittenBack(t *testing.T) {
	f := newFixture(t)
	first := f.fileToken()
	at := f.token()
	if _, ok := f.srv.Check(at); !ok {
		t.Fatal("the access token is not live at the server")
	}
	now := f.fileToken()
	if now == first || !f.srv.RefreshTokenLive(now) || f.srv.RefreshTokenLive(first) {
		t.Fatalf("file holds %q (was %q); want the rotated, live token", now, first)
	}
	fi, err := os.Stat(f.file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(f.file))
	for _, e := range entries {
		if e.Name() != filepath.Base(f.file) && e.Name() != filepath.Base(f.file)+".lock" {
			t.Errorf("%s left beside the token file", e.Name())
		}
	}
	for _, secret := range []string{first, now, at} {
		if strings.Contains(f.logs.String(), secret) {
			t.Errorf("a token is in the log:\n%s", f.logs)
		}
	}
}

// Without rotation the file is left as it was.
func TestUnrotatedRefreshTokenLeavesTheFile(t *testing.T) {
	f := newFixture(t)
	f.srv.SetRotation(false)
	before, _ := os.Stat(f.file)
	rt := f.fileToken()
	f.token()
	after, _ := os.Stat(f.file)
	if f.fileToken() != rt || !after.ModTime().Equal(before.ModTime()) {
		t.Error("the token file changed although the provider kept the refresh token")
	}
}

// An access token is reused while it lives and replaced before it
// expires: the server never sees a stale one.
func TestAccessTokenRefreshedBeforeItExpires(t *testing.T) {
	f := newFixture(t)
	at := f.token()
	f.clock.Advance(5 * time.Minute)
	if again := f.token(); again != at {
		t.Error("a live access token was not reused")
	}
	if n := f.srv.Stats().Refreshes; n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
	f.clock.Advance(3*time.Minute + 30*time.Second) // 1m30s of its 10m left
	next := f.token()
	if next == at {
		t.Fatal("the access token was not replaced close to its expiry")
	}
	if _, ok := f.srv.Check(at); !ok {
		t.Error("the old token had already expired: the refresh came too late")
	}
	for i := 0; i < 5; i++ {
		f.clock.Advance(9 * time.Minute)
		if _, ok := f.srv.Check(f.token()); !ok {
			t.Fatalf("round %d: Token returned a dead access token", i)
		}
	}
}

// A revoked refresh token is one clear log line naming the account and
// what to do; a new token put in the file works without a new Source.
func TestRefusedRefreshTokenThenNewOneInTheFile(t *testing.T) {
	f := newFixture(t)
	f.token()
	f.srv.Revoke(account)
	f.clock.Advance(11 * time.Minute)

	for i := 0; i < 4; i++ {
		_, err := f.src.Token(context.Background())
		var e *oauth.Error
		if !errors.As(err, &e) || !e.NeedsLogin || e.Code != "invalid_grant" {
			t.Fatalf("attempt %d: err = %v, want a refused refresh token", i, err)
		}
		for _, want := range []string{account, "invalid_grant", "ticketd oauth2 login -config /etc/ticketd/config.toml --imap 0", f.file} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
	}
	if n := f.srv.Stats().RefusedGrants; n != 1 {
		t.Errorf("the refused token was offered %d times within a minute, want once", n)
	}
	f.clock.Advance(2 * time.Minute)
	if _, err := f.src.Token(context.Background()); err == nil {
		t.Fatal("a revoked token worked")
	}
	if n := f.srv.Stats().RefusedGrants; n != 2 {
		t.Errorf("after a minute the token was offered %d times in all, want 2", n)
	}
	logs := f.logs.String()
	var lines []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "level=ERROR") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("%d error lines for one incident, want 1:\n%s", len(lines), logs)
	}
	for _, want := range []string{`msg="oauth2 login needed"`, "account=" + account, "invalid_grant", "oauth2 login", f.file, "mail stays in the IMAP folder"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("log line %q lacks %q", lines[0], want)
		}
	}

	f.put(f.srv.Grant(account))
	if _, ok := f.srv.Check(f.token()); !ok {
		t.Fatal("the new refresh token did not give a live access token")
	}
	if n := strings.Count(f.logs.String(), "oauth2 token refresh works again"); n != 1 {
		t.Errorf("recovery logged %d times, want 1", n)
	}
}

// Without a token file the error says which file and how to fill it.
func TestMissingRefreshTokenFile(t *testing.T) {
	f := newFixture(t)
	os.Remove(f.file)
	_, err := f.src.Token(context.Background())
	var e *oauth.Error
	if !errors.As(err, &e) || !e.NeedsLogin {
		t.Fatalf("err = %v, want one that needs a login", err)
	}
	if !strings.Contains(err.Error(), f.file) || !strings.Contains(err.Error(), "ticketd oauth2 login") {
		t.Errorf("error %q does not name the file and the login command", err)
	}
}

// A wrong client secret is not mistaken for a dead refresh token.
func TestWrongClientSecret(t *testing.T) {
	f := newFixture(t)
	src := oauth.New(config.OAuth2{
		Key: "outbound", Account: account, TokenURL: f.srv.TokenURL(),
		ClientID: oauthtest.ClientID, ClientSecret: "wrong", RefreshTokenFile: f.file,
	}, oauth.Options{Now: f.clock.Now, Log: slog.New(slog.NewTextHandler(f.logs, nil))})
	_, err := src.Token(context.Background())
	var e *oauth.Error
	if !errors.As(err, &e) || e.NeedsLogin || !strings.Contains(err.Error(), "oauth2_client_secret of [outbound]") {
		t.Fatalf("err = %v, want a client error naming the keys", err)
	}
}

// Two token sources on one file (serve, and a sweep from cron) refreshing
// at the same moments never offer a refresh token the other one already
// used up: each refresh reads the file under a lock.
func TestTwoSourcesShareOneRotatingFile(t *testing.T) {
	f := newFixture(t)
	other := oauth.New(config.OAuth2{
		Key: "imap[0]", Account: account, TokenURL: f.srv.TokenURL(),
		ClientID: oauthtest.ClientID, ClientSecret: oauthtest.ClientSecret, RefreshTokenFile: f.file,
	}, oauth.Options{Now: f.clock.Now, Log: slog.New(slog.NewTextHandler(f.logs, nil))})
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for _, src := range []*oauth.Source{f.src, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if _, err := src.Refresh(context.Background()); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("refresh: %v", err)
	}
	if n := f.srv.Stats().Refreshes; n != 40 {
		t.Errorf("%d refreshes, want 40", n)
	}
	if !f.srv.RefreshTokenLive(f.fileToken()) {
		t.Error("the file does not hold the live refresh token")
	}
}
