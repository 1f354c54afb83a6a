package mailer

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/ticketd/ticketd/oauth"
)

// Transport delivers one composed mail. id is the outbox row, so a
// delivery repeated after a crash can be recognised.
type Transport interface {
	Send(ctx context.Context, id int64, m *Composed) error
}

// PermanentError marks a failure that retrying cannot fix (a 5xx answer).
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// DirTransport writes each mail as DIR/<row>.eml, atomically: a mail is
// either absent or complete, and repeating a delivery rewrites the same file.
type DirTransport struct{ Dir string }

// FileName is the file a row's mail is written to.
func FileName(id int64) string { return fmt.Sprintf("%08d.eml", id) }

// Send implements Transport.
func (t DirTransport) Send(_ context.Context, id int64, m *Composed) error {
	if err := os.MkdirAll(t.Dir, 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(t.Dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	// The envelope is not in the mail itself; keep it where a reader (or
	// a script that forwards these files) can see it.
	var hdr bytes.Buffer
	fmt.Fprintf(&hdr, "X-Ticketd-Envelope-From: <%s>\r\n", m.From)
	for _, r := range m.Rcpts {
		fmt.Fprintf(&hdr, "X-Ticketd-Envelope-To: <%s>\r\n", r)
	}
	if _, err := tmp.Write(hdr.Bytes()); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(m.Data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(t.Dir, FileName(id))); err != nil {
		return err
	}
	if d, err := os.Open(t.Dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// TokenSource gives OAuth2 access tokens for AUTH XOAUTH2; *oauth.Source
// is one.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
	// Invalidate is told of a token the smarthost refused.
	Invalidate(token string)
}

// WaitError marks a failure on ticketd's side of the login (no usable
// OAuth2 token until an admin acts): the mail is not at fault, so it stays
// queued and is retried without ever being given up.
type WaitError struct{ Err error }

func (e *WaitError) Error() string { return e.Err.Error() }
func (e *WaitError) Unwrap() error { return e.Err }

// SMTPTransport sends through a smarthost.
type SMTPTransport struct {
	Addr     string
	Username string
	Password string
	// Tokens, when set, logs in as Username with AUTH XOAUTH2 instead of
	// PLAIN.
	Tokens   TokenSource
	StartTLS string // required | opportunistic | none
	Hostname string // our EHLO name
	// TLSConfig overrides the default (tests use it to trust their own CA).
	TLSConfig *tls.Config
	Timeout   time.Duration
}

// Send implements Transport over a connection of its own: connect, log
// in, send, QUIT. The daemon sends through an SMTPPool instead.
func (t SMTPTransport) Send(ctx context.Context, _ int64, m *Composed) error {
	c, err := t.open(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := transact(c, m); err != nil {
		return err
	}
	c.Quit()
	return nil
}

// open connects and logs in.
func (t SMTPTransport) open(ctx context.Context) (*smtp.Client, error) {
	timeout := t.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	c, err := t.connect(ctx, timeout)
	if err != nil {
		return nil, err
	}
	if err := t.auth(ctx, c); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// transact sends one mail over an open session: MAIL, RCPT per
// recipient, DATA.
func transact(c *smtp.Client, m *Composed) error {
	if ok, _ := c.Extension("8BITMIME"); m.EightBit && !ok {
		// Composed for a smarthost that offered 8BITMIME; this one does
		// not (it was replaced or reconfigured). The next attempt composes
		// the mail anew, for what the smarthost offers then.
		return &notSentError{errors.New("MAIL FROM: the mail was composed 8bit, and the smarthost no longer offers 8BITMIME; it is composed again for the next attempt")}
	}
	var opts *smtp.MailOptions
	if !isASCII(m.From) || slices.ContainsFunc(m.Rcpts, func(r string) bool { return !isASCII(r) }) {
		// An internationalized address needs SMTPUTF8 (RFC 6531).
		opts = &smtp.MailOptions{UTF8: true}
	}
	if err := c.Mail(m.From, opts); err != nil {
		if opts != nil {
			if ok, _ := c.Extension("SMTPUTF8"); !ok {
				// Retrying cannot help: this smarthost cannot carry the address.
				return &PermanentError{fmt.Errorf("MAIL FROM: the smarthost does not support SMTPUTF8, needed for an internationalized address: %w", err)}
			}
		}
		if !usable(err) {
			return &notSentError{classify("MAIL FROM", err)}
		}
		return classify("MAIL FROM", err)
	}
	for _, r := range m.Rcpts {
		if err := c.Rcpt(r, nil); err != nil {
			return classify("RCPT TO "+r, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return classify("DATA", err)
	}
	if _, err := w.Write(m.Data); err != nil {
		w.Close()
		return classify("DATA", err)
	}
	if err := w.Close(); err != nil {
		return classify("DATA", err)
	}
	return nil
}

// auth logs in as configured: XOAUTH2 with an access token, PLAIN with a
// password, or not at all.
func (t SMTPTransport) auth(ctx context.Context, c *smtp.Client) error {
	switch {
	case t.Tokens != nil:
		if _, mechs := c.Extension("AUTH"); !slices.ContainsFunc(strings.Fields(mechs), func(m string) bool { return strings.EqualFold(m, oauth.XOAUTH2) }) {
			return fmt.Errorf("AUTH XOAUTH2: the smarthost %s does not offer it (it offers %q)", t.Addr, mechs)
		}
		tok, err := t.Tokens.Token(ctx)
		if err != nil {
			var oe *oauth.Error
			if errors.As(err, &oe) && oe.NeedsLogin {
				return &WaitError{fmt.Errorf("AUTH XOAUTH2: %w", err)}
			}
			return fmt.Errorf("AUTH XOAUTH2: %w", err)
		}
		if err := c.Auth(oauth.NewXOAUTH2Client(t.Username, tok)); err != nil {
			// Never permanent: the next attempt comes with a fresh token.
			t.Tokens.Invalidate(tok)
			return fmt.Errorf("AUTH XOAUTH2 as %s: %w", t.Username, err)
		}
	case t.Username != "":
		if err := c.Auth(sasl.NewPlainClient("", t.Username, t.Password)); err != nil {
			return classify("AUTH", err)
		}
	}
	return nil
}

// Check connects and logs in as Send would, then quits without sending
// (`check-config --connect`).
func (t SMTPTransport) Check(ctx context.Context) error {
	c, err := t.open(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Quit()
}

// classify makes a 5xx answer permanent; everything else is retried.
func classify(stage string, err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code >= 500 {
		return &PermanentError{fmt.Errorf("%s: %w", stage, err)}
	}
	return fmt.Errorf("%s: %w", stage, err)
}

// connect opens a session, with STARTTLS as outbound.smtp_starttls asks.
// go-smtp upgrades only inside NewClientStartTLS, so "opportunistic" tries
// TLS first and falls back to a plain session when the server lacks it.
func (t SMTPTransport) connect(ctx context.Context, timeout time.Duration) (*smtp.Client, error) {
	dial := func() (net.Conn, error) {
		dialer := net.Dialer{Timeout: timeout}
		conn, err := dialer.DialContext(ctx, "tcp", t.Addr)
		if err != nil {
			return nil, fmt.Errorf("connect %s: %w", t.Addr, err)
		}
		conn.SetDeadline(time.Now().Add(timeout * 5))
		return conn, nil
	}
	if t.StartTLS != "none" {
		conn, err := dial()
		if err != nil {
			return nil, err
		}
		cfg := t.TLSConfig
		if cfg == nil {
			host, _, _ := net.SplitHostPort(t.Addr)
			cfg = &tls.Config{ServerName: host}
		}
		c, err := smtp.NewClientStartTLS(conn, cfg)
		if err == nil {
			return c, nil
		}
		if t.StartTLS == "required" || !strings.Contains(err.Error(), "doesn't support STARTTLS") {
			return nil, fmt.Errorf("STARTTLS with %s (outbound.smtp_starttls = %q): %w", t.Addr, t.StartTLS, err)
		}
	}
	conn, err := dial()
	if err != nil {
		return nil, err
	}
	c := smtp.NewClient(conn)
	if err := c.Hello(t.Hostname); err != nil {
		c.Close()
		return nil, classify("EHLO", err)
	}
	return c, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
