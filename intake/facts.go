package intake

import (
	"errors"
	"strings"
	"time"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/threading"
)

// Facts is what the store knows that a plan needs: which ticket the mail
// threads into (found by the rules of DESIGN.md, each needing proof), that
// ticket's conversation, earlier copies of the same mail, and how often the
// sender was answered lately.
type Facts struct {
	// Ticket is the ticket the mail threads into, nil for a new one; How
	// names the rule that found it, for the history.
	Ticket *ticketd.Ticket
	How    string
	// Thread is the ticket's conversation so far (its customer's first and
	// latest Message-IDs).
	Thread ticketd.Thread
	// RootParticipants are the To/Cc addresses of the ticket's first mail.
	RootParticipants []string
	// LastCustomerMessage is the id of the customer's latest public message.
	LastCustomerMessage int64
	// Copies are earlier stored copies of this Message-ID.
	Copies []Copy
	// AcksLastHour counts the acknowledgements sent to the author in the
	// last hour.
	AcksLastHour int
	// Addresses is who took part in the ticket, and who wrote to it from
	// outside.
	Addresses ticketd.Addresses
	// NotifiedLastHour counts, per agent, the mails about the ticket that
	// agent got in the last hour.
	NotifiedLastHour map[string]int
	// RecentAutomatic counts the automatic mails the ticket got in the
	// last day.
	RecentAutomatic int
	// ListRequest: an agent of the mailbox asked the support address for
	// her list (#lista); Waiting are the tickets it lists.
	ListRequest bool
	Waiting     []*ticketd.Ticket
	// HelpsLastHour counts the answers sent in the last hour to the agent
	// who wrote to the support address itself.
	HelpsLastHour int
}

// Copy is an earlier stored mail with the same Message-ID.
type Copy struct {
	Ticket  int64
	Mailbox string
	SHA256  string
}

// reader is what loading facts needs of a transaction.
type reader interface {
	ticketd.TicketTx
	ticketd.MessageTx
	CountAcks(addr string, since time.Time) (int, error)
	NotificationCounts(ticket int64, since time.Time) (map[string]int, error)
}

// loadFacts is intake's one read step, for one mailbox of the mail.
func loadFacts(tx reader, m *Mail, tg target) (*Facts, error) {
	f := &Facts{}
	var err error
	if f.Ticket, f.How, err = findTicket(tx, m, tg); err != nil {
		return nil, err
	}
	if m.P.MessageID != "" {
		refs, err := tx.MessagesByMessageID(m.P.MessageID)
		if err != nil {
			return nil, err
		}
		for _, r := range refs {
			if r.SHA256 != m.SHA256 {
				continue
			}
			c := Copy{Ticket: r.Ticket, SHA256: r.SHA256}
			tk, err := tx.TicketByNumber(r.Ticket)
			if err != nil {
				return nil, err
			}
			c.Mailbox = tk.Mailbox
			f.Copies = append(f.Copies, c)
		}
	}
	if f.Ticket == nil && isListRequest(m.Cut.New) && containsFold(tg.mailbox.Agents, m.From()) && !m.Auto {
		f.ListRequest = true
		f.Waiting, err = loadWaiting(tx, m.From(), m.Cfg.ServedBy(m.From()))
		return f, err
	}
	if f.Ticket == nil && m.Forward == nil && containsFold(tg.mailbox.Agents, m.From()) {
		// She will be answered how to open a ticket: at most so often.
		if d, ok := tx.(ticketd.DeskTx); ok {
			f.HelpsLastHour, err = d.CountOutgoing(ticketd.KindAgentHelp, m.From(), m.Now.Add(-time.Hour))
		}
		return f, err
	}
	if f.Ticket == nil {
		from := m.From()
		if m.Forward != nil && containsFold(tg.mailbox.Agents, from) {
			// The acknowledgement goes to the customer whose mail it is.
			from = m.Forward.FromAddr
		}
		if from != "" {
			if f.AcksLastHour, err = tx.CountAcks(from, m.Now.Add(-time.Hour)); err != nil {
				return nil, err
			}
		}
		return f, nil
	}
	n := f.Ticket.Number
	if f.Thread, err = tx.ThreadIDs(n); err != nil {
		return nil, err
	}
	if f.RootParticipants, err = tx.RootParticipants(n); err != nil {
		return nil, err
	}
	if f.LastCustomerMessage, err = tx.LastCustomerMessage(n); err != nil {
		return nil, err
	}
	if f.Addresses, err = tx.TicketAddresses(n); err != nil {
		return nil, err
	}
	if f.NotifiedLastHour, err = tx.NotificationCounts(n, m.Now.Add(-time.Hour)); err != nil {
		return nil, err
	}
	if f.RecentAutomatic, err = tx.RecentAutomatic(n, m.Now.Add(-automaticQuiet)); err != nil {
		return nil, err
	}
	return f, nil
}

// findTicket applies the threading rules in order; every match needs proof.
func findTicket(tx reader, m *Mail, tg target) (*ticketd.Ticket, string, error) {
	sameBox := func(tk *ticketd.Ticket) bool { return strings.EqualFold(tk.Mailbox, tg.mailbox.Address) }
	byToken := func(tok string) (*ticketd.Ticket, error) {
		tk, err := tx.TicketByToken(tok)
		if errors.Is(err, ticketd.ErrNotFound) || (err == nil && !sameBox(tk)) {
			return nil, nil
		}
		return tk, err
	}
	if tg.addr.Token != "" {
		if tk, err := byToken(tg.addr.Token); tk != nil || err != nil {
			return tk, "recipient token", err
		}
	}
	for _, id := range m.RefIDs {
		if tok, ok := threading.TokenFromMessageID(id); ok {
			if tk, err := byToken(tok); tk != nil || err != nil {
				return tk, "message-id", err
			}
		}
	}
	// A reply to a customer's own mail (not ours) joins only when its
	// author took part in that mail: the requester, or someone it was sent to.
	from := m.From()
	for _, id := range m.RefIDs {
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
	if n, ok := threading.SubjectTag(m.P.Subject); ok {
		tk, err := tx.TicketByNumber(n)
		if err == nil && sameBox(tk) && strings.EqualFold(tk.RequesterAddr, from) {
			return tk, "subject tag", nil
		}
		if err != nil && !errors.Is(err, ticketd.ErrNotFound) {
			return nil, "", err
		}
	}
	return nil, "", nil
}

func containsFold(l []string, s string) bool {
	for _, x := range l {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
