package intake

import (
	"strings"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/lifecycle"
)

// Mail from an agent to the support address itself (not to a ticket's
// address) is never a customer's request: it asks for her list of waiting
// tickets ("#lista" / "#list").

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
