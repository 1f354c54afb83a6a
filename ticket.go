package ticketd

import (
	"strings"
	"time"
)

// Status is where a ticket stands. The keys are Spanish, as the design
// fixes them, and this is the one place in Go that spells them.
type Status string

// The four statuses.
const (
	StatusNuevo     Status = "nuevo"     // no agent has answered yet
	StatusPendiente Status = "pendiente" // an agent answered; waiting for the customer
	StatusAbierto   Status = "abierto"   // the customer answered; waiting for an agent
	StatusCerrado   Status = "cerrado"   // resolved, or closed after waiting too long
)

// Statuses lists every status, in the order a ticket usually goes through them.
var Statuses = []Status{StatusNuevo, StatusPendiente, StatusAbierto, StatusCerrado}

// Valid reports whether s is one of the four statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusNuevo, StatusPendiente, StatusAbierto, StatusCerrado:
		return true
	}
	return false
}

// Priority is how urgent a ticket is; the keys are Spanish like the statuses.
type Priority string

// The priorities, lowest first.
const (
	PriorityBaja    Priority = "baja"
	PriorityMedia   Priority = "media"
	PriorityAlta    Priority = "alta"
	PriorityUrgente Priority = "urgente"
)

// DefaultPriority is what a new ticket gets.
const DefaultPriority = PriorityMedia

// Ticket is one request and its state.
type Ticket struct {
	Number         int64
	Token          string
	Mailbox        string
	RequesterAddr  string
	RequesterName  string
	Subject        string
	Status         Status
	Assignee       string
	Priority       Priority
	Tags           []string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	PendingSince   time.Time // zero unless pending
	ReminderSentAt time.Time // zero unless reminded in this pending period
	ClosedAt       time.Time
}

// TicketFilter selects tickets for Tx.ListTickets.
type TicketFilter struct {
	Status Status // "" for all
	Limit  int    // 0 for no limit
}

// AgentRecipients is who hears of a change on the ticket: its assignee, or
// every agent of its mailbox when nobody has it, never the one who caused
// the change (except). Addresses come back in lower case.
func (tk *Ticket) AgentRecipients(agents []string, except string) []string {
	if tk.Assignee != "" {
		if strings.EqualFold(tk.Assignee, except) {
			return nil
		}
		return []string{strings.ToLower(tk.Assignee)}
	}
	var out []string
	for _, ag := range agents {
		if !strings.EqualFold(ag, except) {
			out = append(out, strings.ToLower(ag))
		}
	}
	return out
}
