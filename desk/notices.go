package desk

import (
	"strings"
	"time"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/threading"
)

// notices are the mails a desk action causes, the same as the command in
// a mail would: taking a ticket tells the agents who were told of it (its
// assignee before, or every agent of the mailbox when it had none) in one
// short line; releasing and closing tell nobody by mail.
func (s *Server) notices(tx ticketd.Tx, tk *ticketd.Ticket, action, agent, before string, now time.Time) ([]*ticketd.Outgoing, error) {
	if action != "take" || strings.EqualFold(before, agent) {
		return nil, nil
	}
	cfg := s.cfg()
	mb := cfg.Mailbox(tk.Mailbox)
	if mb == nil {
		return nil, nil
	}
	th, err := tx.ThreadIDs(tk.Number)
	if err != nil {
		return nil, err
	}
	params := th.Reply("")
	params.Lang, params.Actor, params.Reason = mb.Lang(cfg), agent, "took"
	prev := ticketd.Ticket{Assignee: before}
	var out []*ticketd.Outgoing
	for _, r := range prev.AgentRecipients(mb.Agents, agent) {
		out = append(out, ticketd.NewOutgoing(tk.Number, ticketd.KindColleague, r, 0, threading.NewMessageID(tk.Token, cfg.Server.Hostname), params, now))
	}
	return out, nil
}
