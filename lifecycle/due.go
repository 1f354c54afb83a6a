package lifecycle

import (
	"time"

	"github.com/ticketd/ticketd"
)

// Due names what the scheduler owes a ticket at a moment.
type Due int

const (
	// Nothing is owed.
	Nothing Due = iota
	// Remind: the customer must be told the ticket will close.
	Remind
	// Close: the ticket waited long enough after its reminder.
	Close
	// Digest: an agent's daily list of waiting tickets.
	Digest
)

func (d Due) String() string {
	switch d {
	case Remind:
		return "reminder"
	case Close:
		return "close"
	case Digest:
		return "digest"
	}
	return "nothing"
}

// Pending is what the scheduler rules need of a ticket.
type Pending struct {
	Status         ticketd.Status
	PendingSince   time.Time
	ReminderSentAt time.Time
}

// RemindAt is when a pending ticket's reminder falls due: reminderDays
// before its planned close. Zero when auto-close is off.
func RemindAt(pendingSince time.Time, closeDays, reminderDays int) time.Time {
	if closeDays <= 0 || pendingSince.IsZero() {
		return time.Time{}
	}
	return pendingSince.Add(days(closeDays - max(reminderDays, 0)))
}

// DueAt decides what a ticket is owed at now. A ticket is never closed
// before it was reminded: the reminder comes first, and the close waits
// reminderDays after it (CloseAt), so one pass does at most one of the two.
func DueAt(t Pending, now time.Time, closeDays, reminderDays int) Due {
	if t.Status != ticketd.StatusPendiente || closeDays <= 0 || t.PendingSince.IsZero() {
		return Nothing
	}
	if t.ReminderSentAt.IsZero() {
		if !now.Before(RemindAt(t.PendingSince, closeDays, reminderDays)) {
			return Remind
		}
		return Nothing
	}
	if !now.Before(CloseAt(t.PendingSince, t.ReminderSentAt, closeDays, reminderDays)) {
		return Close
	}
	return Nothing
}
