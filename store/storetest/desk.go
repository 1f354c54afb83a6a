package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ticketd/ticketd"
)

// RunDesk runs the contract of ticketd.DeskTx, for engines that offer the
// agents' desk.
func RunDesk(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"UIDsFollowChanges", testDeskUIDs},
		{"Folders", testDeskFolders},
		{"SeenPerAgent", testDeskSeen},
		{"Agents", testDeskAgents},
		{"UIDsSurviveReopen", testDeskReopen},
		{"DigestOncePerDay", testDigestClaims},
		{"CountOutgoing", testCountOutgoing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

func desk(tx ticketd.Tx) ticketd.DeskTx { return tx.(ticketd.DeskTx) }

func deskUID(t *testing.T, s ticketd.Store, n int64) uint32 {
	t.Helper()
	var uid uint32
	view(t, s, func(tx ticketd.Tx) error {
		e, err := desk(tx).DeskEntry(n)
		uid = e.UID
		return err
	})
	return uid
}

// A ticket's desk UID rises with every change the desk shows, and only then.
func testDeskUIDs(t *testing.T, open Opener) {
	s, _ := open(t)
	var tk *ticketd.Ticket
	update(t, s, func(tx ticketd.Tx) (err error) { tk, err = NewTicket(tx, "desk1", "carla@cliente.example"); return })
	u1 := deskUID(t, s, tk.Number)
	if u1 == 0 {
		t.Fatal("a new ticket has no desk UID")
	}
	step := func(what string, fn func(tx ticketd.Tx) error, wantNew bool) {
		t.Helper()
		before := deskUID(t, s, tk.Number)
		update(t, s, fn)
		after := deskUID(t, s, tk.Number)
		if wantNew && after <= before {
			t.Fatalf("%s: UID %d -> %d, want a higher one", what, before, after)
		}
		if !wantNew && after != before {
			t.Fatalf("%s: UID %d -> %d, want it kept", what, before, after)
		}
		var last uint32
		view(t, s, func(tx ticketd.Tx) (err error) { last, err = desk(tx).DeskLastUID(); return })
		if last < after {
			t.Fatalf("%s: DeskLastUID %d below a UID in use (%d)", what, last, after)
		}
	}
	step("status", func(tx ticketd.Tx) error {
		tk.Status, tk.UpdatedAt = ticketd.StatusPendiente, t0.Add(time.Hour)
		return tx.SaveTicket(tk)
	}, true)
	step("save without change", func(tx ticketd.Tx) error { return tx.SaveTicket(tk) }, false)
	step("assignee", func(tx ticketd.Tx) error { tk.Assignee = "ana@example.com"; return tx.SaveTicket(tk) }, true)
	step("message", func(tx ticketd.Tx) error {
		return tx.InsertMessage(&ticketd.Message{Ticket: tk.Number, Author: ticketd.AuthorCustomer, FromAddr: "carla@cliente.example", NewText: "hola", CreatedAt: t0})
	}, true)
	step("tag", func(tx ticketd.Tx) error { _, err := tx.AddTag(tk.Number, "vip"); return err }, true)
	step("same tag again", func(tx ticketd.Tx) error { _, err := tx.AddTag(tk.Number, "vip"); return err }, false)
	step("untag", func(tx ticketd.Tx) error { _, err := tx.RemoveTag(tk.Number, "vip"); return err }, true)
	step("event only", func(tx ticketd.Tx) error {
		return tx.AddEvents([]*ticketd.Event{{Ticket: tk.Number, Type: ticketd.EventDelivered, Actor: ticketd.ActorSystem, At: t0}})
	}, false)
	view(t, s, func(tx ticketd.Tx) error {
		if _, err := desk(tx).DeskEntry(999); !errors.Is(err, ticketd.ErrNotFound) {
			t.Errorf("missing ticket: %v, want ErrNotFound", err)
		}
		return nil
	})
}

func testDeskFolders(t *testing.T, open Opener) {
	s, _ := open(t)
	const ana, luis = "ana@example.com", "luis@example.com"
	n := map[string]int64{}
	update(t, s, func(tx ticketd.Tx) error {
		for _, c := range []struct {
			tok, mb  string
			st       ticketd.Status
			assignee string
			closed   time.Time
		}{
			{"nuevo-free", "soporte@example.com", ticketd.StatusNuevo, "", time.Time{}},
			{"abierto-ana", "soporte@example.com", ticketd.StatusAbierto, "Ana@Example.com", time.Time{}},
			{"abierto-luis", "soporte@example.com", ticketd.StatusAbierto, luis, time.Time{}},
			{"pendiente-ana", "soporte@example.com", ticketd.StatusPendiente, ana, time.Time{}},
			{"cerrado-recent", "soporte@example.com", ticketd.StatusCerrado, ana, t0.Add(-24 * time.Hour)},
			{"cerrado-old", "soporte@example.com", ticketd.StatusCerrado, ana, t0.Add(-40 * 24 * time.Hour)},
			{"other-box", "ventas@example.com", ticketd.StatusNuevo, "", time.Time{}},
		} {
			tk := &ticketd.Ticket{Token: c.tok, Mailbox: c.mb, RequesterAddr: "c@x.example", Subject: c.tok, Status: c.st,
				Assignee: c.assignee, CreatedAt: t0, UpdatedAt: t0, ClosedAt: c.closed}
			if err := tx.CreateTicket(tk); err != nil {
				return err
			}
			n[c.tok] = tk.Number
		}
		return nil
	})
	folder := func(f ticketd.DeskFilter) []string {
		var es []ticketd.DeskEntry
		view(t, s, func(tx ticketd.Tx) (err error) { es, err = desk(tx).DeskFolder(f); return })
		var out []string
		for i, e := range es {
			if i > 0 && es[i-1].UID >= e.UID {
				t.Fatalf("folder not in UID order: %v", es)
			}
			for tok, num := range n {
				if num == e.Ticket {
					out = append(out, tok)
				}
			}
		}
		return out
	}
	box := []string{"SOPORTE@example.com"}
	for _, c := range []struct {
		name string
		f    ticketd.DeskFilter
		want []string
	}{
		{"inbox", ticketd.DeskFilter{Mailboxes: box, Statuses: []ticketd.Status{ticketd.StatusNuevo, ticketd.StatusAbierto}, Assignee: ticketd.DeskMineOrNobody, Agent: ana},
			[]string{"nuevo-free", "abierto-ana"}},
		{"mine", ticketd.DeskFilter{Mailboxes: box, Statuses: []ticketd.Status{ticketd.StatusNuevo, ticketd.StatusAbierto, ticketd.StatusPendiente}, Assignee: ticketd.DeskMine, Agent: ana},
			[]string{"abierto-ana", "pendiente-ana"}},
		{"free", ticketd.DeskFilter{Mailboxes: box, Assignee: ticketd.DeskNobody}, []string{"nuevo-free"}},
		{"abierto", ticketd.DeskFilter{Mailboxes: box, Statuses: []ticketd.Status{ticketd.StatusAbierto}}, []string{"abierto-ana", "abierto-luis"}},
		{"closed in 30 days", ticketd.DeskFilter{Mailboxes: box, Statuses: []ticketd.Status{ticketd.StatusCerrado}, ClosedSince: t0.Add(-30 * 24 * time.Hour)},
			[]string{"cerrado-recent"}},
		{"two mailboxes", ticketd.DeskFilter{Mailboxes: []string{"soporte@example.com", "ventas@example.com"}, Statuses: []ticketd.Status{ticketd.StatusNuevo}},
			[]string{"nuevo-free", "other-box"}},
		{"no mailbox", ticketd.DeskFilter{Statuses: []ticketd.Status{ticketd.StatusNuevo}}, nil},
	} {
		if got := folder(c.f); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func testDeskSeen(t *testing.T, open Opener) {
	s, _ := open(t)
	var tk *ticketd.Ticket
	update(t, s, func(tx ticketd.Tx) (err error) { tk, err = NewTicket(tx, "seen", "c@x.example"); return })
	u1 := deskUID(t, s, tk.Number)
	update(t, s, func(tx ticketd.Tx) error { return desk(tx).SetDeskSeen("Ana@example.com", []uint32{u1}, true) })
	seen := func(agent string, uid uint32) bool {
		var m map[uint32]bool
		view(t, s, func(tx ticketd.Tx) (err error) { m, err = desk(tx).DeskSeen(agent, []uint32{uid}); return })
		return m[uid]
	}
	if !seen("ana@example.com", u1) || seen("luis@example.com", u1) {
		t.Fatalf("seen: ana %v luis %v, want true false", seen("ana@example.com", u1), seen("luis@example.com", u1))
	}
	update(t, s, func(tx ticketd.Tx) error { tk.Status = ticketd.StatusAbierto; return tx.SaveTicket(tk) })
	u2 := deskUID(t, s, tk.Number)
	if seen("ana@example.com", u2) {
		t.Fatal("a changed ticket is still seen")
	}
	update(t, s, func(tx ticketd.Tx) error { return desk(tx).SetDeskSeen("ana@example.com", []uint32{u2}, true) })
	if seen("ana@example.com", u1) {
		t.Fatal("the mark on a replaced UID was not pruned")
	}
	update(t, s, func(tx ticketd.Tx) error { return desk(tx).SetDeskSeen("ana@example.com", []uint32{u2}, false) })
	if seen("ana@example.com", u2) {
		t.Fatal("unseen did not take")
	}
}

func testDeskAgents(t *testing.T, open Opener) {
	s, _ := open(t)
	view(t, s, func(tx ticketd.Tx) error {
		if _, err := desk(tx).DeskAgent("ana@example.com"); !errors.Is(err, ticketd.ErrNotFound) {
			return fmt.Errorf("no account yet: %v, want ErrNotFound", err)
		}
		return nil
	})
	a := &ticketd.DeskAgent{Email: "Ana@Example.com", PasswordHash: "$2a$10$x", PasswordAt: t0, UIDValidity: 7, Scope: "soporte@example.com"}
	update(t, s, func(tx ticketd.Tx) error { return desk(tx).SaveDeskAgent(a) })
	a.PasswordHash, a.UIDValidity = "$2a$10$y", 8
	update(t, s, func(tx ticketd.Tx) error { return desk(tx).SaveDeskAgent(a) })
	view(t, s, func(tx ticketd.Tx) error {
		got, err := desk(tx).DeskAgent("ana@EXAMPLE.com")
		if err != nil {
			return err
		}
		if got.Email != "ana@example.com" || got.PasswordHash != "$2a$10$y" || got.UIDValidity != 8 || got.Scope != a.Scope || !got.PasswordAt.Equal(t0) {
			t.Errorf("read back %+v", got)
		}
		return nil
	})
}

func testDeskReopen(t *testing.T, open Opener) {
	s, reopen := open(t)
	var tk *ticketd.Ticket
	update(t, s, func(tx ticketd.Tx) (err error) { tk, err = NewTicket(tx, "stable", "c@x.example"); return })
	u := deskUID(t, s, tk.Number)
	s2 := reopen()
	if got := deskUID(t, s2, tk.Number); got != u {
		t.Fatalf("UID after reopen %d, want %d", got, u)
	}
	// A UID once issued is never issued again, also after a restart.
	update(t, s2, func(tx ticketd.Tx) error { tk.Status = ticketd.StatusAbierto; return tx.SaveTicket(tk) })
	if got := deskUID(t, s2, tk.Number); got <= u {
		t.Fatalf("UID after a change %d, want above %d", got, u)
	}
}

func testDigestClaims(t *testing.T, open Opener) {
	s, _ := open(t)
	claim := func(agent, day string) (ok bool) {
		update(t, s, func(tx ticketd.Tx) (err error) { ok, err = desk(tx).ClaimDigest(agent, day, t0); return })
		return ok
	}
	sent := func(agent, day string) (ok bool) {
		view(t, s, func(tx ticketd.Tx) (err error) { ok, err = desk(tx).DigestSent(agent, day); return })
		return ok
	}
	if sent("ana@example.com", "2026-11-02") {
		t.Fatal("sent before any claim")
	}
	if !claim("Ana@example.com", "2026-11-02") || claim("ana@example.com", "2026-11-02") {
		t.Fatal("the first claim of a day must win and the second lose")
	}
	if !sent("ana@example.com", "2026-11-02") || sent("luis@example.com", "2026-11-02") || sent("ana@example.com", "2026-11-03") {
		t.Fatal("claims are per agent and day")
	}
	if !claim("ana@example.com", "2026-11-03") {
		t.Fatal("the next day's claim lost")
	}
}

func testCountOutgoing(t *testing.T, open Opener) {
	s, _ := open(t)
	update(t, s, func(tx ticketd.Tx) error {
		return tx.Enqueue(
			ticketd.NewOutgoing(0, ticketd.KindAgentHelp, "ana@example.com", 0, "h1@x", ticketd.Params{}, t0),
			ticketd.NewOutgoing(0, ticketd.KindAgentHelp, "ana@example.com", 0, "h2@x", ticketd.Params{}, t0.Add(-2*time.Hour)),
			ticketd.NewOutgoing(0, ticketd.KindDigest, "ana@example.com", 0, "d1@x", ticketd.Params{}, t0),
			ticketd.NewOutgoing(0, ticketd.KindAgentHelp, "luis@example.com", 0, "h3@x", ticketd.Params{}, t0),
		)
	})
	view(t, s, func(tx ticketd.Tx) error {
		n, err := desk(tx).CountOutgoing(ticketd.KindAgentHelp, "Ana@example.com", t0.Add(-time.Hour))
		if err != nil {
			return err
		}
		if n != 1 {
			t.Errorf("CountOutgoing = %d, want 1 (one kind, one rcpt, since the moment)", n)
		}
		return nil
	})
}
