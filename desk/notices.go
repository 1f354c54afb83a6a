package desk

import (
	"time"

	"github.com/ticketd/ticketd"
)

// notices are the mails a desk action causes: the same as the command in
// a mail would (#take, #release and #close by the agent herself tell
// nobody by mail).
func (s *Server) notices(tx ticketd.Tx, tk *ticketd.Ticket, action, agent string, now time.Time) ([]*ticketd.Outgoing, error) {
	return nil, nil
}
