package intake

import (
	"fmt"
	"strings"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/lifecycle"
	"github.com/ticketd/ticketd/message"
	"github.com/ticketd/ticketd/threading"
)

// Mail from an agent to the support address itself (not to a ticket's
// address) is never a customer's request: it asks for her list of waiting
// tickets ("#lista" / "#list"), or forwards a customer's mail to open a
// ticket for that customer; anything else gets a short answer saying how.

// listWords are the commands that ask for the list.
var listWords = []string{"#lista", "#list"}

// isListRequest tells whether text's first line is #lista or #list.
func isListRequest(text string) bool {
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		line = strings.ToLower(strings.TrimSpace(line))
		if line == "" {
			continue
		}
		for _, w := range listWords {
			if line == w {
				return true
			}
		}
		return false
	}
	return false
}

// waitingLoader is what loading the list needs of a transaction.
type waitingLoader interface {
	TicketByNumber(n int64) (*ticketd.Ticket, error)
}

// loadWaiting reads the tickets waiting for agent in the mailboxes she
// serves, for her #lista.
func loadWaiting(tx any, agent string, boxes []string) ([]*ticketd.Ticket, error) {
	d, ok := tx.(ticketd.DeskTx)
	tl, ok2 := tx.(waitingLoader)
	if !ok || !ok2 {
		return nil, nil
	}
	es, err := d.DeskFolder(ticketd.WaitingFor(agent, boxes))
	if err != nil {
		return nil, err
	}
	out := make([]*ticketd.Ticket, 0, len(es))
	for _, e := range es {
		tk, err := tl.TicketByNumber(e.Ticket)
		if err != nil {
			return nil, err
		}
		out = append(out, tk)
	}
	return out, nil
}

// listReply answers an agent's #lista with her list, at once; no ticket
// is opened and nothing is acknowledged.
func (p *planner) listReply() {
	agent := strings.ToLower(p.m.From())
	o := lifecycle.DigestOf(p.m.Cfg, agent, p.mb.Address, p.f.Waiting, p.tg.idParts[0], p.m.Now)
	p.out.Outgoing = append(p.out.Outgoing, o)
	p.out.ListFor = agent
}

// forwarded is a customer's mail that an agent forwarded to the support
// address, to open a ticket for that customer.
type forwarded struct {
	FromAddr, FromName string
	Subject            string
	Text               string
	MessageID          string // the forwarded mail's own, when it came whole (message/rfc822)
	Above              string // the agent's own words: an internal note
	// Attachments are the outer mail's parts that belong to the customer's
	// mail (an inline forward carries the original's attachments).
	Attachments []message.Part
}

// fwdPrefixes are what mail clients put before a forwarded subject.
var fwdPrefixes = []string{"fwd:", "fw:", "rv:", "tr:", "enc:", "i:", "wg:", "doorst:"}

func stripFwd(subject string) string {
	s := strings.TrimSpace(subject)
	for changed := true; changed; {
		changed = false
		for _, p := range fwdPrefixes {
			if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
				s, changed = strings.TrimSpace(s[len(p):]), true
			}
		}
	}
	return s
}

// findForward reads the customer's mail out of a forward: attached whole
// (message/rfc822), or inline as the common mail clients write it. ours
// tells addresses that cannot be a customer (mailboxes, agents).
func findForward(p *message.Parsed, cut threading.Cut, ours func(string) bool) *forwarded {
	for _, at := range p.Attachments {
		if !strings.EqualFold(strings.TrimSpace(strings.Split(at.ContentType, ";")[0]), "message/rfc822") {
			continue
		}
		inner, err := message.Parse(at.Content)
		if err != nil || inner.From.Addr == "" || ours(inner.From.Addr) {
			continue
		}
		// The forwarded mail itself is kept as the customer's attachment:
		// its own attachments are inside it.
		fw := &forwarded{FromAddr: strings.ToLower(inner.From.Addr), FromName: inner.From.Name, Subject: inner.Subject,
			Text: inner.Text, MessageID: inner.MessageID, Above: strings.TrimSpace(cut.New), Attachments: []message.Part{at}}
		if fw.Subject == "" {
			fw.Subject = stripFwd(p.Subject)
		}
		return fw
	}
	in, ok := threading.ParseForward(p.Text)
	if !ok || ours(in.FromAddr) {
		return nil
	}
	fw := &forwarded{FromAddr: in.FromAddr, FromName: in.FromName, Subject: in.Subject, Text: in.Text, Above: in.Above,
		Attachments: p.Attachments}
	if fw.Subject == "" {
		fw.Subject = stripFwd(p.Subject)
	}
	return fw
}

