// Package lifecycle owns the statuses of a ticket: the pure transition rules
// (values in, values out, time passed in) and the scheduler that reminds and
// closes.
package lifecycle

import "time"

// Status keys, canonical and Spanish as the design fixes them.
const (
	Nuevo     = "nuevo"
	Pendiente = "pendiente"
	Abierto   = "abierto"
	Cerrado   = "cerrado"
)

// Valid reports whether s is a status key.
func Valid(s string) bool {
	switch s {
	case Nuevo, Pendiente, Abierto, Cerrado:
		return true
	}
	return false
}

// AfterCustomerReply is the status after a (human) customer reply: a new
// ticket stays new, a pending or closed one opens, an open one stays open.
// reopened is true when a closed ticket came back.
func AfterCustomerReply(status string) (next string, reopened bool) {
	switch status {
	case Nuevo:
		return Nuevo, false
	case Cerrado:
		return Abierto, true
	default:
		return Abierto, false
	}
}

// AfterAgentReply is the status after an agent's public answer.
func AfterAgentReply(string) string { return Pendiente }

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
