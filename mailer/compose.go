// Package mailer composes ticketd's outgoing mail from outbox rows and
// delivers it: the outbox worker is the only code that talks to the outside.
package mailer

import (
	"bytes"
	"fmt"
	"github.com/ticketd/ticketd"
	"net/url"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"
	"mime"

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
}

// Composed is a mail ready to send.
type Composed struct {
	From  string   // envelope sender
	Rcpts []string // envelope recipients
	Data  []byte
}

// Compose builds the mail for row o, reading what it needs in tx.
func (c *Composer) Compose(tx ticketd.Tx, o *ticketd.Outgoing) (*Composed, error) {
	if o.Kind == ticketd.KindDigest || o.Kind == ticketd.KindAgentHelp {
		return c.composeNotice(tx, o)
	}
	cfg := c.Config()
	params := o.Params
	tk, err := tx.TicketByNumber(o.Ticket)
	if err != nil {
		return nil, fmt.Errorf("mailer: row %d ticket %d: %w", o.ID, o.Ticket, err)
	}
	mb := cfg.Mailbox(tk.Mailbox)
	mbName, mbAddr := tk.Mailbox, tk.Mailbox
	if mb != nil {
		mbName, mbAddr = mb.Name, mb.Address
	}
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
	var msg *ticketd.Message
	var parts []message.Part
	if o.MessageRef != 0 {
		if msg, err = tx.Message(o.MessageRef); err != nil {
			return nil, fmt.Errorf("mailer: row %d message %d: %w", o.ID, o.MessageRef, err)
		}
		d.Text = msg.NewText
		if msg.CutFlagged && !o.Kind.ToCustomer() {
			d.Text, d.Flagged = msg.Text, true
		}
		d.From = msg.FromAddr
		for _, a := range msg.Attachments {
			d.Attachments = append(d.Attachments, templates.Attachment{Name: a.Filename, Size: a.Size})
		}
		if len(msg.Attachments) > 0 && (o.Kind == ticketd.KindRelay || !o.Kind.ToCustomer()) {
			if parts, err = c.attachmentBytes(tx, msg); err != nil {
				return nil, err
			}
		}
		if o.Kind == ticketd.KindRelay {
			d.AgentName = c.agentName(cfg, msg.FromAddr)
		}
	}
	customer := o.Kind.ToCustomer()
	var fromName, replyTo string
	if customer {
		fromName, replyTo = mbName, customerAddr
		if o.Kind == ticketd.KindRelay && d.AgentName != "" {
			fromName = d.AgentName
		}
	} else {
		fromName = mbName
		if msg != nil {
			// Who wrote, as agents' clients show a sender: "Carla Ruiz via Soporte Example".
			fromName = viaName(c.writer(cfg, msg), mbName)
		}
		replyTo = threading.AgentAddress(mbAddr, tk.Token, threading.AgentTag(c.Key, tk.Token, o.Rcpt))
		d.NoteAddress = threading.NoteAddress(mbAddr, tk.Token, threading.NoteTag(c.Key, tk.Token, o.Rcpt))
		// Every mail about this ticket to this agent names one root first,
		// so her client threads them all.
		params.References = withRoot(threading.AgentRootID(c.Key, tk.Token, o.Rcpt, cfg.Server.Hostname), params.References)
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

	var h mail.Header
	h.SetDate(o.CreatedAt)
	h.SetAddressList("From", []*mail.Address{{Name: fromName, Address: mbAddr}})
	h.SetAddressList("To", []*mail.Address{{Address: o.Rcpt}})
	rcpts := []string{o.Rcpt}
	if customer && len(params.Cc) > 0 {
		var cc []*mail.Address
		for _, a := range params.Cc {
			cc = append(cc, &mail.Address{Address: a})
			rcpts = append(rcpts, a)
		}
		h.SetAddressList("Cc", cc)
	}
	h.SetAddressList("Reply-To", []*mail.Address{{Name: fromName, Address: replyTo}})
	h.SetSubject(rendered.Subject)
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

	var buf bytes.Buffer
	if err := writeBody(&buf, h, rendered, parts); err != nil {
		return nil, fmt.Errorf("mailer: row %d compose: %w", o.ID, err)
	}
	return &Composed{From: customerAddr, Rcpts: rcpts, Data: buf.Bytes()}, nil
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

func (c *Composer) attachmentBytes(tx ticketd.Tx, m *ticketd.Message) ([]message.Part, error) {
	raw, err := tx.Raw(m.RawID)
	if err != nil {
		return nil, fmt.Errorf("mailer: raw of message %d: %w", m.ID, err)
	}
	p, err := message.Parse(raw.Data)
	if err != nil {
		return nil, fmt.Errorf("mailer: parse message %d: %w", m.ID, err)
	}
	var out []message.Part
	for _, a := range m.Attachments {
		if a.PartIndex < len(p.Attachments) {
			out = append(out, p.Attachments[a.PartIndex])
		}
	}
	return out, nil
}

// writeBody writes text and HTML as alternatives, and attachments after
// them; go-message does all the encoding, so no text can forge a header.
func writeBody(buf *bytes.Buffer, h mail.Header, m templates.Mail, parts []message.Part) error {
	if len(parts) == 0 {
		// No attachments: a plain multipart/alternative, no mixed wrapper.
		iw, err := mail.CreateInlineWriter(buf, h)
		if err != nil {
			return err
		}
		return writeAlternatives(iw, m)
	}
	w, err := mail.CreateWriter(buf, h)
	if err != nil {
		return err
	}
	iw, err := w.CreateInline()
	if err != nil {
		return err
	}
	if err := writeAlternatives(iw, m); err != nil {
		return err
	}
	for _, p := range parts {
		var ah mail.AttachmentHeader
		ct := p.ContentType
		if _, _, err := mime.ParseMediaType(ct); err != nil || ct == "" {
			ct = "application/octet-stream"
		}
		ah.SetContentType(ct, nil)
		ah.SetFilename(p.Filename)
		aw, err := w.CreateAttachment(ah)
		if err != nil {
			return err
		}
		if _, err := aw.Write(p.Content); err != nil {
			return err
		}
		if err := aw.Close(); err != nil {
			return err
		}
	}
	return w.Close()
}

func writeAlternatives(iw *mail.InlineWriter, m templates.Mail) error {
	for _, alt := range []struct{ ct, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		if alt.body == "" {
			continue
		}
		var ih mail.InlineHeader
		ih.SetContentType(alt.ct, map[string]string{"charset": "utf-8"})
		pw, err := iw.CreatePart(ih)
		if err != nil {
			return err
		}
		if _, err := pw.Write([]byte(alt.body)); err != nil {
			return err
		}
		if err := pw.Close(); err != nil {
			return err
		}
	}
	return iw.Close()
}
