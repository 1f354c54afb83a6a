package intake

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/lifecycle"
	"github.com/ticketd/ticketd/mailer"
	"github.com/ticketd/ticketd/message"
	"github.com/ticketd/ticketd/store"
	"github.com/ticketd/ticketd/threading"
)

// incoming is a parsed mail with everything decided outside the transaction.
type incoming struct {
	env        Envelope
	raw        []byte
	sha        string
	p          *message.Parsed
	cut        threading.Cut
	now        time.Time
	cfg        *config.Config
	refIDs     []string
	auto       bool
	autoReason string
}

// from is the author's address: the From header, else the envelope sender.
func (in *incoming) from() string {
	if in.p.From.Addr != "" {
		return in.p.From.Addr
	}
	return strings.ToLower(in.env.From)
}

type outcome struct {
	ticket    int64
	duplicate bool
	queued    bool
}

// decide threads one mail into one mailbox and writes its effects.
func (d *Desk) decide(tx *store.Tx, in *incoming, tg target, raw *store.Raw) (outcome, error) {
	mb := tg.mailbox
	tk, how, err := d.findTicket(tx, in, tg)
	if err != nil {
		return outcome{}, err
	}
	if dup, err := d.isDuplicate(tx, in, tk, mb); err != nil || dup {
		out := outcome{duplicate: dup}
		if tk != nil {
			out.ticket = tk.Number
		}
		return out, err
	}
	if raw.ID == 0 {
		if err := tx.InsertRaw(raw); err != nil {
			return outcome{}, err
		}
	}
	a := &action{d: d, tx: tx, in: in, mb: mb, raw: raw, tk: tk, how: how}
	from := in.from()
	isAgent := mailboxHasAgent(mb, from)
	switch {
	case tk == nil:
		err = a.newTicket()
	case tg.addr.Kind == "agent" || tg.addr.Kind == "note":
		want := threading.AgentTag(d.Key, tk.Token, from)
		if tg.addr.Kind == "note" {
			want = threading.NoteTag(d.Key, tk.Token, from)
		}
		if isAgent && threading.TagEqual(want, tg.addr.Tag) {
			err = a.agentMailIfAuthenticated(tg.addr.Kind == "note")
		} else {
			err = a.unverified(fmt.Sprintf("agent address used by %s", from))
		}
	case isAgent && !strings.EqualFold(from, tk.RequesterAddr):
		err = a.unverified(fmt.Sprintf("agent %s wrote without an agent reply address", from))
	default:
		err = a.customerReply()
	}
	if err == nil {
		err = a.flush()
	}
	if err != nil {
		return outcome{}, err
	}
	return outcome{ticket: a.tk.Number, queued: a.queued}, nil
}

// findTicket applies the threading rules of DESIGN.md in order; every match
// needs proof. how names the rule that matched, for the history.
func (d *Desk) findTicket(tx *store.Tx, in *incoming, tg target) (*store.Ticket, string, error) {
	sameBox := func(tk *store.Ticket) bool { return strings.EqualFold(tk.Mailbox, tg.mailbox.Address) }
	if tg.addr.Token != "" {
		tk, err := tx.TicketByToken(tg.addr.Token)
		if err == nil && sameBox(tk) {
			return tk, "recipient token", nil
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, "", err
		}
	}
	for _, id := range in.refIDs {
		tok, ok := threading.TokenFromMessageID(id)
		if !ok {
			continue
		}
		tk, err := tx.TicketByToken(tok)
		if err == nil && sameBox(tk) {
			return tk, "message-id", nil
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, "", err
		}
	}
	// A reply to a customer's own mail (not ours) joins only when its
	// author took part in that mail: the requester, or someone it was sent to.
	from := in.from()
	for _, id := range in.refIDs {
		refs, err := tx.MessagesByMessageID(id)
		if err != nil {
			return nil, "", err
		}
		for _, r := range refs {
			if !strings.EqualFold(r.FromAddr, from) && !containsFold(r.Participants, from) {
				continue
			}
			tk, err := tx.TicketByNumber(r.Ticket)
			if err != nil {
				return nil, "", err
			}
			if sameBox(tk) {
				return tk, "participant reply", nil
			}
		}
	}
	if n, ok := threading.SubjectTag(in.p.Subject); ok {
		tk, err := tx.TicketByNumber(n)
		if err == nil && sameBox(tk) && strings.EqualFold(tk.RequesterAddr, from) {
			return tk, "subject tag", nil
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, "", err
		}
	}
	return nil, "", nil
}

