// Package lifecycle owns the statuses of a ticket: the pure transition rules
// (values in, values out, time passed in) and the scheduler that reminds and
// closes.
package lifecycle

import (
	"time"

	"github.com/ticketd/ticketd"
)

// Transition moves tk to next on actor's behalf at now. It is the one place
// where a ticket's status changes (intake, agents' commands and the
// scheduler all come here): the pending clock starts with pendiente and
// stops with any other status, the close time is kept only while closed,
// and the returned event records the change for the history.
func Transition(tk *ticketd.Ticket, next ticketd.Status, actor string, now time.Time) ticketd.Event {
	prev := tk.Status
	tk.Status = next
	tk.UpdatedAt = now
	tk.PendingSince, tk.ReminderSentAt, tk.ClosedAt = time.Time{}, time.Time{}, time.Time{}
	switch next {
	case ticketd.StatusPendiente:
		tk.PendingSince = now
	case ticketd.StatusCerrado:
		tk.ClosedAt = now
	}
	return ticketd.Event{Ticket: tk.Number, Type: ticketd.EventStatus, Actor: actor, At: now, Detail: string(prev) + " -> " + string(next)}
}

// AfterCustomerReply is the status after a (human) customer reply: a new
// ticket stays new, a pending or closed one opens, an open one stays open.
// reopened is true when a closed ticket came back.
func AfterCustomerReply(status ticketd.Status) (next ticketd.Status, reopened bool) {
	switch status {
	case ticketd.StatusNuevo:
		return ticketd.StatusNuevo, false
	case ticketd.StatusCerrado:
		return ticketd.StatusAbierto, true
	default:
		return ticketd.StatusAbierto, false
	}
}

// AfterAgentReply is the status after an agent's public answer: a new
// pending period starts, whatever the status was.
func AfterAgentReply(ticketd.Status) ticketd.Status { return ticketd.StatusPendiente }

// CloseAt is when a pending ticket closes by itself: closeDays after it
// turned pending, and never sooner than reminderDays after its reminder was
// actually sent (a daemon that was down must warn before it closes). Zero
// when auto-close is off (closeDays 0) or the ticket is not pending.
// Before the reminder went out, the close date shown is the planned one.
func CloseAt(pendingSince, reminderSentAt time.Time, closeDays, reminderDays int) time.Time {
	if closeDays <= 0 || pendingSince.IsZero() {
		return time.Time{}
	}
	at := pendingSince.Add(days(closeDays))
	if !reminderSentAt.IsZero() {
		if r := reminderSentAt.Add(days(reminderDays)); r.After(at) {
			at = r
		}
	}
	return at
}

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }
