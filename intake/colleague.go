package intake

import (
	"strings"

	"github.com/ticketd/ticketd"
)

// tellColleagues sends one short line to the agents who were told of the
// ticket (its assignee before the change, or every agent of the mailbox
// when it had none) that the planning agent took or answered it; never to
// her, nor to the new assignee, who hears of it otherwise.
func (p *planner) tellColleagues(before, action string) {
	agent := strings.ToLower(p.m.From())
	prev := ticketd.Ticket{Assignee: before}
	params := p.thread.Reply("")
	params.Actor, params.Reason = agent, action
	for _, r := range prev.AgentRecipients(p.mb.Agents, agent) {
		if strings.EqualFold(r, p.tk.Assignee) {
			continue
		}
		p.send(ticketd.KindColleague, r, 0, params)
	}
}