// isDuplicate recognises a mail stored before (a retry after a lost 250, an
// IMAP re-scan) by Message-ID and content hash.
func (d *Desk) isDuplicate(tx *store.Tx, in *incoming, tk *store.Ticket, mb *config.Mailbox) (bool, error) {
	if in.p.MessageID == "" {
		return false, nil
	}
	refs, err := tx.MessagesByMessageID(in.p.MessageID)
	if err != nil {
		return false, err
	}
	for _, r := range refs {
		if r.SHA256 != in.sha {
			continue
		}
		if tk != nil && r.Ticket == tk.Number {
			return true, nil
		}
		if tk == nil {
			other, err := tx.TicketByNumber(r.Ticket)
			if err != nil {
				return false, err
			}
			if strings.EqualFold(other.Mailbox, mb.Address) {
				return true, nil
			}
		}
	}
	return false, nil
}

// action carries one decision's state through its steps.
type action struct {
	d      *Desk
	tx     *store.Tx
	in     *incoming
	mb     *config.Mailbox
	raw    *store.Raw
	tk     *store.Ticket
	how    string
	queued bool
	// thread memoizes ThreadIDs: an action writes one mail and then asks
	// for its thread several times.
	thread *[2]string
	events []*store.Event
	outs   []*store.Outgoing
}

func (a *action) lang() string {
	if a.mb.Language != "" {
		return a.mb.Language
	}
	return a.in.cfg.Server.Language
}

// storeMessage writes the mail as a message of the ticket.
func (a *action) storeMessage(author string, internal, unverified bool) (*store.Message, error) {
	p := a.in.p
	newText := a.in.cut.New
	if author == store.AuthorAgent && strings.TrimSpace(newText) == "" {
		newText = strings.TrimSpace(p.Text)
	}
	m := &store.Message{
		Ticket:     a.tk.Number,
		RawID:      a.raw.ID,
		Author:     author,
		FromAddr:   a.in.from(),
		FromName:   p.From.Name,
		MessageID:  p.MessageID,
		Subject:    p.Subject,
		Text:       p.Text,
		NewText:    newText,
		CutFlagged: a.in.cut.Flagged,
		Internal:   internal,
		Automatic:  a.in.auto,
		Unverified: unverified,
		CreatedAt:  a.in.now,
		ParseError: strings.Join(p.Problems, "; "),
	}
	for _, l := range [][]message.Address{p.To, p.Cc} {
		for _, ad := range l {
			if ad.Addr != "" {
				m.Participants = append(m.Participants, ad.Addr)
			}
		}
	}
	for _, at := range p.Attachments {
		m.Attachments = append(m.Attachments, store.Attachment{
			PartIndex: at.Index, Filename: at.Filename, ContentType: at.ContentType, Size: int64(len(at.Content)),
		})
	}
	return m, a.tx.InsertMessage(m)
}

// event records a history entry; entries are written together by flush.
func (a *action) event(typ, actor, detail string) error {
	a.events = append(a.events, &store.Event{Ticket: a.tk.Number, Type: typ, Actor: actor, At: a.in.now, Detail: detail})
	return nil
}

// flush writes the history entries and outgoing mails the action
// collected, one statement each: fewer statements on the single writer.
func (a *action) flush() error {
	if err := a.tx.AddEvents(a.events); err != nil {
		return err
	}
	if err := a.tx.EnqueueAll(a.outs); err != nil {
		return err
	}
	a.queued = a.queued || len(a.outs) > 0
	a.events, a.outs = nil, nil
	return nil
}

