// Package oauth gets OAuth2 access tokens for the IMAP gateway and the
// smarthost (XOAUTH2). A Source turns the refresh token kept in a file into
// short-lived access tokens through the provider's token endpoint
// (golang.org/x/oauth2), refreshes them before they expire, and writes a
// rotated refresh token back to its file at once. Tokens are never logged.
//
// The file is read before every refresh, so an admin (or `ticketd oauth2
// login`) can put a new refresh token there while ticketd runs: the next
// attempt uses it, with no restart.
package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/ticketd/ticketd/config"
)

// Options are what a Source needs besides its account's settings.
type Options struct {
	Now func() time.Time
	Log *slog.Logger
	// HTTPClient talks to the token endpoint (default: a 30 s timeout).
	HTTPClient *http.Client
	// Login is the command that gets a new refresh token, named in the
	// log line and the error when the provider refuses the old one.
	Login string
	// Waiting says what happens to mail meanwhile ("mail stays in the IMAP
	// folder"), for the same log line.
	Waiting string
	// LoginNeeded, when set, is told once per incident that the provider
	// refused the refresh token (the daemon mails [server] admins).
	LoginNeeded func(*Error)
}

// Source hands out access tokens for one account. It is safe for
// concurrent use; one refresh runs at a time.
type Source struct {
	cfg  config.OAuth2
	conf *oauth2.Config
	opt  Options

	mu       sync.Mutex
	access   string
	expiry   time.Time
	lifetime time.Duration
	refresh  string // the newest refresh token known, in memory
	seen     string // what the file held when last read or written
	failing  string // the kind of failure last logged; "" when healthy
	// refused is a refresh token the provider refused (invalid_grant),
	// with when and why: until the file changes it is not offered again
	// more than once a minute, however many logins wait for it.
	refused   string
	refusedAt time.Time
	refusal   *Error
}

// retryRefused is how often a refused refresh token is offered again.
const retryRefused = time.Minute

// New returns a Source for cfg.
func New(cfg config.OAuth2, opt Options) *Source {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.HTTPClient == nil {
		opt.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	style := oauth2.AuthStyleAutoDetect
	if cfg.Provider != "" {
		// Microsoft's public clients and Google both take the client in
		// the form, not in a Basic header.
		style = oauth2.AuthStyleInParams
	}
	return &Source{
		cfg: cfg,
		opt: opt,
		conf: &oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Scopes:       cfg.Scopes,
			Endpoint: oauth2.Endpoint{
				TokenURL: cfg.TokenURL, DeviceAuthURL: cfg.DeviceAuthURL, AuthStyle: style,
			},
		},
	}
}

// Account is the user name the tokens are for.
func (s *Source) Account() string { return s.cfg.Account }

// Token returns an access token that stays valid for a while yet,
// refreshing it first when it is close to its expiry.
func (s *Source) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.access != "" && s.opt.Now().Before(s.expiry.Add(-margin(s.lifetime))) {
		return s.access, nil
	}
	if err := s.refreshLocked(ctx); err != nil {
		return "", err
	}
	return s.access, nil
}

// Invalidate forgets token after a server refused it (revoked early, say),
// so the next Token refreshes instead of offering it again.
func (s *Source) Invalidate(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if token != "" && token == s.access {
		s.access = ""
	}
}

// Refresh gets a new access token now, whatever the state of the old one,
// and returns how long it lives (`check-config --connect`).
func (s *Source) Refresh(ctx context.Context) (time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refreshLocked(ctx); err != nil {
		return 0, err
	}
	return s.lifetime, nil
}

// margin is how long before its expiry a token is replaced: a fifth of
// its life, at most five minutes, so a login never carries a token that
// dies on the way.
func margin(lifetime time.Duration) time.Duration {
	return min(lifetime/5, 5*time.Minute)
}

// defaultLifetime is assumed when the token endpoint gives no expires_in.
const defaultLifetime = time.Hour

func (s *Source) refreshLocked(ctx context.Context) error {
	s.access = ""
	// Without the lock (a read-only directory) a refresh still works; only
	// two processes refreshing at the same moment could collide.
	unlock, _ := lockFile(s.cfg.RefreshTokenFile)
	defer unlock()
	rt, err := s.current()
	if err != nil {
		s.failed(err)
		return err
	}
	start := s.opt.Now()
	if rt == s.refused && start.Sub(s.refusedAt) < retryRefused {
		s.failed(s.refusal)
		return s.refusal
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.opt.HTTPClient)
	tok, err := s.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
	if err != nil {
		e := s.refreshError(err)
		if e.NeedsLogin {
			s.refused, s.refusedAt, s.refusal = rt, start, e
		}
		s.failed(e)
		return e
	}
	s.refused, s.refusal = "", nil
	if tok.AccessToken == "" {
		err := &Error{Account: s.cfg.Account, Key: s.cfg.Key, Reason: "the token endpoint answered without an access token"}
		s.failed(err)
		return err
	}
	if tok.RefreshToken != "" && tok.RefreshToken != rt {
		// Rotated: the old one may stop working at any moment, so the new
		// one goes to disk before anything else happens.
		s.refresh = tok.RefreshToken
		if err := writeFileAtomic(s.cfg.RefreshTokenFile, tok.RefreshToken); err != nil {
			s.opt.Log.Error("oauth2 cannot save the new refresh token; keeping it in memory and writing it again at the next refresh",
				"account", s.cfg.Account, "config", s.cfg.Key, "file", s.cfg.RefreshTokenFile, "err", err)
		} else {
			s.seen = tok.RefreshToken
			s.opt.Log.Debug("oauth2 refresh token rotated and saved", "account", s.cfg.Account, "file", s.cfg.RefreshTokenFile)
		}
	}
	s.lifetime = defaultLifetime
	if tok.ExpiresIn > 0 {
		s.lifetime = time.Duration(tok.ExpiresIn) * time.Second
	}
	s.access, s.expiry = tok.AccessToken, start.Add(s.lifetime)
	if s.failing != "" {
		s.opt.Log.Info("oauth2 token refresh works again", "account", s.cfg.Account, "config", s.cfg.Key)
		s.failing = ""
	}
	s.opt.Log.Debug("oauth2 access token refreshed", "account", s.cfg.Account, "lifetime", s.lifetime.String())
	return nil
}

