// Package mailer composes ticketd's outgoing mail from outbox rows and
// delivers it: the outbox worker is the only code that talks to the outside.
package mailer

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	"time"

	"github.com/ticketd/ticketd"

	"github.com/emersion/go-message/mail"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/mailer/templates"
	"github.com/ticketd/ticketd/message"
	"github.com/ticketd/ticketd/threading"
)

// Composer turns an outbox row into a complete RFC 5322 message.
type Composer struct {
	Config    func() *config.Config
	Templates *templates.Set
	Key       []byte // HMAC key for agent reply addresses
	// SigningKey, when set, returns the key in force (it follows `ticketd
	// keys rotate`); Key is used when it is nil.
	SigningKey func() []byte
	// EightBit, when set, says whether the transport takes 8bit bodies
	// (RFC 6152) now: text that is not ASCII then goes as it is instead of
	// quoted-printable.
	EightBit func() bool
}

// Composed is a mail ready to send.
type Composed struct {
	From  string   // envelope sender
	Rcpts []string // envelope recipients
	Data  []byte
	// EightBit: a part of Data is 8bit, for a smarthost that offers
	// 8BITMIME only.
	EightBit bool
}

// Compose builds the mail for row o, reading what it needs in tx.
func (c *Composer) Compose(tx ticketd.Tx, o *ticketd.Outgoing) (*Composed, error) {
	if o.Kind == ticketd.KindAdminIMAP || o.Kind == ticketd.KindAdminOAuth {
		return c.composeAdmin(o)
	}
	if o.Kind == ticketd.KindDigest || o.Kind == ticketd.KindAgentHelp {
		return c.composeNotice(tx, o)
	}
	cfg := c.Config()
	params := o.Params
	tk, err := tx.TicketByNumber(o.Ticket)
	if err != nil {
		return nil, fmt.Errorf("mailer: row %d ticket %d: %w", o.ID, o.Ticket, err)
	}
	mbName, mbAddr := tk.Mailbox, tk.Mailbox
	if mb := cfg.Mailbox(tk.Mailbox); mb != nil {
		mbName, mbAddr = mb.Name, mb.Address
	}
	d := c.templateData(cfg, tk, params, mbName, mbAddr)
	var body mailBody
	if o.MessageRef != 0 {
		if body, err = c.messageData(tx, cfg, o, &d); err != nil {
			return nil, err
		}
	}
	customer := o.Kind.ToCustomer()
	fromName, replyTo := mbName, d.ReplyAddress
	if customer && o.Kind == ticketd.KindRelay && d.AgentName != "" {
		fromName = d.AgentName
	}
	if !customer {
		key := c.Key
		if c.SigningKey != nil {
			key = c.SigningKey()
		}
		if body.msg != nil {
			// Who wrote, as agents' clients show a sender: "Carla Ruiz via Soporte Example".
			fromName = viaName(c.writer(cfg, body.msg), mbName)
		}
		replyTo = threading.AgentAddress(mbAddr, tk.Token, threading.AgentTag(key, tk.Token, o.Rcpt))
		d.NoteAddress = threading.NoteAddress(mbAddr, tk.Token, threading.NoteTag(key, tk.Token, o.Rcpt))
		// Every mail about this ticket to this agent names one root first,
		// so her client threads them all.
		params.References = withRoot(threading.AgentRootID(key, tk.Token, o.Rcpt, cfg.Server.Hostname), params.References)
		d.Assignee = tk.Assignee
		if tk.Assignee != "" {
			d.AssigneeName = c.agentName(cfg, tk.Assignee)
		}
		d.Priority = string(tk.Priority)
		d.Action = params.Reason
	}
	rendered, err := c.Templates.Render(templates.Kind(o.Kind), d)
	if err != nil {
		return nil, fmt.Errorf("mailer: row %d render %s: %w", o.ID, o.Kind, err)
	}
	h, rcpts := headers(o, tk, params, mail.Address{Name: fromName, Address: mbAddr}, replyTo, rendered.Subject)
	body.Mail = rendered
	body.eightBit = c.EightBit != nil && c.EightBit()
	var buf bytes.Buffer
	buf.Grow(composedSize(body))
	eightBit, err := writeBody(&buf, h, body)
	if err != nil {
		return nil, fmt.Errorf("mailer: row %d compose: %w", o.ID, err)
	}
	return &Composed{From: d.ReplyAddress, Rcpts: rcpts, Data: buf.Bytes(), EightBit: eightBit}, nil
}

// templateData is what every kind of mail may show about the ticket.
func (c *Composer) templateData(cfg *config.Config, tk *ticketd.Ticket, params ticketd.Params, mbName, mbAddr string) templates.Data {
	lang := params.Lang
	if lang == "" {
		lang = cfg.Server.Language
	}
	customerAddr := threading.CustomerAddress(mbAddr, tk.Token)
	d := templates.Data{
		Lang:            lang,
		MailboxName:     mbName,
		MailboxAddress:  mbAddr,
		Number:          tk.Number,
		Subject:         tk.Subject,
		Status:          string(tk.Status),
		TrackingURL:     strings.TrimRight(cfg.Server.BaseURL, "/") + "/t/" + tk.Token,
		CustomerName:    tk.RequesterName,
		CustomerAddress: tk.RequesterAddr,
		Location:        cfg.Server.Location,
		SolvedWord:      templates.SolvedWord(lang),
		ReplyAddress:    customerAddr,
		BadLine:         params.BadLine,
		Reason:          params.Reason,
		Recipient:       params.Recipient,
	}
	if params.CloseAt != "" {
		if t, err := time.Parse(time.RFC3339, params.CloseAt); err == nil {
			d.CloseDate = t
		}
	}
	d.SolvedMailto = "mailto:" + customerAddr + "?subject=" + url.PathEscape(threading.TagSubject("Re: "+tk.Subject, tk.Number)) +
		"&body=" + url.PathEscape(d.SolvedWord)
	if params.Actor != "" {
		d.AgentName = c.agentName(cfg, params.Actor)
	}
	return d
}