// enqueue adds one outgoing mail, born in this transaction (see flush).
func (a *action) enqueue(kind, rcpt string, msgRef int64, p mailer.Params) error {
	if p.Lang == "" {
		p.Lang = a.lang()
	}
	o := &store.Outgoing{
		Ticket:     a.tk.Number,
		Kind:       kind,
		Rcpt:       rcpt,
		MessageRef: msgRef,
		MessageID:  threading.NewMessageID(a.tk.Token, a.in.cfg.Server.Hostname),
		Params:     p.Encode(),
		CreatedAt:  a.in.now,
		NextAt:     a.in.now,
	}
	a.outs = append(a.outs, o)
	return nil
}

// threadParams makes an outgoing mail a reply in the ticket's conversation.
func (a *action) threadParams(inReplyTo string) (mailer.Params, error) {
	if a.thread == nil {
		root, last, err := a.tx.ThreadIDs(a.tk.Number)
		if err != nil {
			return mailer.Params{}, err
		}
		a.thread = &[2]string{root, last}
	}
	root, last := a.thread[0], a.thread[1]
	if inReplyTo == "" {
		inReplyTo = last
	}
	p := mailer.Params{InReplyTo: inReplyTo}
	for _, id := range []string{root, last, inReplyTo} {
		if id != "" && !slices.Contains(p.References, id) {
			p.References = append(p.References, id)
		}
	}
	return p, nil
}

// notifyAgents tells the assignee, or every agent of the mailbox when there
// is none, except the one who caused it.
func (a *action) notifyAgents(kind string, msgRef int64, except string) error {
	p, err := a.threadParams(a.in.p.MessageID)
	if err != nil {
		return err
	}
	for _, rcpt := range a.agentRecipients(except) {
		if err := a.enqueue(kind, rcpt, msgRef, p); err != nil {
			return err
		}
	}
	return nil
}

func (a *action) agentRecipients(except string) []string {
	var out []string
	if a.tk.Assignee != "" && !strings.EqualFold(a.tk.Assignee, except) {
		return []string{a.tk.Assignee}
	}
	if a.tk.Assignee != "" {
		return nil
	}
	for _, ag := range a.mb.Agents {
		if !strings.EqualFold(ag, except) {
			out = append(out, strings.ToLower(ag))
		}
	}
	return out
}

// newTicket opens a ticket for a mail that threads nowhere.
func (a *action) newTicket() error {
	in := a.in
	from := in.from()
	a.tk = &store.Ticket{
		Token:         threading.NewToken(),
		Mailbox:       a.mb.Address,
		RequesterAddr: from,
		RequesterName: in.p.From.Name,
		Subject:       in.p.Subject,
		Status:        lifecycle.Nuevo,
		CreatedAt:     in.now,
		UpdatedAt:     in.now,
	}
	if err := a.tx.CreateTicket(a.tk); err != nil {
		return err
	}
	m, err := a.storeMessage(store.AuthorCustomer, false, false)
	if err != nil {
		return err
	}
	// The first mail is the whole thread so far: no need to look it up.
	a.thread = &[2]string{m.MessageID, m.MessageID}
	if err := a.event("created", actorOf(from), ""); err != nil {
		return err
	}
	if err := a.event("message_in", actorOf(from), autoDetail(in)); err != nil {
		return err
	}
	if err := a.maybeAck(); err != nil {
		return err
	}
	return a.notifyAgents(mailer.KindAgentNew, m.ID, "")
}

// maybeAck acknowledges a new ticket once, never to automatic mail, our own
// addresses or the null sender, and at most a few times per sender per hour.
func (a *action) maybeAck() error {
	in := a.in
	from := in.from()
	if in.auto || in.env.NoAutoReply || from == "" || in.env.From == "" {
		return nil
	}
	if _, ours := threading.ParseRecipient(from, in.cfg.MailboxAddresses()); ours {
		return nil
	}
	limit := in.cfg.Server.AutoreplyLimitPerHour
	n, err := a.tx.CountAcks(from, in.now.Add(-time.Hour))
	if err != nil {
		return err
	}
	if limit > 0 && n >= limit {
		a.d.Log.Warn("acknowledgement suppressed: per-sender limit reached", "ticket", a.tk.Number, "limit", limit)
		return a.event("autoreply_suppressed", "system", fmt.Sprintf("%d automatic answers to this sender in the last hour", n))
	}
	p, err := a.threadParams(in.p.MessageID)
	if err != nil {
		return err
	}
	return a.enqueue(mailer.KindAck, from, 0, p)
}

