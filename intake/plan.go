package intake

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/lifecycle"
	"github.com/ticketd/ticketd/message"
	"github.com/ticketd/ticketd/threading"
)

// Plan is everything one mail does to one mailbox, decided without the
// database: apply writes it in the mail's transaction.
type Plan struct {
	// Duplicate: the mail was stored before; nothing is written.
	Duplicate bool
	// Ticket is the ticket as the mail leaves it; Number 0 for a new one.
	Ticket *ticketd.Ticket
	// Save: the ticket's fields changed and are written back.
	Save bool
	// Message is the mail as stored on the ticket.
	Message *ticketd.Message
	// Note is a second message: the words of an agent who forwarded the
	// customer's mail, kept as an internal note.
	Note *ticketd.Message
	// Tags are tag changes, in the order the agent wrote them.
	Tags []TagChange
	// Accept names senders from outside the ticket an agent accepted.
	Accept []string
	// Events are the history entries, in order.
	Events []*ticketd.Event
	// Outgoing are the mails it causes. A MessageRef of RefThisMessage
	// stands for Message, whose id apply learns when it inserts it.
	Outgoing []*ticketd.Outgoing
	// AckSuppressed: a new ticket's acknowledgement was held back by the
	// per-sender limit. Unverified says why a mail on an agent path was
	// not taken as the agent's. Both are for the log.
	AckSuppressed bool
	Unverified    string
	// Outsider is the sender of a mail through the ticket's token who
	// takes no part in it; Quiet counts the notifications to agents held
	// back by the loop limits. Both for the log.
	Outsider string
	Quiet    int
	// ListFor is the agent whose mail to the support address the plan
	// answers (#lista, or how to open a ticket); Ticket is nil.
	ListFor string
}

// Limits that keep a loop through agents' mailboxes from growing: an
// automatic mail notifies agents only when the ticket got none in the
// last automaticQuiet, and no agent hears of one ticket more than
// maxNotificationsPerHour times an hour.
const (
	automaticQuiet          = 24 * time.Hour
	maxNotificationsPerHour = 20
)

// TagChange adds or removes one tag.
type TagChange struct {
	Tag    string
	Remove bool
}

// RefThisMessage, as an outgoing mail's MessageRef, is the plan's own message.
const RefThisMessage = -1

// plan decides what a mail does to one of its mailboxes. It is pure: the
// mail (with its precomputed tokens and ids) and the facts in, the plan out.
func plan(m *Mail, tg target, f *Facts) *Plan {
	if isDuplicate(m, tg, f) {
		return &Plan{Duplicate: true, Ticket: f.Ticket}
	}
	p := &planner{m: m, tg: tg, f: f, mb: tg.mailbox, cut: m.Cut.New, out: &Plan{}, thread: f.Thread}
	from := m.From()
	isAgent := containsFold(p.mb.Agents, from)
	tk := f.Ticket
	switch {
	case tk == nil && isAgent && f.ListRequest:
		p.listReply()
	case tk == nil && isAgent && m.Forward != nil && !m.Auto && m.AuthFailure == "":
		p.forwardedTicket()
	case tk == nil && isAgent:
		p.agentHelp()
	case tk == nil:
		p.newTicket()
	case tg.addr.Kind == threading.KindAgent || tg.addr.Kind == threading.KindNote:
		switch {
		case isAgent && tg.tagOK && tg.addr.Token == tk.Token && m.AuthFailure != "":
			p.notAuthenticated(m.AuthFailure)
		case isAgent && tg.tagOK && tg.addr.Token == tk.Token:
			p.agentMail(tg.addr.Kind == threading.KindNote)
		default:
			p.unverified(fmt.Sprintf("agent address used by %s", from))
		}
	case isAgent && !strings.EqualFold(from, tk.RequesterAddr):
		p.unverified(fmt.Sprintf("agent %s wrote without an agent reply address", from))
	case byToken(f.How) && !f.Addresses.Takes(from):
		p.outsider()
	default:
		p.customerReply()
	}
	return p.out
}

// byToken tells whether a threading rule found the ticket by its token
// alone (recipient address or Message-ID), which anyone who saw one of its
// mails may use: such a mail is the ticket's only when its sender took part.
func byToken(how string) bool { return how == "recipient token" || how == "message-id" }

