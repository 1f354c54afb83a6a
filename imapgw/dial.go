package imapgw

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/oauth"
)

// Steps of getting into a folder, as StepError names them.
const (
	StepDNS    = "dns"
	StepTCP    = "tcp"
	StepTLS    = "tls"
	StepAuth   = "auth"
	StepFolder = "folder"
	StepIO     = "connection" // a connection that worked and then failed
)

// StepError says which step of reaching an IMAP folder failed.
type StepError struct {
	Step string
	What string // the step in words, with the host, user or folder
	Err  error
}

func (e *StepError) Error() string { return "imap: " + e.What + ": " + e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

func stepErr(step, what string, err error) error {
	return &StepError{Step: step, What: what, Err: err}
}

// stepOf names the step an error belongs to; an unnamed one is a broken connection.
func stepOf(err error) string {
	var se *StepError
	if errors.As(err, &se) {
		return se.Step
	}
	return StepIO
}

const dialTimeout = 30 * time.Second

// dial connects to cfg.Addr with the configured TLS mode, waits for the
// greeting and logs in. Each failure names its step, so an admin reads
// "DNS lookup" or "login" rather than a bare network error.
func dial(ctx context.Context, cfg config.IMAP, tokens TokenSource, opts *imapclient.Options) (*imapclient.Client, error) {
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, stepErr(StepDNS, "address "+cfg.Addr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	if net.ParseIP(host) == nil {
		if _, err := net.DefaultResolver.LookupHost(ctx, host); err != nil {
			return nil, stepErr(StepDNS, "DNS lookup of "+host, err)
		}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, stepErr(StepTCP, "TCP connect to "+cfg.Addr, err)
	}
	// The deadline covers TLS and the greeting; imapclient sets its own later.
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	var c *imapclient.Client
	switch cfg.TLS {
	case "implicit":
		tc := tls.Client(conn, &tls.Config{ServerName: host, NextProtos: []string{"imap"}})
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, stepErr(StepTLS, "TLS handshake with "+cfg.Addr, err)
		}
		c = imapclient.New(tc, opts)
	case "starttls":
		o := *opts
		o.TLSConfig = &tls.Config{ServerName: host}
		c, err = imapclient.NewStartTLS(conn, &o)
		if err != nil {
			return nil, stepErr(StepTLS, "STARTTLS with "+cfg.Addr, err)
		}
	default: // "none", loopback only (config validation sees to that)
		c = imapclient.New(conn, opts)
	}
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, stepErr(StepTCP, "greeting from "+cfg.Addr, err)
	}
	if err := login(ctx, c, cfg, tokens); err != nil {
		c.Close()
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	return c, nil
}

// TokenSource gives the OAuth2 access tokens of an entry with auth =
// "xoauth2"; *oauth.Source is one.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
	// Invalidate is told of a token the server refused, so the next login
	// gets a new one.
	Invalidate(token string)
}

// login authenticates as auth asks: LOGIN with the password, or XOAUTH2
// with an access token.
func login(ctx context.Context, c *imapclient.Client, cfg config.IMAP, tokens TokenSource) error {
	if cfg.Auth == "xoauth2" {
		what := "XOAUTH2 login as " + cfg.Username
		if !c.Caps().Has(imap.Cap("AUTH=" + oauth.XOAUTH2)) {
			return stepErr(StepAuth, what, errors.New("the server does not offer AUTH=XOAUTH2"))
		}
		if tokens == nil {
			return stepErr(StepAuth, what, errors.New("no OAuth2 token source"))
		}
		tok, err := tokens.Token(ctx)
		if err != nil {
			return stepErr(StepAuth, "OAuth2 access token for "+cfg.Username, err)
		}
		if err := c.Authenticate(oauth.NewXOAUTH2Client(cfg.Username, tok)); err != nil {
			tokens.Invalidate(tok)
			return stepErr(StepAuth, what, err)
		}
		return nil
	}
	if c.Caps().Has(imap.CapLoginDisabled) {
		return stepErr(StepAuth, "login as "+cfg.Username, errors.New("the server refuses LOGIN on this connection (LOGINDISABLED); use tls = \"implicit\" or \"starttls\""))
	}
	if err := c.Login(cfg.Username, cfg.Password).Wait(); err != nil {
		return stepErr(StepAuth, "login as "+cfg.Username, err)
	}
	return nil
}

// Check connects to the server of one [[imap]] entry, logs in and opens
// its folder read-only, as `ticketd check-config --connect` does. The error
// is a *StepError naming what failed: DNS, TCP, TLS, auth or folder. On
// success it returns a one-line summary. tokens is needed with auth =
// "xoauth2".
func Check(ctx context.Context, cfg config.IMAP, tokens TokenSource) (string, error) {
	c, err := dial(ctx, cfg, tokens, &imapclient.Options{})
	if err != nil {
		return "", err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	sel, err := c.Select(cfg.Folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return "", stepErr(StepFolder, fmt.Sprintf("open folder %q", cfg.Folder), err)
	}
	idle := "IDLE"
	if !c.Caps().Has(imap.CapIdle) {
		idle = "no IDLE, polling every " + cfg.PollInterval.String()
	}
	how := "login"
	if cfg.Auth == "xoauth2" {
		how = "XOAUTH2 login"
	}
	summary := fmt.Sprintf("%s ok, folder %q holds %d messages, %s", how, cfg.Folder, sel.NumMessages, idle)
	for _, f := range []string{moveTarget(cfg.After), cfg.Quarantine} {
		if f == "" {
			continue
		}
		found, err := folderExists(c, f)
		if err != nil {
			return "", stepErr(StepFolder, fmt.Sprintf("look up folder %q", f), err)
		}
		if !found {
			summary += fmt.Sprintf(", folder %q will be created when first needed", f)
		}
	}
	c.Logout().Wait()
	return summary, nil
}

func folderExists(c *imapclient.Client, name string) (bool, error) {
	l, err := c.List("", name, nil).Collect()
	if err != nil {
		return false, err
	}
	for _, m := range l {
		if m.Mailbox == name && !hasAttr(m.Attrs, imap.MailboxAttrNoSelect) && !hasAttr(m.Attrs, imap.MailboxAttrNonExistent) {
			return true, nil
		}
	}
	return false, nil
}

func hasAttr(attrs []imap.MailboxAttr, a imap.MailboxAttr) bool {
	for _, x := range attrs {
		if strings.EqualFold(string(x), string(a)) {
			return true
		}
	}
	return false
}