// customerReply adds a customer's (or a third party's) mail to its ticket.
func (a *action) customerReply() error {
	in := a.in
	from := in.from()
	m, err := a.storeMessage(store.AuthorCustomer, false, false)
	if err != nil {
		return err
	}
	a.tk.UpdatedAt = in.now
	if err := a.event("message_in", actorOf(from), joinDetail(autoDetail(in), "threaded by "+a.how)); err != nil {
		return err
	}
	kind := mailer.KindAgentReply
	if !in.auto && a.tk.Status != lifecycle.Cerrado && lifecycle.IsSolvedReply(in.cut.New) {
		// "resuelto": the customer closes the ticket and is thanked.
		if err := a.setStatus(lifecycle.Cerrado, actorOf(from)); err != nil {
			return err
		}
		if err := a.event("closed", actorOf(from), "the customer replied that it is solved"); err != nil {
			return err
		}
		if err := a.tx.SaveTicket(a.tk); err != nil {
			return err
		}
		p, err := a.threadParams(in.p.MessageID)
		if err != nil {
			return err
		}
		if err := a.enqueue(mailer.KindSolvedThanks, a.tk.RequesterAddr, 0, p); err != nil {
			return err
		}
		return a.notifyAgents(kind, m.ID, "")
	}
	if !in.auto {
		next, reopened := lifecycle.AfterCustomerReply(a.tk.Status)
		if next != a.tk.Status {
			if err := a.setStatus(next, actorOf(from)); err != nil {
				return err
			}
		}
		if reopened {
			kind = mailer.KindAgentReopened
			if err := a.event("reopened", actorOf(from), ""); err != nil {
				return err
			}
		}
	}
	if err := a.tx.SaveTicket(a.tk); err != nil {
		return err
	}
	return a.notifyAgents(kind, m.ID, "")
}

// setStatus moves the ticket and records it; the pending clock starts and
// stops with pendiente.
func (a *action) setStatus(next, actor string) error {
	prev := a.tk.Status
	a.tk.Status = next
	a.tk.UpdatedAt = a.in.now
	switch next {
	case lifecycle.Pendiente:
		a.tk.PendingSince = a.in.now
		a.tk.ReminderSentAt = time.Time{}
		a.tk.ClosedAt = time.Time{}
	case lifecycle.Cerrado:
		a.tk.PendingSince = time.Time{}
		a.tk.ReminderSentAt = time.Time{}
		a.tk.ClosedAt = a.in.now
	default:
		a.tk.PendingSince = time.Time{}
		a.tk.ReminderSentAt = time.Time{}
		a.tk.ClosedAt = time.Time{}
	}
	return a.event("status", actor, prev+" -> "+next)
}

// unverified stores a mail that came through an agent path without proof:
// it is kept and shown to agents, and nothing is relayed.
func (a *action) unverified(why string) error {
	author := store.AuthorCustomer
	if mailboxHasAgent(a.mb, a.in.from()) {
		author = store.AuthorAgent
	}
	m, err := a.storeMessage(author, true, true)
	if err != nil {
		return err
	}
	a.tk.UpdatedAt = a.in.now
	if err := a.tx.SaveTicket(a.tk); err != nil {
		return err
	}
	if err := a.event("message_in", actorOf(a.in.from()), "not relayed: "+why); err != nil {
		return err
	}
	a.d.Log.Warn("unverified agent path", "ticket", a.tk.Number, "from", threading.Redact(a.in.from()), "why", threading.Redact(why))
	return a.notifyAgents(mailer.KindAgentUnverified, m.ID, "")
}