// current returns the refresh token to use: the file's when it changed
// since it was last seen (someone put a new one there), else the newest in
// memory.
func (s *Source) current() (string, error) {
	data, err := os.ReadFile(s.cfg.RefreshTokenFile)
	fromFile := strings.TrimSpace(string(data))
	switch {
	case err == nil && fromFile != "":
		if fromFile != s.seen {
			s.refresh, s.seen = fromFile, fromFile
		}
	case s.refresh != "":
		// A file that vanished or could not be rewritten: the token in
		// memory still works, and the next successful write restores it.
		if werr := writeFileAtomic(s.cfg.RefreshTokenFile, s.refresh); werr == nil {
			s.seen = s.refresh
		}
	default:
		reason := s.cfg.RefreshTokenFile + " is empty"
		if err != nil {
			reason = unwrapPathError(err)
		}
		return "", &Error{Account: s.cfg.Account, Key: s.cfg.Key, File: s.cfg.RefreshTokenFile, Login: s.opt.Login,
			Code: "no_refresh_token", Reason: "no refresh token: " + reason, NeedsLogin: true}
	}
	return s.refresh, nil
}

// refreshError turns what x/oauth2 returned into an Error. The server's
// body is left out: only its error code and description are shown.
func (s *Source) refreshError(err error) *Error {
	e := &Error{Account: s.cfg.Account, Key: s.cfg.Key, File: s.cfg.RefreshTokenFile, Login: s.opt.Login, Err: err}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		e.Reason = "cannot reach the token endpoint: " + err.Error()
		return e
	}
	e.Code, e.Err = re.ErrorCode, nil
	desc := re.ErrorDescription
	if i := strings.IndexAny(desc, "\r\n"); i >= 0 {
		desc = desc[:i] // Microsoft appends trace and correlation IDs on more lines
	}
	switch re.ErrorCode {
	case "invalid_grant":
		e.NeedsLogin = true
		e.Reason = "the provider refused the refresh token (invalid_grant: it was revoked, expired or replaced)"
	case "invalid_client", "unauthorized_client":
		e.Reason = fmt.Sprintf("the provider refused the client (%s); check oauth2_client_id and oauth2_client_secret of [%s]", re.ErrorCode, s.cfg.Key)
	case "":
		status := ""
		if re.Response != nil {
			status = re.Response.Status
		}
		e.Reason = "the token endpoint answered " + status
	default:
		e.Reason = "the token endpoint refused the refresh (" + re.ErrorCode + ")"
	}
	if desc != "" {
		e.Reason += ": " + desc
	}
	return e
}

// failed logs a failure once per incident: the first time, and again only
// when its kind changes. A refused refresh token is one Error line that
// names the account and what to do.
func (s *Source) failed(err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Account: s.cfg.Account, Key: s.cfg.Key, Reason: err.Error()}
	}
	kind := e.Code
	if kind == "" {
		kind = "unreachable"
	}
	if kind == s.failing {
		s.opt.Log.Debug("oauth2 token refresh still failing", "account", s.cfg.Account, "reason", e.Reason)
		return
	}
	s.failing = kind
	if e.NeedsLogin {
		attrs := []any{"account", s.cfg.Account, "config", s.cfg.Key, "reason", e.Reason, "todo", e.todo()}
		if s.opt.Waiting != "" {
			attrs = append(attrs, "meanwhile", s.opt.Waiting)
		}
		s.opt.Log.Error("oauth2 login needed", attrs...)
		if s.opt.LoginNeeded != nil {
			s.opt.LoginNeeded(e)
		}
		return
	}
	s.opt.Log.Warn("oauth2 token refresh failed; retrying", "account", s.cfg.Account, "config", s.cfg.Key, "reason", e.Reason)
}

// Error is a failed attempt to get an access token.
type Error struct {
	Account string
	Key     string // "imap[0]", "outbound"
	File    string
	Login   string
	// Code is the OAuth2 error code ("invalid_grant"), "no_refresh_token",
	// or "" when the endpoint could not be reached.
	Code   string
	Reason string
	// NeedsLogin is set when retrying cannot help until someone puts a new
	// refresh token in File.
	NeedsLogin bool
	Err        error
}

func (e *Error) Error() string {
	msg := "oauth2: " + e.Account + ": " + e.Reason
	if e.NeedsLogin {
		msg += "; " + e.todo()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Todo says what an admin does about e.
func (e *Error) Todo() string { return e.todo() }

func (e *Error) todo() string {
	s := "put a new refresh token in " + e.File + " (read again at the next attempt; no restart needed)"
	if e.Login != "" {
		s = "run `" + e.Login + "`, or " + s
	}
	return s
}

func unwrapPathError(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Path + ": " + pe.Err.Error()
	}
	return err.Error()
}