// messageData fills d with the message row o is about, and returns the
// parts of the mail that come from it: its HTML and inline images where
// the kind shows them, and its attachments.
func (c *Composer) messageData(tx ticketd.Tx, cfg *config.Config, o *ticketd.Outgoing, d *templates.Data) (mailBody, error) {
	msg, err := tx.Message(o.MessageRef)
	if err != nil {
		return mailBody{}, fmt.Errorf("mailer: row %d message %d: %w", o.ID, o.MessageRef, err)
	}
	d.Text = msg.NewText
	if msg.CutFlagged && !o.Kind.ToCustomer() {
		d.Text, d.Flagged = msg.Text, true
	}
	d.From = msg.FromAddr
	for _, a := range msg.Attachments {
		d.Attachments = append(d.Attachments, templates.Attachment{Name: a.Filename, Size: a.Size})
	}
	if o.Kind == ticketd.KindRelay {
		d.AgentName = c.agentName(cfg, msg.FromAddr)
	}
	body := mailBody{msg: msg}
	if !showsMessage(o.Kind) {
		return body, nil
	}
	var p *message.Parsed
	if len(msg.Attachments) > 0 || richKinds[o.Kind] {
		if p, err = c.parsed(tx, msg); err != nil {
			return mailBody{}, err
		}
	}
	if richKinds[o.Kind] {
		if rb, ok := richBody(p, msg, o.Kind); ok {
			d.HTML = htmltemplate.HTML(rb.HTML)
			if o.Kind == ticketd.KindRelay {
				d.Text = rb.Text // both parts say the same
			}
			body.cids = rb.CIDs
		}
	}
	if len(msg.Attachments) > 0 {
		carried := msg
		if !o.Kind.ToCustomer() {
			// Agents get the first files; the rest are listed with links.
			cp := *msg
			cp.Attachments, d.Attachments, d.MoreAttachments = notifyAttachments(msg, d.TrackingURL)
			carried = &cp
		}
		body.inline, body.attachments = splitParts(p, carried, body.cids, d.HTML != "")
	}
	return body, nil
}

// showsMessage: the relay and the agents' mails carry the message's files.
func showsMessage(kind ticketd.OutboxKind) bool {
	return kind == ticketd.KindRelay || !kind.ToCustomer()
}

// headers writes the header of row o: addresses, threading, and the marks
// of automatic mail. rcpts are the envelope recipients.
func headers(o *ticketd.Outgoing, tk *ticketd.Ticket, params ticketd.Params, from mail.Address, replyTo, subject string) (mail.Header, []string) {
	var h mail.Header
	h.SetDate(o.CreatedAt)
	h.SetAddressList("From", []*mail.Address{&from})
	h.SetAddressList("To", []*mail.Address{{Address: o.Rcpt}})
	rcpts := []string{o.Rcpt}
	if o.Kind.ToCustomer() && len(params.Cc) > 0 {
		var cc []*mail.Address
		for _, a := range params.Cc {
			cc = append(cc, &mail.Address{Address: a})
			rcpts = append(rcpts, a)
		}
		h.SetAddressList("Cc", cc)
	}
	h.SetAddressList("Reply-To", []*mail.Address{{Name: from.Name, Address: replyTo}})
	h.SetSubject(subject)
	h.SetMessageID(o.MessageID)
	if params.InReplyTo != "" {
		h.SetMsgIDList("In-Reply-To", []string{params.InReplyTo})
	}
	if len(params.References) > 0 {
		h.SetMsgIDList("References", params.References)
	}
	if o.Kind != ticketd.KindRelay {
		// RFC 3834: our automatic mail must not be answered automatically.
		if o.Kind == ticketd.KindAck {
			h.Set("Auto-Submitted", "auto-replied")
		} else {
			h.Set("Auto-Submitted", "auto-generated")
		}
		h.Set("X-Auto-Response-Suppress", "All")
	}
	h.Set("X-Ticketd-Ticket", fmt.Sprint(tk.Number))
	// On everything, relays too: a copy that comes back is ours.
	h.Set(threading.LoopHeader, from.Address)
	return h, rcpts
}

// writer is the name a message's author goes by: an agent's configured
// name, else the name in the From header, else the address.
func (c *Composer) writer(cfg *config.Config, m *ticketd.Message) string {
	if m.Author == ticketd.AuthorAgent {
		return c.agentName(cfg, m.FromAddr)
	}
	if m.FromName != "" {
		return m.FromName
	}
	return m.FromAddr
}

func viaName(who, mailbox string) string {
	if who == "" {
		return mailbox
	}
	if mailbox == "" {
		return who
	}
	return who + " via " + mailbox
}

// withRoot puts root first in refs, once.
func withRoot(root string, refs []string) []string {
	out := []string{root}
	for _, r := range refs {
		if r != root {
			out = append(out, r)
		}
	}
	return out
}

func (c *Composer) agentName(cfg *config.Config, addr string) string {
	if a := cfg.Agent(addr); a != nil && a.Name != "" {
		return a.Name
	}
	return addr
}