// isDuplicate recognises a mail stored before (a retry after a lost 250,
// an IMAP re-scan) by Message-ID and content hash.
func isDuplicate(m *Mail, tg target, f *Facts) bool {
	for _, c := range f.Copies {
		if c.SHA256 != m.SHA256 {
			continue
		}
		if f.Ticket != nil && c.Ticket == f.Ticket.Number {
			return true
		}
		if f.Ticket == nil && strings.EqualFold(c.Mailbox, tg.mailbox.Address) {
			return true
		}
	}
	return false
}

// planner carries one plan through its steps.
type planner struct {
	m      *Mail
	tg     target
	f      *Facts
	mb     *config.Mailbox
	tk     *ticketd.Ticket // the plan's copy of the ticket
	cut    string          // the new text as stored (commands taken out)
	out    *Plan
	thread ticketd.Thread // the conversation, this mail included once stored
	ids    int            // idParts used
	told   map[string]int // notifications planned, per agent
}

func (p *planner) lang() string { return p.mb.Lang(p.m.Cfg) }

// message records the mail as a message of the ticket.
func (p *planner) message(author ticketd.Author, internal, unverified bool) {
	ps := p.m.P
	newText := p.cut
	if author == ticketd.AuthorAgent && strings.TrimSpace(newText) == "" {
		newText = strings.TrimSpace(ps.Text)
	}
	msg := &ticketd.Message{
		Author:     author,
		FromAddr:   p.m.From(),
		FromName:   ps.From.Name,
		MessageID:  ps.MessageID,
		Subject:    ps.Subject,
		Text:       ps.Text,
		NewText:    newText,
		CutFlagged: p.m.Cut.Flagged,
		Internal:   internal,
		Automatic:  p.m.Auto,
		Unverified: unverified,
		CreatedAt:  p.m.Now,
		ParseError: strings.Join(ps.Problems, "; "),
		HTML:       ps.HTML,
	}
	for _, l := range [][]message.Address{ps.To, ps.Cc} {
		for _, ad := range l {
			if ad.Addr != "" {
				msg.Participants = append(msg.Participants, ad.Addr)
			}
		}
	}
	for _, at := range ps.Attachments {
		msg.Attachments = append(msg.Attachments, ticketd.Attachment{
			PartIndex: at.Index, Filename: at.Filename, ContentType: at.ContentType, Size: int64(len(at.Content)),
			ContentID: at.ContentID, Inline: at.Inline, Content: at.Content,
		})
	}
	p.out.Message = msg
	// A customer's public mail becomes the latest of the conversation.
	if author == ticketd.AuthorCustomer && !internal && msg.MessageID != "" {
		if p.thread.Root == "" {
			p.thread.Root = msg.MessageID
		}
		p.thread.Last = msg.MessageID
	}
}

func (p *planner) event(typ ticketd.EventType, actor, detail string) {
	p.out.Events = append(p.out.Events, &ticketd.Event{Ticket: p.tk.Number, Type: typ, Actor: actor, At: p.m.Now, Detail: detail})
}

// status moves the ticket through lifecycle.Transition and records it.
func (p *planner) status(next ticketd.Status, actor string) {
	ev := lifecycle.Transition(p.tk, next, actor, p.m.Now)
	p.out.Events = append(p.out.Events, &ev)
}

// send adds one outgoing mail about the ticket. Mails to agents stop at
// maxNotificationsPerHour per agent and ticket.
func (p *planner) send(kind ticketd.OutboxKind, rcpt string, msgRef int64, params ticketd.Params) {
	if !kind.ToCustomer() {
		if p.told == nil {
			p.told = map[string]int{}
		}
		key := strings.ToLower(rcpt)
		if p.f.NotifiedLastHour[key]+p.told[key] >= maxNotificationsPerHour {
			p.out.Quiet++
			return
		}
		p.told[key]++
	}
	if params.Lang == "" {
		params.Lang = p.lang()
	}
	part := p.tg.idParts[p.ids]
	p.ids++
	id := threading.MessageIDWith(p.tk.Token, part, p.m.Cfg.Server.Hostname)
	p.out.Outgoing = append(p.out.Outgoing, ticketd.NewOutgoing(p.tk.Number, kind, rcpt, msgRef, id, params, p.m.Now))
}

// quietAutomatic tells whether an automatic mail should reach no agent:
// the ticket heard from a robot lately, and telling agents again is how a
// loop through their own auto-responders keeps going.
func (p *planner) quietAutomatic() bool {
	return p.m.Auto && p.f.RecentAutomatic > 0
}

