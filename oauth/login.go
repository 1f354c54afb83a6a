package oauth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"golang.org/x/oauth2"

	"github.com/ticketd/ticketd/config"
)

// DevicePrompt tells the person at the terminal where to go and which code
// to enter; complete is the URL with the code filled in, when the provider
// gives one.
type DevicePrompt func(uri, code, complete string, expires time.Time)

// DeviceLogin gets a first refresh token with the OAuth2 device
// authorization grant (RFC 8628): it asks for a code, has prompt show it,
// waits while the person signs in elsewhere, and writes the refresh token
// to cfg.RefreshTokenFile (atomically, mode 0600). It gives up when ctx
// ends or the code expires.
func DeviceLogin(ctx context.Context, cfg config.OAuth2, client *http.Client, prompt DevicePrompt) error {
	if cfg.DeviceAuthURL == "" {
		return fmt.Errorf("oauth2: [%s] has no device authorization endpoint: set provider, or oauth2_device_auth_url", cfg.Key)
	}
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, client)
	src := New(cfg, Options{HTTPClient: client})
	da, err := src.conf.DeviceAuth(ctx)
	if err != nil {
		return fmt.Errorf("oauth2: ask %s for a device code: %w", cfg.DeviceAuthURL, describe(err))
	}
	prompt(da.VerificationURI, da.UserCode, da.VerificationURIComplete, da.Expiry)
	tok, err := src.conf.DeviceAccessToken(ctx, da)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return errors.New("oauth2: the code expired before the sign-in was finished; run the command again")
		}
		return fmt.Errorf("oauth2: sign-in not completed: %w", describe(err))
	}
	if tok.RefreshToken == "" {
		return errors.New("oauth2: the provider signed in but gave no refresh token; the scopes must allow offline access (Microsoft: offline_access)")
	}
	if err := SaveRefreshToken(cfg.RefreshTokenFile, tok.RefreshToken); err != nil {
		return fmt.Errorf("oauth2: write %s: %w", cfg.RefreshTokenFile, err)
	}
	return nil
}

// describe keeps an OAuth2 error's code and description and drops the raw
// body.
func describe(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return err
	}
	switch {
	case re.ErrorCode == "access_denied":
		return errors.New("access_denied: the sign-in was declined")
	case re.ErrorCode == "expired_token":
		return errors.New("expired_token: the code expired; run the command again")
	case re.ErrorCode != "" && re.ErrorDescription != "":
		return fmt.Errorf("%s: %s", re.ErrorCode, re.ErrorDescription)
	case re.ErrorCode != "":
		return errors.New(re.ErrorCode)
	case re.Response != nil:
		return errors.New(re.Response.Status)
	}
	return err
}

// LoginCommand is the command an admin runs to sign an account in again,
// with the config file's absolute path; which is "--imap N" or
// "--outbound".
func LoginCommand(configPath, which string) string {
	if abs, err := filepath.Abs(configPath); err == nil && configPath != "" {
		configPath = abs
	}
	return "ticketd oauth2 login -config " + configPath + " " + which
}

// BrowserLogin gets a first refresh token with the authorization code
// grant and PKCE on a loopback redirect (RFC 8252): prompt shows the URL
// to open in a browser on this machine (or through an ssh tunnel to
// listen); the provider sends the browser back to a one-shot listener on
// listen, and the code is exchanged for tokens. Google needs this: its
// device flow does not grant the Gmail scope.
func BrowserLogin(ctx context.Context, cfg config.OAuth2, listen string, client *http.Client, prompt func(authURL string)) error {
	if cfg.AuthURL == "" {
		return fmt.Errorf("oauth2: [%s] has no authorization endpoint: set provider, or oauth2_auth_url", cfg.Key)
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil || (host != "127.0.0.1" && host != "::1" && host != "localhost") {
		return fmt.Errorf("oauth2: --listen %q must be a loopback host:port such as 127.0.0.1:8765", listen)
	}
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("oauth2: listen for the browser's return: %w", err)
	}
	defer l.Close()
	conf := *New(cfg, Options{HTTPClient: client}).conf
	conf.Endpoint.AuthURL = cfg.AuthURL
	conf.RedirectURL = "http://" + l.Addr().String() + "/"
	verifier := oauth2.GenerateVerifier()
	state := oauth2.GenerateVerifier()
	opts := []oauth2.AuthCodeOption{oauth2.AccessTypeOffline, oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("prompt", "consent")}
	if cfg.Account != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", cfg.Account))
	}
	authURL := conf.AuthCodeURL(state, opts...)

	type answer struct {
		code string
		err  error
	}
	answers := make(chan answer, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		var a answer
		switch {
		case q.Get("state") != state:
			http.Error(w, "This sign-in is not the one ticketd started; run the command again.", http.StatusBadRequest)
			return
		case q.Get("error") != "":
			a.err = fmt.Errorf("oauth2: sign-in not completed: %s %s", q.Get("error"), q.Get("error_description"))
			fmt.Fprintln(w, "The sign-in did not complete; see the terminal.")
		case q.Get("code") == "":
			http.Error(w, "No authorization code in the answer.", http.StatusBadRequest)
			return
		default:
			a.code = q.Get("code")
			fmt.Fprintln(w, "Signed in. You can close this page; ticketd is saving the refresh token.")
		}
		select {
		case answers <- a:
		default:
		}
	})}
	go srv.Serve(l)
	defer srv.Close()
	prompt(authURL)

	var a answer
	select {
	case a = <-answers:
	case <-ctx.Done():
		return errors.New("oauth2: stopped before the browser came back")
	case <-time.After(10 * time.Minute):
		return errors.New("oauth2: no sign-in within 10 minutes; run the command again")
	}
	if a.err != nil {
		return a.err
	}
	tok, err := conf.Exchange(context.WithValue(ctx, oauth2.HTTPClient, client), a.code, oauth2.VerifierOption(verifier))
	if err != nil {
		return fmt.Errorf("oauth2: exchange the authorization code: %w", describe(err))
	}
	if tok.RefreshToken == "" {
		return errors.New("oauth2: the provider signed in but gave no refresh token; the scopes must allow offline access")
	}
	if err := SaveRefreshToken(cfg.RefreshTokenFile, tok.RefreshToken); err != nil {
		return fmt.Errorf("oauth2: write %s: %w", cfg.RefreshTokenFile, err)
	}
	return nil
}
