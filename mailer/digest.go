package mailer

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/emersion/go-message/mail"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/mailer/templates"
	"github.com/ticketd/ticketd/threading"
)

// composeNotice writes a mail to an agent about no one ticket: her list of
// waiting tickets (the tickets the row names, as they stand now, each with
// her own reply address), or how to open a ticket for a customer.
func (c *Composer) composeNotice(tx ticketd.Tx, o *ticketd.Outgoing) (*Composed, error) {
	cfg := c.Config()
	p := o.Params
	lang := p.Lang
	if lang == "" {
		lang = cfg.Server.Language
	}
	mbAddr, mbName := p.Mailbox, p.Mailbox
	if mb := cfg.Mailbox(p.Mailbox); mb != nil {
		mbAddr, mbName = mb.Address, mb.Name
	}
	d := templates.Data{Lang: lang, MailboxName: mbName, MailboxAddress: mbAddr, Location: cfg.Server.Location}
	if a := cfg.Agent(o.Rcpt); a != nil {
		d.AgentName = a.Name
	}
	for _, n := range p.Tickets {
		tk, err := tx.TicketByNumber(n)
		if errors.Is(err, ticketd.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("mailer: row %d ticket %d: %w", o.ID, n, err)
		}
		customer := tk.RequesterAddr
		if tk.RequesterName != "" {
			customer = tk.RequesterName + " <" + tk.RequesterAddr + ">"
		}
		d.Items = append(d.Items, templates.DigestItem{
			Number: tk.Number, Subject: tk.Subject, Customer: customer, Status: string(tk.Status),
			Age:          o.CreatedAt.Sub(tk.CreatedAt),
			ReplyAddress: threading.AgentAddress(tk.Mailbox, tk.Token, threading.AgentTag(c.Key, tk.Token, o.Rcpt)),
		})
	}
	rendered, err := c.Templates.Render(templates.Kind(o.Kind), d)
	if err != nil {
		return nil, fmt.Errorf("mailer: row %d render %s: %w", o.ID, o.Kind, err)
	}
	var h mail.Header
	h.SetDate(o.CreatedAt)
	h.SetAddressList("From", []*mail.Address{{Name: mbName, Address: mbAddr}})
	h.SetAddressList("To", []*mail.Address{{Name: d.AgentName, Address: o.Rcpt}})
	h.SetSubject(rendered.Subject)
	h.SetMessageID(o.MessageID)
	if p.InReplyTo != "" {
		h.SetMsgIDList("In-Reply-To", []string{p.InReplyTo})
	}
	if len(p.References) > 0 {
		h.SetMsgIDList("References", p.References)
	}
	h.Set("Auto-Submitted", "auto-generated")
	h.Set("X-Auto-Response-Suppress", "All")
	h.Set(threading.LoopHeader, mbAddr)
	var buf bytes.Buffer
	if _, err := writeBody(&buf, h, mailBody{Mail: rendered}); err != nil {
		return nil, fmt.Errorf("mailer: row %d compose: %w", o.ID, err)
	}
	return &Composed{From: mbAddr, Rcpts: []string{o.Rcpt}, Data: buf.Bytes()}, nil
}