// notifyAgents tells the assignee, or every agent of the mailbox when there
// is none, except the one who caused it.
func (p *planner) notifyAgents(kind ticketd.OutboxKind, except string) {
	if p.quietAutomatic() {
		p.out.Quiet += len(p.tk.AgentRecipients(p.mb.Agents, except))
		return
	}
	params := p.thread.Reply(p.m.P.MessageID)
	for _, rcpt := range p.tk.AgentRecipients(p.mb.Agents, except) {
		p.send(kind, rcpt, RefThisMessage, params)
	}
}

// notifyAll tells every agent of the mailbox except one.
func (p *planner) notifyAll(kind ticketd.OutboxKind, except string) {
	params := p.thread.Reply(p.m.P.MessageID)
	params.Actor = except
	for _, ag := range p.mb.Agents {
		if !strings.EqualFold(ag, except) {
			p.send(kind, strings.ToLower(ag), RefThisMessage, params)
		}
	}
}

// newTicket opens a ticket for a mail that threads nowhere.
func (p *planner) newTicket() {
	m := p.m
	from := m.From()
	p.tk = &ticketd.Ticket{
		Token:         m.NewToken,
		Mailbox:       p.mb.Address,
		RequesterAddr: from,
		RequesterName: m.P.From.Name,
		Subject:       m.P.Subject,
		Status:        ticketd.StatusNuevo,
		Priority:      ticketd.DefaultPriority,
		CreatedAt:     m.Now,
		UpdatedAt:     m.Now,
	}
	p.out.Ticket = p.tk
	p.message(ticketd.AuthorCustomer, false, false)
	// The first mail is the whole thread so far.
	p.thread = ticketd.Thread{Root: m.P.MessageID, Last: m.P.MessageID}
	p.event(ticketd.EventCreated, actorOf(from), "")
	p.event(ticketd.EventMessageIn, actorOf(from), p.autoDetail())
	p.maybeAck()
	p.notifyAgents(ticketd.KindAgentNew, "")
}

// maybeAck acknowledges a new ticket once, never to automatic mail, our own
// addresses or the null sender, and at most a few times per sender per hour.
func (p *planner) maybeAck() {
	m := p.m
	from := m.From()
	if m.Auto || m.Env.NoAutoReply || from == "" || m.Env.From == "" {
		return
	}
	if _, ours := threading.ParseRecipient(from, m.Cfg.MailboxAddresses()); ours {
		return
	}
	if limit := m.Cfg.Server.AutoreplyLimitPerHour; limit > 0 && p.f.AcksLastHour >= limit {
		p.out.AckSuppressed = true
		p.event(ticketd.EventAutoreplySuppressed, ticketd.ActorSystem, fmt.Sprintf("%d automatic answers to this sender in the last hour", p.f.AcksLastHour))
		return
	}
	p.send(ticketd.KindAck, from, 0, p.thread.Reply(m.P.MessageID))
}

// existing starts a plan on the ticket the mail threads into.
func (p *planner) existing() {
	tk := *p.f.Ticket
	p.tk = &tk
	p.out.Ticket = p.tk
	p.out.Save = true
}

// customerReply adds a customer's (or a third party's) mail to its ticket.
func (p *planner) customerReply() {
	p.existing()
	m := p.m
	from := m.From()
	p.message(ticketd.AuthorCustomer, false, false)
	p.tk.UpdatedAt = m.Now
	p.event(ticketd.EventMessageIn, actorOf(from), joinDetail(p.autoDetail(), "threaded by "+p.f.How))
	kind := ticketd.KindAgentReply
	if m.Auto {
		p.notifyAgents(kind, "")
		return
	}
	if p.tk.Status != ticketd.StatusCerrado && lifecycle.IsSolvedReply(m.Cut.New) {
		// "resuelto": the customer closes the ticket and is thanked.
		p.status(ticketd.StatusCerrado, actorOf(from))
		p.event(ticketd.EventClosed, actorOf(from), "the customer replied that it is solved")
		p.send(ticketd.KindSolvedThanks, p.tk.RequesterAddr, 0, p.thread.Reply(m.P.MessageID))
		p.notifyAgents(kind, "")
		return
	}
	next, reopened := lifecycle.AfterCustomerReply(p.tk.Status)
	if next != p.tk.Status {
		p.status(next, actorOf(from))
	}
	if reopened {
		kind = ticketd.KindAgentReopened
		p.event(ticketd.EventReopened, actorOf(from), "")
	}
	p.notifyAgents(kind, "")
}

