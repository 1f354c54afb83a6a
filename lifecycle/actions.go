package lifecycle

import (
	"strings"
	"time"

	"github.com/ticketd/ticketd"
)

// The agent actions below are what a command line in an agent's mail
// (#take, #assign, #release, #close) and a move in the agents' desk both
// do to a ticket: one rule, one set of history entries, whichever way the
// agent chose. Each changes tk and returns the entries to record, none when
// there was nothing to change.

// Assign makes to the ticket's assignee on by's behalf.
func Assign(tk *ticketd.Ticket, to, by string, now time.Time) []ticketd.Event {
	if strings.EqualFold(tk.Assignee, to) {
		return nil
	}
	tk.Assignee = to
	tk.UpdatedAt = now
	return []ticketd.Event{{Ticket: tk.Number, Type: ticketd.EventAssigned, Actor: by, At: now, Detail: to}}
}

// Release leaves the ticket to nobody, so that every agent of its mailbox
// hears of it again.
func Release(tk *ticketd.Ticket, by string, now time.Time) []ticketd.Event {
	if tk.Assignee == "" {
		return nil
	}
	tk.Assignee = ""
	tk.UpdatedAt = now
	return []ticketd.Event{{Ticket: tk.Number, Type: ticketd.EventAssigned, Actor: by, At: now, Detail: "unassigned"}}
}

// CloseBy closes the ticket; detail says how the agent asked ("#cerrar", a
// move in the desk).
func CloseBy(tk *ticketd.Ticket, by, detail string, now time.Time) []ticketd.Event {
	if tk.Status == ticketd.StatusCerrado {
		return nil
	}
	st := Transition(tk, ticketd.StatusCerrado, by, now)
	return []ticketd.Event{st, {Ticket: tk.Number, Type: ticketd.EventClosed, Actor: by, At: now, Detail: detail}}
}