// agentMail handles a genuine agent reply (or note). Command lines at the
// top of the new text act on the ticket and are never relayed; a bad one
// stops the whole mail (see commands.go).
func (a *action) agentMail(note bool) error {
	in := a.in
	agent := in.from()
	var plan commandPlan
	if !in.auto {
		plan = a.readCommands()
		if plan.bad != "" {
			return a.commandError(plan)
		}
		if len(plan.cmds) > 0 {
			text := plan.rest
			if text == "" && !plan.note {
				// A mail of commands only: keep the commands as its record.
				text = strings.TrimSpace(in.cut.New)
			}
			a.withNewText(text)
			in = a.in
		}
	}
	if note || plan.note || in.auto {
		// An agent's out-of-office must never reach the customer.
		m, err := a.storeMessage(store.AuthorAgent, true, false)
		if err != nil {
			return err
		}
		a.tk.UpdatedAt = in.now
		if err := a.event("note", agent, autoDetail(in)); err != nil {
			return err
		}
		if err := a.runCommands(plan); err != nil {
			return err
		}
		if err := a.tx.SaveTicket(a.tk); err != nil {
			return err
		}
		if in.auto {
			return nil
		}
		return a.notifyAll(mailer.KindNote, m.ID, agent)
	}
	if plan.rest == "" && len(plan.cmds) > 0 {
		// Commands only: nothing for the customer, the status as the
		// commands leave it.
		if _, err := a.storeMessage(store.AuthorAgent, true, false); err != nil {
			return err
		}
		if err := a.runCommands(plan); err != nil {
			return err
		}
		return a.tx.SaveTicket(a.tk)
	}
	m, err := a.storeMessage(store.AuthorAgent, false, false)
	if err != nil {
		return err
	}
	if a.tk.Assignee == "" && !plan.has("assign", "take", "release") {
		a.tk.Assignee = agent
		if err := a.event("assigned", agent, agent); err != nil {
			return err
		}
	}
	// A new answer always starts a new pending period, even on a ticket
	// that was pending already; an answer with #cerrar closes instead.
	if !plan.has("close") {
		if err := a.setStatus(lifecycle.AfterAgentReply(a.tk.Status), agent); err != nil {
			return err
		}
	}
	if err := a.event("message_out", agent, "to "+a.tk.RequesterAddr); err != nil {
		return err
	}
	if err := a.runCommands(plan); err != nil {
		return err
	}
	if err := a.tx.SaveTicket(a.tk); err != nil {
		return err
	}
	p, err := a.threadParams("")
	if err != nil {
		return err
	}
	p.Actor = agent
	p.Cc, err = a.ccList()
	if err != nil {
		return err
	}
	return a.enqueue(mailer.KindRelay, a.tk.RequesterAddr, m.ID, p)
}

// notifyAll tells every agent of the mailbox except one.
func (a *action) notifyAll(kind string, msgRef int64, except string) error {
	p, err := a.threadParams(a.in.p.MessageID)
	if err != nil {
		return err
	}
	p.Actor = except
	for _, ag := range a.mb.Agents {
		if strings.EqualFold(ag, except) {
			continue
		}
		if err := a.enqueue(kind, strings.ToLower(ag), msgRef, p); err != nil {
			return err
		}
	}
	return nil
}

// ccList is who else the customer wrote to: they stay in the conversation,
// except our own addresses and the agents.
func (a *action) ccList() ([]string, error) {
	parts, err := a.tx.RootParticipants(a.tk.Number)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range parts {
		if strings.EqualFold(p, a.tk.RequesterAddr) || slices.Contains(out, p) {
			continue
		}
		if _, ours := threading.ParseRecipient(p, a.in.cfg.MailboxAddresses()); ours {
			continue
		}
		if a.in.cfg.Agent(p) != nil {
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

func mailboxHasAgent(mb *config.Mailbox, addr string) bool {
	return containsFold(mb.Agents, addr)
}

func actorOf(addr string) string {
	if addr == "" {
		return "unknown"
	}
	return addr
}

func autoDetail(in *incoming) string {
	if in.auto {
		return "automatic: " + in.autoReason
	}
	return ""
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

func containsFold(l []string, s string) bool {
	for _, x := range l {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