// outsider keeps a mail that came through the ticket's token from someone
// who takes no part in it (a leaked address, a forward): agents see it,
// the customer never does, it changes no status and runs no "solved" rule,
// until an agent accepts its sender with #aceptar.
func (p *planner) outsider() {
	p.existing()
	p.out.Save = false
	from := p.m.From()
	p.message(ticketd.AuthorCustomer, true, false)
	p.out.Message.Outsider = true
	p.event(ticketd.EventMessageIn, actorOf(from), joinDetail(p.autoDetail(), "from outside the ticket; not shown to the customer"))
	p.out.Outsider = from
	p.notifyAgents(ticketd.KindAgentOutsider, "")
}

// unverified keeps a mail that came through an agent path without proof:
// it is shown to agents, and nothing is relayed.
func (p *planner) unverified(why string) {
	p.existing()
	author := ticketd.AuthorCustomer
	if containsFold(p.mb.Agents, p.m.From()) {
		author = ticketd.AuthorAgent
	}
	p.message(author, true, true)
	p.tk.UpdatedAt = p.m.Now
	p.event(ticketd.EventMessageIn, actorOf(p.m.From()), "not relayed: "+why)
	p.out.Unverified = why
	p.notifyAgents(ticketd.KindAgentUnverified, "")
}

// agentMail handles a genuine agent reply (or note). Command lines at the
// top of the new text act on the ticket and are never relayed; a bad one
// stops the whole mail (see commands.go).
func (p *planner) agentMail(note bool) {
	p.existing()
	m := p.m
	agent := m.From()
	var cmds commandPlan
	if !m.Auto {
		cmds = p.checkCommands(m.Commands)
		if cmds.bad != "" {
			p.commandError(cmds)
			return
		}
		if len(cmds.cmds) > 0 {
			p.cut = cmds.rest
			if p.cut == "" && !cmds.note {
				// A mail of commands only: keep the commands as its record.
				p.cut = strings.TrimSpace(m.Cut.New)
			}
		}
	}
	if note || cmds.note || m.Auto {
		// An agent's out-of-office must never reach the customer.
		p.message(ticketd.AuthorAgent, true, false)
		p.tk.UpdatedAt = m.Now
		p.event(ticketd.EventNote, agent, p.autoDetail())
		p.runCommands(cmds)
		if !m.Auto {
			p.notifyAll(ticketd.KindNote, agent)
		}
		return
	}
	if cmds.rest == "" && len(cmds.cmds) > 0 {
		// Commands only: nothing for the customer, the status as the
		// commands leave it.
		p.message(ticketd.AuthorAgent, true, false)
		p.runCommands(cmds)
		return
	}
	// Command lines anywhere else (below a quote, say) are never run, and
	// never reach the customer either.
	p.cut = stripCommandLines(p.cut)
	p.message(ticketd.AuthorAgent, false, false)
	if p.tk.Assignee == "" && !cmds.has("assign", "take", "release") {
		p.tk.Assignee = agent
		p.event(ticketd.EventAssigned, agent, agent)
		p.tellColleagues("", "answered")
	}
	// A new answer always starts a new pending period, even on a ticket
	// that was pending already; an answer with #cerrar closes instead.
	if !cmds.has("close") {
		p.status(lifecycle.AfterAgentReply(p.tk.Status), agent)
	}
	p.event(ticketd.EventMessageOut, agent, "to "+p.tk.RequesterAddr)
	p.runCommands(cmds)
	params := p.thread.Reply("")
	params.Actor = agent
	params.Cc = p.ccList()
	p.send(ticketd.KindRelay, p.tk.RequesterAddr, RefThisMessage, params)
}

// ccList is who else the customer wrote to: they stay in the conversation,
// except our own addresses and the agents.
func (p *planner) ccList() []string {
	var out []string
	for _, a := range p.f.RootParticipants {
		if strings.EqualFold(a, p.tk.RequesterAddr) || slices.Contains(out, a) {
			continue
		}
		if _, ours := threading.ParseRecipient(a, p.m.Cfg.MailboxAddresses()); ours {
			continue
		}
		if p.m.Cfg.Agent(a) != nil {
			continue
		}
		out = append(out, a)
	}
	return out
}

func (p *planner) autoDetail() string {
	if p.m.Auto {
		return "automatic: " + p.m.AutoReason
	}
	return ""
}

func actorOf(addr string) string {
	if addr == "" {
		return "unknown"
	}
	return addr
}

func joinDetail(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}
