package oauth

import (
	"context"
	"errors"
	"fmt"
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