// forwardedTicket opens a ticket for the customer whose mail an agent
// forwarded: the customer is its requester and gets the acknowledgement,
// the agent's own words are an internal note, and the agent has it.
func (p *planner) forwardedTicket() {
	m, fw := p.m, p.m.Forward
	agent := strings.ToLower(m.From())
	p.tk = &ticketd.Ticket{
		Token: m.NewToken, Mailbox: p.mb.Address, RequesterAddr: fw.FromAddr, RequesterName: fw.FromName,
		Subject: fw.Subject, Status: ticketd.StatusNuevo, Priority: ticketd.DefaultPriority, Assignee: agent,
		CreatedAt: m.Now, UpdatedAt: m.Now,
	}
	p.out.Ticket = p.tk
	cut := threading.CutQuote(fw.Text)
	newText := cut.New
	if strings.TrimSpace(newText) == "" {
		newText = fw.Text
	}
	msg := &ticketd.Message{
		Author: ticketd.AuthorCustomer, FromAddr: fw.FromAddr, FromName: fw.FromName, MessageID: fw.MessageID,
		Subject: fw.Subject, Text: fw.Text, NewText: newText, CutFlagged: cut.Flagged, CreatedAt: m.Now,
		ParseError: strings.Join(m.P.Problems, "; "),
	}
	for _, at := range fw.Attachments {
		msg.Attachments = append(msg.Attachments, ticketd.Attachment{PartIndex: at.Index, Filename: at.Filename, ContentType: at.ContentType, Size: int64(len(at.Content))})
	}
	p.out.Message = msg
	if fw.Above != "" {
		p.out.Note = &ticketd.Message{
			Author: ticketd.AuthorAgent, FromAddr: agent, FromName: m.P.From.Name, MessageID: m.P.MessageID,
			Subject: m.P.Subject, Text: m.P.Text, NewText: fw.Above, Internal: true, CreatedAt: m.Now,
		}
	}
	p.thread = ticketd.Thread{Root: fw.MessageID, Last: fw.MessageID}
	p.event(ticketd.EventCreated, agent, "forwarded by "+agent+" for "+fw.FromAddr)
	p.event(ticketd.EventMessageIn, fw.FromAddr, "forwarded by "+agent)
	if p.out.Note != nil {
		p.event(ticketd.EventNote, agent, "")
	}
	p.event(ticketd.EventAssigned, agent, agent)
	if limit := m.Cfg.Server.AutoreplyLimitPerHour; limit > 0 && p.f.AcksLastHour >= limit {
		p.out.AckSuppressed = true
		p.event(ticketd.EventAutoreplySuppressed, ticketd.ActorSystem, fmt.Sprintf("%d automatic answers to this sender in the last hour", p.f.AcksLastHour))
		return
	}
	p.send(ticketd.KindAck, fw.FromAddr, 0, p.thread.Reply(fw.MessageID))
}

// agentHelp answers any other mail an agent writes to the support address
// itself: it opens nothing, and tells her how to open a ticket for a
// customer. Automatic mail (her out-of-office) gets no answer, and at most
// autoreply_limit_per_hour answers go to one agent in an hour.
func (p *planner) agentHelp() {
	m := p.m
	p.out.ListFor = strings.ToLower(m.From())
	if m.Auto || m.Env.NoAutoReply {
		return
	}
	// A rule that sends her mail back to the support address must not
	// make a loop: answers are limited like acknowledgements.
	if limit := m.Cfg.Server.AutoreplyLimitPerHour; limit > 0 && p.f.HelpsLastHour >= limit {
		return
	}
	host := m.Cfg.Server.Hostname
	if host == "" {
		host = "ticketd.invalid"
	}
	params := ticketd.Params{Lang: p.lang(), Mailbox: p.mb.Address, Actor: ticketd.ActorSystem, InReplyTo: m.P.MessageID}
	if m.P.MessageID != "" {
		params.References = []string{m.P.MessageID}
	}
	p.out.Outgoing = append(p.out.Outgoing, ticketd.NewOutgoing(0, ticketd.KindAgentHelp, p.out.ListFor, 0,
		"tkd.help."+p.tg.idParts[0]+"@"+host, params, m.Now))
}
