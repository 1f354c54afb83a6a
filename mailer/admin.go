package mailer

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/mailer/templates"
	"github.com/ticketd/ticketd/threading"
)

// composeAdmin writes an admin alert. Admins read logs and config in
// English, so the alert is English, plain text, and automatic (RFC 3834).
func (c *Composer) composeAdmin(o *ticketd.Outgoing) (*Composed, error) {
	cfg := c.Config()
	var subject, body strings.Builder
	var from string
	switch {
	case o.Params.OAuth != nil:
		a := o.Params.OAuth
		if len(cfg.Mailboxes) > 0 {
			from = cfg.Mailboxes[0].Address
		}
		fmt.Fprintf(&subject, "ticketd: OAuth2 sign-in needed for %s (%s)", a.Account, a.Key)
		fmt.Fprintf(&body, "The provider refused the OAuth2 refresh token of %s ([%s] in the config): %s.\n\n", a.Account, a.Key, a.Reason)
		fmt.Fprintf(&body, "To fix it: %s.\n", a.Todo)
		if a.Waiting != "" {
			fmt.Fprintf(&body, "Meanwhile %s; nothing is lost.\n", a.Waiting)
		}
		body.WriteString("ticketd reads the token file again before each attempt, so no restart is needed. You get this mail once per incident.\n")
		return c.adminMail(o, from, subject.String(), body.String())
	case o.Params.IMAP == nil:
		return nil, fmt.Errorf("mailer: row %d: an admin alert without its account", o.ID)
	}
	a := *o.Params.IMAP
	from = a.Mailbox
	if from == "" && len(cfg.Mailboxes) > 0 {
		from = cfg.Mailboxes[0].Address
	}
	loc := cfg.Server.Location
	if loc == nil {
		loc = time.UTC
	}
	when := a.Since.In(loc).Format("2006-01-02 15:04 MST")
	if a.Recovered {
		fmt.Fprintf(&subject, "ticketd: IMAP %s %s works again", a.Account, a.Folder)
		fmt.Fprintf(&body, "The IMAP account %s (folder %s, feeding %s) was read again at %s.\n\n"+
			"It had failed since %s. Mail that waited in the folder is being taken now.\n",
			a.Account, a.Folder, a.Mailbox, o.CreatedAt.In(loc).Format("2006-01-02 15:04 MST"), when)
	} else {
		fmt.Fprintf(&subject, "ticketd: IMAP %s %s failing since %s", a.Account, a.Folder, when)
		fmt.Fprintf(&body, "ticketd has not been able to read the IMAP account %s (folder %s, feeding %s) since %s.\n\n", a.Account, a.Folder, a.Mailbox, when)
		if a.Error != "" {
			fmt.Fprintf(&body, "Last error: %s\n\n", a.Error)
		}
		body.WriteString("Customers' mail to this mailbox waits at the provider until it works again; nothing is lost.\n" +
			"`ticketd check-config --connect` says which step fails (DNS, TCP, TLS, login, folder).\n" +
			"You get one more mail when it works again.\n")
	}
	return c.adminMail(o, from, subject.String(), body.String())
}

// adminMail writes one plain-text, automatic (RFC 3834) mail to an admin.
func (c *Composer) adminMail(o *ticketd.Outgoing, from, subject, text string) (*Composed, error) {
	var h mail.Header
	h.SetDate(o.CreatedAt)
	h.SetAddressList("From", []*mail.Address{{Name: "ticketd", Address: from}})
	h.SetAddressList("To", []*mail.Address{{Address: o.Rcpt}})
	h.SetSubject(subject)
	h.SetMessageID(o.MessageID)
	h.Set("Auto-Submitted", "auto-generated")
	h.Set("X-Auto-Response-Suppress", "All")
	h.Set(threading.LoopHeader, from)
	var buf bytes.Buffer
	if _, err := writeBody(&buf, h, mailBody{Mail: templates.Mail{Subject: subject, Text: text}}); err != nil {
		return nil, fmt.Errorf("mailer: row %d compose: %w", o.ID, err)
	}
	return &Composed{From: from, Rcpts: []string{o.Rcpt}, Data: buf.Bytes()}, nil
}
