// Package oauthtest runs a small OAuth2 authorization server for tests, on
// loopback: a token endpoint that rotates refresh tokens and issues
// short-lived access tokens, token introspection (RFC 7662, which Dovecot's
// oauth2 passdb asks), the device authorization grant (RFC 8628) and the
// authorization code grant with PKCE on a loopback redirect. Its
// clock is the test's, so tokens expire when the test moves time on.
//
// It also gives go-smtp servers an XOAUTH2 mechanism that accepts only
// live access tokens.
package oauthtest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
)

// The client ticketd is registered as.
const (
	ClientID     = "ticketd-test-client"
	ClientSecret = "test-client-secret"
)

// DefaultAccessTTL is how long an access token lives unless changed.
const DefaultAccessTTL = 10 * time.Minute

// Server is one running authorization server.
type Server struct {
	URL string

	now func() time.Time
	mu  sync.Mutex
	ttl time.Duration
	// Rotation replaces the refresh token at every refresh (as Microsoft
	// does); the old one stops working at once.
	rotate  bool
	refresh map[string]string // refresh token -> user
	access  map[string]grant
	devices map[string]*device // device code -> state
	codes   map[string]authCode
	issued  []string
	stats   Stats
}

type grant struct {
	user   string
	expiry time.Time
}

type authCode struct {
	user, redirect, challenge string
}

type device struct {
	userCode string
	user     string // set once approved
	expiry   time.Time
}

// Stats count what the server saw.
type Stats struct {
	Refreshes      int // successful refresh_token grants
	RefusedGrants  int // refresh tokens refused (invalid_grant)
	Introspections int
	// StaleTokens counts access tokens presented after their expiry (or
	// unknown to the server): a client that refreshes in time shows none.
	StaleTokens int
}

// Start runs a server on 127.0.0.1 until the test ends. now is the clock
// that decides expiry (the test's).
func Start(t testing.TB, now func() time.Time) *Server {
	s := &Server{now: now, ttl: DefaultAccessTTL, rotate: true,
		refresh: map[string]string{}, access: map[string]grant{}, devices: map[string]*device{}, codes: map[string]authCode{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("POST /introspect", s.introspect)
	mux.HandleFunc("POST /devicecode", s.deviceCode)
	mux.HandleFunc("POST /device", s.approve)
	mux.HandleFunc("GET /authorize", s.authorize)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	s.URL = hs.URL
	return s
}

// TokenURL, DeviceAuthURL, AuthURL and IntrospectionURL are the endpoints.
func (s *Server) TokenURL() string         { return s.URL + "/token" }
func (s *Server) AuthURL() string          { return s.URL + "/authorize" }
func (s *Server) DeviceAuthURL() string    { return s.URL + "/devicecode" }
func (s *Server) IntrospectionURL() string { return s.URL + "/introspect" }

// SetRotation turns refresh-token rotation on or off.
func (s *Server) SetRotation(on bool) {
	s.mu.Lock()
	s.rotate = on
	s.mu.Unlock()
}

// SetAccessTTL changes the lifetime of access tokens issued from now on.
func (s *Server) SetAccessTTL(d time.Duration) {
	s.mu.Lock()
	s.ttl = d
	s.mu.Unlock()
}

// Grant issues a refresh token for user, as a finished sign-in would.
func (s *Server) Grant(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt := "rt-" + randomString()
	s.refresh[rt] = user
	s.issued = append(s.issued, rt)
	return rt
}

// Issued lists every refresh and access token the server ever gave out,
// for tests that check none of them was logged.
func (s *Server) Issued() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

// Revoke ends every refresh and access token of user (an admin revoking
// the app's sessions, or a password change).
func (s *Server) Revoke(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for rt, u := range s.refresh {
		if u == user {
			delete(s.refresh, rt)
		}
	}
	for at, g := range s.access {
		if g.user == user {
			delete(s.access, at)
		}
	}
}

// DropAccessTokens ends every access token before its time, leaving the
// refresh tokens alone (a provider revoking sessions it issued).
func (s *Server) DropAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.access)
}

// RefreshTokenLive reports whether rt would be accepted now.
func (s *Server) RefreshTokenLive(rt string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.refresh[rt]
	return ok
}

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Check returns the user of a live access token; a dead or unknown one
// counts as stale.
func (s *Server) Check(token string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.access[token]
	if !ok || !s.now().Before(g.expiry) {
		s.stats.StaleTokens++
		return "", false
	}
	return g.user, true
}

func (s *Server) clientOK(r *http.Request) bool {
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	return id == ClientID && secret == ClientSecret
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if !s.clientOK(r) {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client or wrong secret")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.PostForm.Get("grant_type") {
	case "refresh_token":
		rt := r.PostForm.Get("refresh_token")
		user, ok := s.refresh[rt]
		if !ok {
			s.stats.RefusedGrants++
			oauthError(w, http.StatusBadRequest, "invalid_grant", "The refresh token has been revoked or has expired.")
			return
		}
		s.stats.Refreshes++
		if s.rotate {
			delete(s.refresh, rt)
			rt = "rt-" + randomString()
			s.refresh[rt] = user
		}
		s.issue(w, user, rt)
	case "urn:ietf:params:oauth:grant-type:device_code":
		d, ok := s.devices[r.PostForm.Get("device_code")]
		switch {
		case !ok:
			oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown device code")
		case !s.now().Before(d.expiry):
			oauthError(w, http.StatusBadRequest, "expired_token", "the device code expired")
		case d.user == "":
			oauthError(w, http.StatusBadRequest, "authorization_pending", "")
		default:
			delete(s.devices, r.PostForm.Get("device_code"))
			rt := "rt-" + randomString()
			s.refresh[rt] = d.user
			s.issue(w, d.user, rt)
		}
	case "authorization_code":
		c, ok := s.codes[r.PostForm.Get("code")]
		delete(s.codes, r.PostForm.Get("code"))
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		switch {
		case !ok || c.redirect != r.PostForm.Get("redirect_uri"):
			oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown code or another redirect_uri")
		case base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge:
			oauthError(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed")
		default:
			rt := "rt-" + randomString()
			s.refresh[rt] = c.user
			s.issue(w, c.user, rt)
		}
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "")
	}
}

