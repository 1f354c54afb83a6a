package lifecycle

import (
	"testing"
	"time"

	"github.com/ticketd/ticketd"
)

func TestAfterCustomerReply(t *testing.T) {
	cases := []struct {
		from, want ticketd.Status
		reopened   bool
	}{
		{ticketd.StatusNuevo, ticketd.StatusNuevo, false},
		{ticketd.StatusPendiente, ticketd.StatusAbierto, false},
		{ticketd.StatusAbierto, ticketd.StatusAbierto, false},
		{ticketd.StatusCerrado, ticketd.StatusAbierto, true},
	}
	for _, c := range cases {
		got, re := AfterCustomerReply(c.from)
		if got != c.want || re != c.reopened {
			t.Errorf("AfterCustomerReply(%s) = %s, %v; want %s, %v", c.from, got, re, c.want, c.reopened)
		}
	}
	for _, s := range ticketd.Statuses {
		if AfterAgentReply(s) != ticketd.StatusPendiente {
			t.Errorf("AfterAgentReply(%s) != pendiente", s)
		}
	}
}

// Transition is the one place a status changes: the pending clock runs
// only while pendiente, the close time is kept only while cerrado, and the
// event says what changed and who did it.
func TestTransition(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	now := t0.Add(48 * time.Hour)
	cases := []struct {
		next                      ticketd.Status
		pending, reminded, closed bool
	}{
		{ticketd.StatusPendiente, true, false, false},
		{ticketd.StatusCerrado, false, false, true},
		{ticketd.StatusAbierto, false, false, false},
		{ticketd.StatusNuevo, false, false, false},
	}
	for _, c := range cases {
		tk := &ticketd.Ticket{Number: 7, Status: ticketd.StatusPendiente, PendingSince: t0, ReminderSentAt: t0.Add(time.Hour), ClosedAt: t0, UpdatedAt: t0}
		ev := Transition(tk, c.next, "ana@example.com", now)
		if tk.Status != c.next || !tk.UpdatedAt.Equal(now) {
			t.Errorf("%s: status %s updated %v", c.next, tk.Status, tk.UpdatedAt)
		}
		if got := tk.PendingSince.Equal(now); got != c.pending || (!c.pending && !tk.PendingSince.IsZero()) {
			t.Errorf("%s: pending since %v", c.next, tk.PendingSince)
		}
		if !tk.ReminderSentAt.IsZero() {
			t.Errorf("%s: a new status kept the old reminder (%v)", c.next, tk.ReminderSentAt)
		}
		if got := tk.ClosedAt.Equal(now); got != c.closed || (!c.closed && !tk.ClosedAt.IsZero()) {
			t.Errorf("%s: closed at %v", c.next, tk.ClosedAt)
		}
		want := ticketd.Event{Ticket: 7, Type: ticketd.EventStatus, Actor: "ana@example.com", At: now, Detail: "pendiente -> " + string(c.next)}
		if ev != want {
			t.Errorf("%s: event %+v, want %+v", c.next, ev, want)
		}
	}
}
