package lifecycle

import (
	"testing"
	"time"

	"github.com/ticketd/ticketd"
)

func TestDueAt(t *testing.T) {
	day0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	at := func(d int) time.Time { return day0.Add(days(d)) }
	cases := []struct {
		name       string
		t          Pending
		now        time.Time
		close, rem int
		want       Due
	}{
		{"fresh", Pending{ticketd.StatusPendiente, day0, time.Time{}}, at(1), 30, 7, Nothing},
		{"day 22 not yet", Pending{ticketd.StatusPendiente, day0, time.Time{}}, at(22), 30, 7, Nothing},
		{"day 23 remind", Pending{ticketd.StatusPendiente, day0, time.Time{}}, at(23), 30, 7, Remind},
		{"reminded, day 29", Pending{ticketd.StatusPendiente, day0, at(23)}, at(29), 30, 7, Nothing},
		{"reminded, day 30", Pending{ticketd.StatusPendiente, day0, at(23)}, at(30), 30, 7, Close},
		{"down until day 40: remind first", Pending{ticketd.StatusPendiente, day0, time.Time{}}, at(40), 30, 7, Remind},
		{"reminded late, day 46", Pending{ticketd.StatusPendiente, day0, at(40)}, at(46), 30, 7, Nothing},
		{"reminded late, day 47", Pending{ticketd.StatusPendiente, day0, at(40)}, at(47), 30, 7, Close},
		{"auto-close off", Pending{ticketd.StatusPendiente, day0, time.Time{}}, at(400), 0, 7, Nothing},
		{"not pending", Pending{ticketd.StatusAbierto, time.Time{}, time.Time{}}, at(400), 30, 7, Nothing},
		{"closed", Pending{ticketd.StatusCerrado, time.Time{}, time.Time{}}, at(400), 30, 7, Nothing},
		{"no warning days: remind at close", Pending{ticketd.StatusPendiente, day0, time.Time{}}, at(10), 10, 0, Remind},
		{"no warning days: close next pass", Pending{ticketd.StatusPendiente, day0, at(10)}, at(10), 10, 0, Close},
		{"mailbox override", Pending{ticketd.StatusPendiente, day0, time.Time{}}, at(11), 14, 3, Remind},
	}
	for _, c := range cases {
		if got := DueAt(c.t, c.now, c.close, c.rem); got != c.want {
			t.Errorf("%s: DueAt = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestCloseAtNeverBeforeWarning(t *testing.T) {
	day0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	if got := CloseAt(day0, day0.Add(days(40)), 30, 7); !got.Equal(day0.Add(days(47))) {
		t.Errorf("CloseAt after a late reminder = %v", got)
	}
	if got := CloseAt(day0, day0.Add(days(23)), 30, 7); !got.Equal(day0.Add(days(30))) {
		t.Errorf("CloseAt after a timely reminder = %v", got)
	}
	if got := CloseAt(day0, time.Time{}, 0, 7); !got.IsZero() {
		t.Errorf("CloseAt with auto-close off = %v", got)
	}
}

func TestIsSolvedReply(t *testing.T) {
	yes := []string{
		"resuelto", "Resuelto.", "RESUELTO!", "sí, resuelto", "Si resuelto", "¡Sí! Resuelto.",
		"solucionado", "solved", "Yes, solved!", "résolu", "Oui, résolu", "resolvido", "Sim, resolvido",
		"risolto", "Sì, risolto", "  resuelto  \n\n",
	}
	no := []string{
		"", "sí", "yes", "resuelto, pero ahora falla otra cosa", "no resuelto", "not solved",
		"resuelto gracias", "¿resuelto?? no", "is it solved",
	}
	for _, s := range yes {
		if !IsSolvedReply(s) {
			t.Errorf("IsSolvedReply(%q) = false", s)
		}
	}
	for _, s := range no {
		if IsSolvedReply(s) {
			t.Errorf("IsSolvedReply(%q) = true", s)
		}
	}
}