// authorize is the sign-in page of the authorization code grant, reduced
// to its outcome: the browser that opens it with user=NAME (the person
// signing in) is sent back to redirect_uri with a code. PKCE (S256) and
// offline access are required, as Google and Microsoft public clients do.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != ClientID || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" ||
		q.Get("code_challenge") == "" || q.Get("access_type") != "offline" || q.Get("user") == "" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Scheme != "http" || redirect.Hostname() != "127.0.0.1" {
		http.Error(w, "redirect_uri must be a loopback http URL", http.StatusBadRequest)
		return
	}
	code := randomString()
	s.mu.Lock()
	s.codes[code] = authCode{user: q.Get("user"), redirect: q.Get("redirect_uri"), challenge: q.Get("code_challenge")}
	s.mu.Unlock()
	back := redirect.Query()
	back.Set("code", code)
	back.Set("state", q.Get("state"))
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// issue answers with a new access token; s.mu is held.
func (s *Server) issue(w http.ResponseWriter, user, rt string) {
	at := "at-" + randomString()
	s.access[at] = grant{user: user, expiry: s.now().Add(s.ttl)}
	s.issued = append(s.issued, at, rt)
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": at, "token_type": "Bearer", "expires_in": int(s.ttl / time.Second),
		"refresh_token": rt, "scope": "mail",
	})
}

// introspect answers RFC 7662 for Dovecot: active with the user name, or
// only active=false.
func (s *Server) introspect(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	s.mu.Lock()
	s.stats.Introspections++
	s.mu.Unlock()
	user, ok := s.Check(r.PostForm.Get("token"))
	if !ok {
		writeJSON(w, http.StatusOK, map[string]any{"active": false})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"active": true, "username": user, "scope": "mail"})
}

// deviceCode starts a device authorization (RFC 8628 section 3.1).
func (s *Server) deviceCode(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("client_id") != ClientID {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	code := randomString()
	user := strings.ToUpper(code[:4] + "-" + code[4:8])
	s.devices[code] = &device{userCode: user, expiry: s.now().Add(10 * time.Minute)}
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code": code, "user_code": user, "verification_uri": s.URL + "/device",
		"expires_in": 600, "interval": 1,
	})
}

// approve is the sign-in page of the verification URI, reduced to what a
// person does there: enter the code (user_code) as some user (user).
func (s *Server) approve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := s.Approve(r.PostForm.Get("user_code"), r.PostForm.Get("user")); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Write([]byte("signed in; you may close this page\n"))
}

// Approve completes the sign-in of the device code whose user code is code.
func (s *Server) Approve(code, user string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.devices {
		if d.userCode == code {
			d.user = user
			return nil
		}
	}
	return errors.New("no such code")
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	body := map[string]any{"error": code}
	if desc != "" {
		body["error_description"] = desc
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func randomString() string {
	b := make([]byte, 15)
	rand.Read(b)
	return strings.ToLower(base32.StdEncoding.EncodeToString(b))
}

// SASLServer returns a server side of XOAUTH2 for go-smtp: it accepts a
// login only with a live access token of the same user, and calls
// loggedIn with the user then.
func (s *Server) SASLServer(loggedIn func(user string)) sasl.Server {
	return &xoauth2Server{s: s, loggedIn: loggedIn}
}

// ErrRefused is what a refused XOAUTH2 login ends with.
var ErrRefused = errors.New("invalid or expired access token")

type xoauth2Server struct {
	s        *Server
	loggedIn func(string)
	refused  bool
}

func (x *xoauth2Server) Next(response []byte) ([]byte, bool, error) {
	if x.refused {
		// The client's empty answer to the error challenge.
		return nil, true, ErrRefused
	}
	if response == nil {
		return []byte{}, false, nil // no initial response: ask for it
	}
	user, token, ok := parseXOAUTH2(string(response))
	if ok {
		if owner, live := x.s.Check(token); live && strings.EqualFold(owner, user) {
			x.loggedIn(user)
			return nil, true, nil
		}
	}
	x.refused = true
	return []byte(`{"status":"401","schemes":"bearer","scope":"https://mail.example/"}`), false, nil
}

func parseXOAUTH2(s string) (user, token string, ok bool) {
	for _, f := range strings.Split(s, "\x01") {
		if v, found := strings.CutPrefix(f, "user="); found {
			user = v
		}
		if v, found := strings.CutPrefix(f, "auth=Bearer "); found {
			token = v
		}
	}
	return user, token, user != "" && token != ""
}
