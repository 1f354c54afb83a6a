// Package storetest is the contract every store engine keeps: what intake,
// lifecycle, the outbox worker, the status page and the CLI rely on. An
// engine's tests call Run with a way to open a fresh, empty store.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketd/ticketd"
)

// Opener opens a fresh, empty store for one test and returns it with a
// function that closes it and opens the same database again.
type Opener func(t *testing.T) (s ticketd.Store, reopen func() ticketd.Store)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// Run runs the contract suite against the engine open gives.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"TicketRoundTrip", testTicketRoundTrip},
		{"Tags", testTags},
		{"ListTickets", testListTickets},
		{"MessagesAndAttachments", testMessagesAndAttachments},
		{"RawKeptExactly", testRawKeptExactly},
		{"DecodedPartsKept", testDecodedPartsKept},
		{"MessagesByMessageID", testMessagesByMessageID},
		{"ThreadAndParticipants", testThreadAndParticipants},
		{"EventsInOrder", testEventsInOrder},
		{"AddressesAndOutsiders", testAddressesAndOutsiders},
		{"LoopCounters", testLoopCounters},
		{"OutboxLifecycle", testOutboxLifecycle},
		{"ClaimIsExclusive", testClaimIsExclusive},
		{"LeaseRenewal", testLeaseRenewal},
		{"ClaimDueInBatches", testClaimDue},
		{"CountAcks", testCountAcks},
		{"DueReminders", testDue},
		{"IMAPState", testIMAPState},
		{"Search", testSearch},
		{"FailedUpdateLeavesNoTrace", testFailedUpdateLeavesNoTrace},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"NoLostUpdates", testNoLostUpdates},
		{"SameMailAtOnceStoredOnce", testSameMailAtOnce},
		{"PanicIsAnError", testPanicIsAnError},
		{"CommittedSurvivesReopen", testCommittedSurvivesReopen},
		{"SharedKeyAndTurns", testShared},
		{"SharedKeyRotation", testSharedRotation},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

func update(t *testing.T, s ticketd.Store, fn func(ticketd.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func view(t *testing.T, s ticketd.Store, fn func(ticketd.Tx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// NewTicket inserts a nuevo ticket with the given token and requester.
func NewTicket(tx ticketd.Tx, token, requester string) (*ticketd.Ticket, error) {
	tk := &ticketd.Ticket{Token: token, Mailbox: "soporte@example.com", RequesterAddr: requester, RequesterName: "Carla",
		Subject: "No puedo entrar", Status: ticketd.StatusNuevo, CreatedAt: t0, UpdatedAt: t0}
	return tk, tx.CreateTicket(tk)
}

func testTicketRoundTrip(t *testing.T, open Opener) {
	s, _ := open(t)
	var tk *ticketd.Ticket
	update(t, s, func(tx ticketd.Tx) (err error) { tk, err = NewTicket(tx, "tok1", "carla@cliente.example"); return })
	if tk.Number == 0 || tk.Priority != ticketd.DefaultPriority {
		t.Fatalf("created ticket number %d priority %q", tk.Number, tk.Priority)
	}
	later := t0.Add(time.Hour)
	tk.Status, tk.Assignee, tk.Priority, tk.PendingSince, tk.UpdatedAt = ticketd.StatusPendiente, "ana@example.com", ticketd.PriorityAlta, later, later
	update(t, s, func(tx ticketd.Tx) error { return tx.SaveTicket(tk) })
	var byTok, byNum *ticketd.Ticket
	view(t, s, func(tx ticketd.Tx) (err error) {
		if byTok, err = tx.TicketByToken("tok1"); err != nil {
			return err
		}
		byNum, err = tx.TicketByNumber(tk.Number)
		return err
	})
	for _, got := range []*ticketd.Ticket{byTok, byNum} {
		if got.Status != ticketd.StatusPendiente || got.Assignee != "ana@example.com" || got.Priority != ticketd.PriorityAlta ||
			!got.PendingSince.Equal(later) || !got.CreatedAt.Equal(t0) || got.RequesterName != "Carla" || !got.ReminderSentAt.IsZero() {
			t.Fatalf("read back %+v", got)
		}
	}
	view(t, s, func(tx ticketd.Tx) error {
		if _, err := tx.TicketByToken("nope"); !errors.Is(err, ticketd.ErrNotFound) {
			t.Errorf("missing token: %v, want ErrNotFound", err)
		}
		if _, err := tx.TicketByNumber(999); !errors.Is(err, ticketd.ErrNotFound) {
			t.Errorf("missing number: %v, want ErrNotFound", err)
		}
		return nil
	})
}

func testTags(t *testing.T, open Opener) {
	s, _ := open(t)
	update(t, s, func(tx ticketd.Tx) error {
		tk, err := NewTicket(tx, "tags", "c@x.example")
		if err != nil {
			return err
		}
		for _, tag := range []string{"vip", "factura", "vip"} {
			if _, err := tx.AddTag(tk.Number, tag); err != nil {
				return err
			}
		}
		if gone, err := tx.RemoveTag(tk.Number, "nada"); err != nil || gone {
			return fmt.Errorf("removing an absent tag: %v %v", gone, err)
		}
		got, err := tx.TicketByNumber(tk.Number)
		if err != nil {
			return err
		}
		if !slices.Equal(got.Tags, []string{"factura", "vip"}) {
			return fmt.Errorf("tags %v, want sorted [factura vip]", got.Tags)
		}
		return nil
	})
}

func testListTickets(t *testing.T, open Opener) {
	s, _ := open(t)
	update(t, s, func(tx ticketd.Tx) error {
		for i := range 5 {
			tk, err := NewTicket(tx, fmt.Sprintf("list%d", i), "c@x.example")
			if err != nil {
				return err
			}
			if i%2 == 1 {
				tk.Status = ticketd.StatusAbierto
				if err := tx.SaveTicket(tk); err != nil {
					return err
				}
			}
		}
		return nil
	})
	view(t, s, func(tx ticketd.Tx) error {
		all, err := tx.ListTickets(ticketd.TicketFilter{})
		if err != nil {
			return err
		}
		if len(all) != 5 || all[0].Number < all[4].Number {
			t.Errorf("list: %d tickets, want 5 newest first", len(all))
		}
		open, err := tx.ListTickets(ticketd.TicketFilter{Status: ticketd.StatusAbierto, Limit: 1})
		if err != nil {
			return err
		}
		if len(open) != 1 || open[0].Status != ticketd.StatusAbierto || open[0].Token != "list3" {
			t.Errorf("filtered list: %+v", open)
		}
		return nil
	})
}

func testMessagesAndAttachments(t *testing.T, open Opener) {
	s, _ := open(t)
	var m *ticketd.Message
	update(t, s, func(tx ticketd.Tx) error {
		tk, err := NewTicket(tx, "msgs", "c@x.example")
		if err != nil {
			return err
		}
		m = &ticketd.Message{Ticket: tk.Number, Author: ticketd.AuthorCustomer, FromAddr: "c@x.example", FromName: "Carla",
			MessageID: "a@x.example", Subject: "Hola", Text: "Hola\n\n> cita", NewText: "Hola", CutFlagged: true,
			Participants: []string{"soporte@example.com", "jefe@x.example"}, CreatedAt: t0,
			Attachments: []ticketd.Attachment{{PartIndex: 2, Filename: "factura.pdf", ContentType: "application/pdf", Size: 1234}}}
		if err := tx.InsertMessage(m); err != nil {
			return err
		}
		note := &ticketd.Message{Ticket: tk.Number, Author: ticketd.AuthorAgent, FromAddr: "ana@example.com", Text: "nota", NewText: "nota", Internal: true, CreatedAt: t0.Add(time.Minute)}
		return tx.InsertMessage(note)
	})
	if m.ID == 0 || m.Attachments[0].ID == 0 {
		t.Fatalf("ids not set: message %d attachment %d", m.ID, m.Attachments[0].ID)
	}
	view(t, s, func(tx ticketd.Tx) error {
		ms, err := tx.Messages(m.Ticket)
		if err != nil {
			return err
		}
		if len(ms) != 2 || ms[0].ID != m.ID || !ms[1].Internal || ms[1].Author != ticketd.AuthorAgent {
			t.Fatalf("messages: %+v", ms)
		}
		got := ms[0]
		if got.Text != "Hola\n\n> cita" || got.NewText != "Hola" || !got.CutFlagged || !slices.Equal(got.Participants, m.Participants) ||
			len(got.Attachments) != 1 || got.Attachments[0].Filename != "factura.pdf" || got.Attachments[0].Size != 1234 {
			t.Fatalf("message read back: %+v", got)
		}
		one, err := tx.Message(m.ID)
		if err != nil || one.MessageID != "a@x.example" || len(one.Attachments) != 1 {
			t.Fatalf("Message(%d): %+v %v", m.ID, one, err)
		}
		a, err := tx.Attachment(m.Attachments[0].ID)
		if err != nil || a.Message != m.ID || a.PartIndex != 2 {
			t.Fatalf("Attachment: %+v %v", a, err)
		}
		if _, err := tx.Message(m.ID + 100); !errors.Is(err, ticketd.ErrNotFound) {
			t.Errorf("missing message: %v", err)
		}
		return nil
	})
}

// What intake decoded of a mail (its HTML, its files' bytes, which images
// the HTML shows) comes back as stored, so nothing parses the raw mail again.
func testDecodedPartsKept(t *testing.T, open Opener) {
	s, reopen := open(t)
	pdf := []byte("%PDF-1.4\x00\xff\xfe binary\r\n")
	html := `<p>Hola, adjunto <img src="cid:shot@x.example"> la factura.</p>`
	var withParts, plain *ticketd.Message
	update(t, s, func(tx ticketd.Tx) error {
		tk, err := NewTicket(tx, "parts", "c@x.example")
		if err != nil {
			return err
		}
		withParts = &ticketd.Message{Ticket: tk.Number, Author: ticketd.AuthorCustomer, Text: "Hola", NewText: "Hola", HTML: html, CreatedAt: t0,
			Attachments: []ticketd.Attachment{
				{PartIndex: 3, Filename: "factura.pdf", ContentType: "application/pdf", Size: int64(len(pdf)), Content: pdf},
				{PartIndex: 4, Filename: "shot.png", ContentType: "image/png", Size: 4, ContentID: "shot@x.example", Inline: true, Content: []byte("\x89PNG")},
				{PartIndex: 5, Filename: "vacio.txt", ContentType: "text/plain", Size: 0, Content: nil},
			}}
		if err := tx.InsertMessage(withParts); err != nil {
			return err
		}
		plain = &ticketd.Message{Ticket: tk.Number, Author: ticketd.AuthorCustomer, Text: "Otra", NewText: "Otra", CreatedAt: t0.Add(time.Minute)}
		return tx.InsertMessage(plain)
	})
	s = reopen()
	view(t, s, func(tx ticketd.Tx) error {
		got, kept, err := tx.MessageHTML(withParts.ID)
		if err != nil || !kept || got != html {
			t.Fatalf("MessageHTML = %q, %v, %v; want the HTML as sent", got, kept, err)
		}
		if got, kept, err := tx.MessageHTML(plain.ID); err != nil || !kept || got != "" {
			t.Fatalf("MessageHTML of a text-only mail = %q, %v, %v; want \"\", kept", got, kept, err)
		}
		if _, _, err := tx.MessageHTML(plain.ID + 100); !errors.Is(err, ticketd.ErrNotFound) {
			t.Errorf("MessageHTML of a missing message: %v", err)
		}
		m, err := tx.Message(withParts.ID)
		if err != nil {
			return err
		}
		if len(m.Attachments) != 3 {
			t.Fatalf("attachments read back: %+v", m.Attachments)
		}
		shot := m.Attachments[1]
		if shot.ContentID != "shot@x.example" || !shot.Inline || m.Attachments[0].Inline || m.Attachments[0].ContentID != "" {
			t.Errorf("inline marks read back: %+v", m.Attachments)
		}
		want := [][]byte{pdf, []byte("\x89PNG"), {}}
		for i, a := range m.Attachments {
			if a.Content != nil {
				t.Errorf("Message loads the bytes of %s: list reads must stay light", a.Filename)
			}
			data, kept, err := tx.AttachmentContent(a.ID)
			if err != nil || !kept || !bytes.Equal(data, want[i]) || data == nil {
				t.Errorf("AttachmentContent(%s) = %q, %v, %v; want %q", a.Filename, data, kept, err, want[i])
			}
		}
		if _, _, err := tx.AttachmentContent(shot.ID + 100); !errors.Is(err, ticketd.ErrNotFound) {
			t.Errorf("AttachmentContent of a missing attachment: %v", err)
		}
		return nil
	})
}

func testRawKeptExactly(t *testing.T, open Opener) {
	s, _ := open(t)
	data := []byte("From: a@x\r\nSubject: \xff\xfe raw\r\n\r\nbody\x00with nul\r\n")
	r := &ticketd.Raw{ReceivedAt: t0, Source: "smtp", EnvelopeFrom: "a@x", Recipients: []string{"soporte@example.com", "ventas@example.com"}, SHA256: "abc", Data: data}
	update(t, s, func(tx ticketd.Tx) error { return tx.InsertRaw(r) })
	view(t, s, func(tx ticketd.Tx) error {
		got, err := tx.Raw(r.ID)
		if err != nil {
			return err
		}
		if string(got.Data) != string(data) || got.Source != "smtp" || !slices.Equal(got.Recipients, r.Recipients) || !got.ReceivedAt.Equal(t0) {
			t.Fatalf("raw read back: %+v", got)
		}
		return nil
	})
}

func testMessagesByMessageID(t *testing.T, open Opener) {
	s, _ := open(t)
	var number int64
	update(t, s, func(tx ticketd.Tx) error {
		tk, err := NewTicket(tx, "byid", "c@x.example")
		if err != nil {
			return err
		}
		number = tk.Number
		r := &ticketd.Raw{ReceivedAt: t0, Source: "smtp", SHA256: "sum1", Data: []byte("x")}
		if err := tx.InsertRaw(r); err != nil {
			return err
		}
		return tx.InsertMessage(&ticketd.Message{Ticket: tk.Number, RawID: r.ID, Author: ticketd.AuthorCustomer, FromAddr: "c@x.example",
			MessageID: "orig@x.example", Participants: []string{"cc@x.example"}, CreatedAt: t0})
	})
	view(t, s, func(tx ticketd.Tx) error {
		refs, err := tx.MessagesByMessageID("orig@x.example")
		if err != nil {
			return err
		}
		if len(refs) != 1 || refs[0].Ticket != number || refs[0].SHA256 != "sum1" || refs[0].FromAddr != "c@x.example" || !slices.Equal(refs[0].Participants, []string{"cc@x.example"}) {
			t.Fatalf("refs: %+v", refs)
		}
		none, err := tx.MessagesByMessageID("other@x.example")
		if err != nil || len(none) != 0 {
			t.Fatalf("unknown id: %+v %v", none, err)
		}
		return nil
	})
}

func testThreadAndParticipants(t *testing.T, open Opener) {
	s, _ := open(t)
	var number, last int64
	update(t, s, func(tx ticketd.Tx) error {
		tk, err := NewTicket(tx, "thread", "c@x.example")
		if err != nil {
			return err
		}
		number = tk.Number
		for i, m := range []*ticketd.Message{
			{Author: ticketd.AuthorCustomer, MessageID: "first@x", Participants: []string{"soporte@example.com", "jefe@x.example"}},
			{Author: ticketd.AuthorAgent, MessageID: "agent@x"},
			{Author: ticketd.AuthorCustomer, MessageID: "second@x"},
			{Author: ticketd.AuthorCustomer, MessageID: "internal@x", Internal: true},
		} {
			m.Ticket, m.CreatedAt = tk.Number, t0.Add(time.Duration(i)*time.Minute)
			if err := tx.InsertMessage(m); err != nil {
				return err
			}
			if m.MessageID == "second@x" {
				last = m.ID
			}
		}
		return nil
	})
	view(t, s, func(tx ticketd.Tx) error {
		th, err := tx.ThreadIDs(number)
		if err != nil {
			return err
		}
		if th != (ticketd.Thread{Root: "first@x", Last: "second@x"}) {
			t.Errorf("thread %+v", th)
		}
		parts, err := tx.RootParticipants(number)
		if err != nil || !slices.Equal(parts, []string{"soporte@example.com", "jefe@x.example"}) {
			t.Errorf("root participants %v %v", parts, err)
		}
		id, err := tx.LastCustomerMessage(number)
		if err != nil || id != last {
			t.Errorf("last customer message %d %v, want %d", id, err, last)
		}
		return nil
	})
}

func testEventsInOrder(t *testing.T, open Opener) {
	s, _ := open(t)
	var number int64
	update(t, s, func(tx ticketd.Tx) error {
		tk, err := NewTicket(tx, "events", "c@x.example")
		if err != nil {
			return err
		}
		number = tk.Number
		es := []*ticketd.Event{
			{Ticket: tk.Number, Type: ticketd.EventCreated, Actor: "c@x.example", At: t0},
			{Ticket: tk.Number, Type: ticketd.EventMessageIn, Actor: "c@x.example", At: t0},
			{Ticket: tk.Number, Type: ticketd.EventStatus, Actor: "ana@example.com", At: t0.Add(time.Hour), Detail: "nuevo -> pendiente"},
		}
		if err := tx.AddEvents(es); err != nil {
			return err
		}
		if es[0].ID == 0 || es[1].ID <= es[0].ID || es[2].ID <= es[1].ID {
			return fmt.Errorf("event ids %d %d %d", es[0].ID, es[1].ID, es[2].ID)
		}
		return nil
	})
	view(t, s, func(tx ticketd.Tx) error {
		evs, err := tx.Events(number)
		if err != nil {
			return err
		}
		if len(evs) != 3 || evs[0].Type != ticketd.EventCreated || evs[2].Detail != "nuevo -> pendiente" || !evs[2].At.Equal(t0.Add(time.Hour)) {
			t.Fatalf("events %+v", evs)
		}
		return nil
	})
}

func testOutboxLifecycle(t *testing.T, open Opener) {
	s, _ := open(t)
	p := ticketd.Params{Lang: "es", InReplyTo: "a@x", References: []string{"a@x"}, Cc: []string{"jefe@x.example"}}
	rows := []*ticketd.Outgoing{
		ticketd.NewOutgoing(0, ticketd.KindAck, "c@x.example", 0, "m1@x", p, t0),
		ticketd.NewOutgoing(0, ticketd.KindAgentNew, "ana@example.com", 0, "m2@x", ticketd.Params{}, t0.Add(time.Minute)),
		ticketd.NewOutgoing(0, ticketd.KindAgentNew, "luis@example.com", 0, "m3@x", ticketd.Params{}, t0.Add(time.Hour)),
	}
	update(t, s, func(tx ticketd.Tx) error { return tx.Enqueue(rows...) })
	if rows[0].ID == 0 || rows[2].ID <= rows[1].ID {
		t.Fatalf("ids %d %d %d", rows[0].ID, rows[1].ID, rows[2].ID)
	}
	view(t, s, func(tx ticketd.Tx) error {
		due, err := tx.DueOutgoing(t0.Add(30*time.Minute), 10)
		if err != nil {
			return err
		}
		if len(due) != 2 || due[0].ID != rows[0].ID || due[0].Kind != ticketd.KindAck || due[0].State != ticketd.OutQueued ||
			due[0].Params.Lang != "es" || !slices.Equal(due[0].Params.Cc, p.Cc) {
			t.Fatalf("due %+v", due)
		}
		next, err := tx.NextOutgoingAt()
		if err != nil || !next.Equal(t0) {
			t.Fatalf("next %v %v", next, err)
		}
		return nil
	})
	update(t, s, func(tx ticketd.Tx) error {
		if err := tx.MarkSent(rows[0].ID, t0.Add(time.Second)); err != nil {
			return err
		}
		if err := tx.MarkRetry(rows[1].ID, t0.Add(2*time.Hour), "451 try later"); err != nil {
			return err
		}
		return tx.MarkFailed(rows[2].ID, "550 no such user")
	})
	view(t, s, func(tx ticketd.Tx) error {
		due, err := tx.DueOutgoing(t0.Add(3*time.Hour), 10)
		if err != nil {
			return err
		}
		if len(due) != 1 || due[0].ID != rows[1].ID || due[0].Attempts != 1 || due[0].LastError != "451 try later" {
			t.Fatalf("after marks, due %+v", due)
		}
		next, err := tx.NextOutgoingAt()
		if err != nil || !next.Equal(t0.Add(2*time.Hour)) {
			t.Fatalf("next after marks %v %v", next, err)
		}
		return nil
	})
	// A row that was sent is never moved again.
	update(t, s, func(tx ticketd.Tx) error { return tx.MarkRetry(rows[0].ID, t0, "late") })
	view(t, s, func(tx ticketd.Tx) error {
		due, err := tx.DueOutgoing(t0.Add(3*time.Hour), 10)
		if err != nil || len(due) != 1 {
			t.Fatalf("a sent row came back: %+v %v", due, err)
		}
		return nil
	})
}

// claimOne claims for owner the one row a test queued, if it is due and
// free.
func claimOne(tx ticketd.Tx, owner string, now, until time.Time) (bool, error) {
	got, err := tx.ClaimDue(owner, now, until, 1)
	return len(got) == 1, err
}

func testClaimIsExclusive(t *testing.T, open Opener) {
	s, _ := open(t)
	o := ticketd.NewOutgoing(0, ticketd.KindAck, "c@x.example", 0, "m@x", ticketd.Params{}, t0)
	update(t, s, func(tx ticketd.Tx) error { return tx.Enqueue(o) })
	got := make([]bool, 2)
	for i := range got {
		update(t, s, func(tx ticketd.Tx) (err error) {
			got[i], err = claimOne(tx, fmt.Sprint("sender", i), t0, t0.Add(5*time.Minute))
			return
		})
	}
	if !got[0] || got[1] {
		t.Fatalf("claims = %v, want exactly the first", got)
	}
	// After the lease, another sender may take it.
	var again bool
	update(t, s, func(tx ticketd.Tx) (err error) {
		again, err = claimOne(tx, "sender3", t0.Add(6*time.Minute), t0.Add(11*time.Minute))
		return
	})
	if !again {
		t.Fatal("an expired lease could not be claimed")
	}
}

// Senders claim due rows in batches: each batch holds rows no other sender
// holds, oldest first, not the rows due later; held rows are not due until
// their lease ends, and a sender that starts again takes its own back.
// Senders claiming at the same moment share the rows, each row once.
func testClaimDue(t *testing.T, open Opener) {
	s, _ := open(t)
	var rows []*ticketd.Outgoing
	for i := range 50 {
		rows = append(rows, ticketd.NewOutgoing(0, ticketd.KindAck, fmt.Sprintf("c%d@x.example", i), 0, fmt.Sprintf("m%d@x", i), ticketd.Params{}, t0))
	}
	later := ticketd.NewOutgoing(0, ticketd.KindAck, "later@x.example", 0, "later@x", ticketd.Params{}, t0)
	later.NextAt = t0.Add(time.Hour)
	update(t, s, func(tx ticketd.Tx) error { return tx.Enqueue(append(rows, later)...) })
	lease := 30 * time.Second
	var a, b []*ticketd.Outgoing
	update(t, s, func(tx ticketd.Tx) (err error) { a, err = tx.ClaimDue("a", t0, t0.Add(lease), 3); return })
	if len(a) != 3 || a[0].ID != rows[0].ID || a[1].ID != rows[1].ID || a[2].ID != rows[2].ID {
		t.Fatalf("first batch %v, want the three oldest rows", ids(a))
	}
	if a[0].Rcpt != "c0@x.example" || a[0].Kind != ticketd.KindAck || a[0].MessageID != "m0@x" {
		t.Fatalf("claimed row read back as %+v", a[0])
	}
	update(t, s, func(tx ticketd.Tx) (err error) { b, err = tx.ClaimDue("b", t0, t0.Add(lease), 100); return })
	if len(b) != 47 || b[0].ID != rows[3].ID {
		t.Fatalf("second sender got %d rows starting at %v, want the other 47 due now", len(b), ids(b[:min(len(b), 1)]))
	}
	var due []*ticketd.Outgoing
	view(t, s, func(tx ticketd.Tx) (err error) { due, err = tx.DueOutgoing(t0.Add(lease-time.Second), 100); return })
	if len(due) != 0 {
		t.Fatalf("%d claimed rows due before their lease ended", len(due))
	}
	var n int
	update(t, s, func(tx ticketd.Tx) (err error) { n, err = tx.TakeBackClaims("a", t0.Add(time.Second)); return })
	if n != 3 {
		t.Fatalf("took back %d rows, want a's 3", n)
	}
	view(t, s, func(tx ticketd.Tx) (err error) { due, err = tx.DueOutgoing(t0.Add(time.Second), 100); return })
	if len(due) != 3 {
		t.Fatalf("%d rows due after a took its claims back, want 3", len(due))
	}

	// Two senders at once over 60 fresh rows, ten at a time.
	var more []*ticketd.Outgoing
	for i := range 60 {
		more = append(more, ticketd.NewOutgoing(0, ticketd.KindAck, fmt.Sprintf("d%d@x.example", i), 0, fmt.Sprintf("n%d@x", i), ticketd.Params{}, t0.Add(2*time.Minute)))
	}
	update(t, s, func(tx ticketd.Tx) error { return tx.Enqueue(more...) })
	now := t0.Add(3 * time.Minute) // every earlier claim has lapsed too
	var mu sync.Mutex
	seen := map[int64]string{}
	var wg sync.WaitGroup
	for _, owner := range []string{"x", "y"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var got []*ticketd.Outgoing
				if err := s.Update(context.Background(), func(tx ticketd.Tx) (err error) {
					got, err = tx.ClaimDue(owner, now, now.Add(lease), 10)
					return
				}); err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, o := range got {
					if other, ok := seen[o.ID]; ok {
						t.Errorf("row %d claimed by %s and %s", o.ID, other, owner)
					}
					seen[o.ID] = owner
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 60+50 {
		t.Fatalf("%d rows claimed by the two senders, want every due row (110) once", len(seen))
	}
}

func ids(os []*ticketd.Outgoing) []int64 {
	var out []int64
	for _, o := range os {
		out = append(out, o.ID)
	}
	return out
}

// A sender renews its lease while it works; once another sender took an
// expired lease over, the first one's renewal fails, and it must stop.
func testLeaseRenewal(t *testing.T, open Opener) {
	s, _ := open(t)
	o := ticketd.NewOutgoing(0, ticketd.KindAck, "c@x.example", 0, "m@x", ticketd.Params{}, t0)
	update(t, s, func(tx ticketd.Tx) error { return tx.Enqueue(o) })
	lease := 30 * time.Second
	var ok bool
	update(t, s, func(tx ticketd.Tx) (err error) { ok, err = claimOne(tx, "a", t0, t0.Add(lease)); return })
	if !ok {
		t.Fatal("first claim failed")
	}
	// Renewed 10 s later, the lease now ends at 40 s: nobody can take it at 35 s.
	update(t, s, func(tx ticketd.Tx) (err error) {
		ok, err = tx.RenewClaim(o.ID, "a", t0.Add(10*time.Second+lease))
		return
	})
	if !ok {
		t.Fatal("renewal of a held lease failed")
	}
	update(t, s, func(tx ticketd.Tx) (err error) {
		ok, err = claimOne(tx, "b", t0.Add(35*time.Second), t0.Add(65*time.Second))
		return
	})
	if ok {
		t.Fatal("a renewed lease was taken over before it ran out")
	}
	// The sender stalls: at 41 s another one takes the row over, and the
	// stalled sender's renewal then fails.
	update(t, s, func(tx ticketd.Tx) (err error) {
		ok, err = claimOne(tx, "b", t0.Add(41*time.Second), t0.Add(71*time.Second))
		return
	})
	if !ok {
		t.Fatal("an expired lease could not be taken over")
	}
	update(t, s, func(tx ticketd.Tx) (err error) { ok, err = tx.RenewClaim(o.ID, "a", t0.Add(80*time.Second)); return })
	if ok {
		t.Fatal("the stalled sender renewed a lease another sender holds")
	}
	// "b" dies and starts again: its claims are due at once.
	var n int
	update(t, s, func(tx ticketd.Tx) (err error) { n, err = tx.TakeBackClaims("b", t0.Add(45*time.Second)); return })
	if n != 1 {
		t.Fatalf("took back %d claims, want 1", n)
	}
	view(t, s, func(tx ticketd.Tx) error {
		due, err := tx.DueOutgoing(t0.Add(45*time.Second), 10)
		if err != nil || len(due) != 1 {
			t.Fatalf("after taking back, due %d %v", len(due), err)
		}
		return nil
	})
	// A sent row has no lease to renew.
	update(t, s, func(tx ticketd.Tx) (err error) {
		ok, err = claimOne(tx, "b", t0.Add(45*time.Second), t0.Add(75*time.Second))
		return
	})
	update(t, s, func(tx ticketd.Tx) error { return tx.MarkSent(o.ID, t0.Add(46*time.Second)) })
	update(t, s, func(tx ticketd.Tx) (err error) { ok, err = tx.RenewClaim(o.ID, "b", t0.Add(90*time.Second)); return })
	if ok {
		t.Fatal("renewed the lease of a sent row")
	}
}

func testCountAcks(t *testing.T, open Opener) {
	s, _ := open(t)
	update(t, s, func(tx ticketd.Tx) error {
		return tx.Enqueue(
			ticketd.NewOutgoing(0, ticketd.KindAck, "c@x.example", 0, "1@x", ticketd.Params{}, t0),
			ticketd.NewOutgoing(0, ticketd.KindAck, "c@x.example", 0, "2@x", ticketd.Params{}, t0.Add(50*time.Minute)),
			ticketd.NewOutgoing(0, ticketd.KindRelay, "c@x.example", 0, "3@x", ticketd.Params{}, t0.Add(50*time.Minute)),
			ticketd.NewOutgoing(0, ticketd.KindAck, "d@x.example", 0, "4@x", ticketd.Params{}, t0.Add(50*time.Minute)),
		)
	})
	view(t, s, func(tx ticketd.Tx) error {
		n, err := tx.CountAcks("C@X.example", t0.Add(10*time.Minute))
		if err != nil || n != 1 {
			t.Fatalf("acks since 10 min = %d %v, want 1", n, err)
		}
		return nil
	})
}

func testDue(t *testing.T, open Opener) {
	s, _ := open(t)
	var pending, reminded, fresh int64
	update(t, s, func(tx ticketd.Tx) error {
		mk := func(tok string, since, remindedAt time.Time) (int64, error) {
			tk, err := NewTicket(tx, tok, "c@x.example")
			if err != nil {
				return 0, err
			}
			tk.Status, tk.PendingSince, tk.ReminderSentAt = ticketd.StatusPendiente, since, remindedAt
			return tk.Number, tx.SaveTicket(tk)
		}
		var err error
		if pending, err = mk("p", t0, time.Time{}); err != nil {
			return err
		}
		if reminded, err = mk("r", t0, t0.Add(23*24*time.Hour)); err != nil {
			return err
		}
		fresh, err = mk("f", t0.Add(20*24*time.Hour), time.Time{})
		return err
	})
	view(t, s, func(tx ticketd.Tx) error {
		rem, err := tx.DueReminders("SOPORTE@example.com", t0.Add(time.Hour))
		if err != nil || !slices.Equal(rem, []int64{pending}) {
			t.Errorf("due reminders %v %v, want [%d] (not %d)", rem, err, pending, fresh)
		}
		cl, err := tx.DueCloses("soporte@example.com", t0.Add(24*24*time.Hour), t0.Add(time.Hour))
		if err != nil || !slices.Equal(cl, []int64{reminded}) {
			t.Errorf("due closes %v %v, want [%d]", cl, err, reminded)
		}
		return nil
	})
}

func testIMAPState(t *testing.T, open Opener) {
	s, _ := open(t)
	src := ticketd.IMAPSource{Addr: "IMAP.example.com:993", Username: "soporte", Folder: "INBOX"}
	view(t, s, func(tx ticketd.Tx) error {
		if _, err := tx.IMAPState(src); !errors.Is(err, ticketd.ErrNotFound) {
			t.Errorf("before first save: %v", err)
		}
		return nil
	})
	for _, last := range []uint32{10, 42} {
		update(t, s, func(tx ticketd.Tx) error {
			return tx.SaveIMAPState(src, &ticketd.IMAPState{UIDValidity: 7, LastUID: last, BacklogTop: 5, UpdatedAt: t0})
		})
	}
	view(t, s, func(tx ticketd.Tx) error {
		st, err := tx.IMAPState(ticketd.IMAPSource{Addr: "imap.example.com:993", Username: "soporte", Folder: "INBOX"})
		if err != nil || st.LastUID != 42 || st.UIDValidity != 7 || st.BacklogTop != 5 {
			t.Errorf("state %+v %v", st, err)
		}
		return nil
	})
}

func testSearch(t *testing.T, open Opener) {
	s, _ := open(t)
	var factura, other int64
	update(t, s, func(tx ticketd.Tx) error {
		for i := range 250 {
			tok := fmt.Sprintf("search%d", i%5)
			tk, err := tx.TicketByToken(tok)
			if errors.Is(err, ticketd.ErrNotFound) {
				tk, err = NewTicket(tx, tok, fmt.Sprintf("cliente%d@x.example", i%5))
			}
			if err != nil {
				return err
			}
			text := "una consulta normal"
			if i == 237 {
				text = "la facturación duplicada del mes"
				factura = tk.Number
			} else {
				other = tk.Number
			}
			if err := tx.InsertMessage(&ticketd.Message{Ticket: tk.Number, Author: ticketd.AuthorCustomer, Subject: "hola", Text: text, NewText: text, CreatedAt: t0}); err != nil {
				return err
			}
		}
		return nil
	})
	// An engine may index in the background too; together they index
	// each message once, and the search below sees them all.
	n, err := s.IndexSearch(context.Background())
	if err != nil || n > 250 {
		t.Fatalf("IndexSearch = %d, %v; want at most 250", n, err)
	}
	if n, _ := s.IndexSearch(context.Background()); n != 0 {
		t.Fatalf("second IndexSearch indexed %d again", n)
	}
	view(t, s, func(tx ticketd.Tx) error {
		// Accents are ignored and a word finds its longer forms.
		hits, err := tx.Search(ticketd.SearchQuery{Text: "FACTURACION"})
		if err != nil || len(hits) != 1 || hits[0].Ticket.Number != factura || hits[0].Match != "text" || !strings.Contains(hits[0].Snippet, "[facturación]") {
			t.Errorf("text search: %+v %v", hits, err)
		}
		hits, err = tx.Search(ticketd.SearchQuery{Text: "factur"})
		if err != nil || len(hits) != 1 {
			t.Errorf("prefix search: %+v %v", hits, err)
		}
		hits, err = tx.Search(ticketd.SearchQuery{Text: fmt.Sprintf("#%d", other)})
		if err != nil || len(hits) == 0 || hits[0].Ticket.Number != other || hits[0].Match != "number" {
			t.Errorf("number search: %+v %v", hits, err)
		}
		hits, err = tx.Search(ticketd.SearchQuery{Text: "Cliente2@x.example"})
		if err != nil || len(hits) != 1 || hits[0].Match != "requester" || hits[0].Ticket.RequesterAddr != "cliente2@x.example" {
			t.Errorf("requester search: %+v %v", hits, err)
		}
		hits, err = tx.Search(ticketd.SearchQuery{Text: "factura", Status: ticketd.StatusCerrado})
		if err != nil || len(hits) != 0 {
			t.Errorf("status filter: %+v %v", hits, err)
		}
		// Query syntax in the input is taken literally, never an error.
		if _, err := tx.Search(ticketd.SearchQuery{Text: `"NEAR( AND * OR -`}); err != nil {
			t.Errorf("odd input: %v", err)
		}
		return nil
	})
}

func testFailedUpdateLeavesNoTrace(t *testing.T, open Opener) {
	s, _ := open(t)
	err := s.Update(context.Background(), func(tx ticketd.Tx) error {
		if _, err := NewTicket(tx, "refused", "c@x.example"); err != nil {
			return err
		}
		return errors.New("refused")
	})
	if err == nil {
		t.Fatal("a failing fn reported success")
	}
	view(t, s, func(tx ticketd.Tx) error {
		if _, err := tx.TicketByToken("refused"); !errors.Is(err, ticketd.ErrNotFound) {
			t.Errorf("refused work was kept: %v", err)
		}
		return nil
	})
}

// Callers that commit at the same moment each get their own answer: the
// failing ones leave no trace, the others are all kept.
func testConcurrentUpdates(t *testing.T, open Opener) {
	s, _ := open(t)
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Update(context.Background(), func(tx ticketd.Tx) error {
				tk, err := NewTicket(tx, fmt.Sprintf("conc%d", i), "c@x.example")
				if err != nil {
					return err
				}
				if err := tx.AddEvents([]*ticketd.Event{{Ticket: tk.Number, Type: ticketd.EventCreated, Actor: "x", At: t0}}); err != nil {
					return err
				}
				if i%4 == 0 {
					return errors.New("refused")
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if (i%4 == 0) != (err != nil) {
			t.Fatalf("job %d: err %v", i, err)
		}
	}
	view(t, s, func(tx ticketd.Tx) error {
		tks, err := tx.ListTickets(ticketd.TicketFilter{})
		if err != nil {
			return err
		}
		if len(tks) != 30 {
			t.Fatalf("%d tickets committed, want 30", len(tks))
		}
		for _, tk := range tks {
			evs, err := tx.Events(tk.Number)
			if err != nil {
				return err
			}
			if len(evs) != 1 {
				t.Fatalf("ticket %d has %d events", tk.Number, len(evs))
			}
		}
		return nil
	})
}

// Callers that read and change the same ticket at the same moment (two
// processes answering one ticket) each see the other's change: none is lost.
func testNoLostUpdates(t *testing.T, open Opener) {
	s, _ := open(t)
	var number int64
	update(t, s, func(tx ticketd.Tx) error {
		tk, err := NewTicket(tx, "race", "c@x.example")
		number = tk.Number
		return err
	})
	const writers = 10
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Update(context.Background(), func(tx ticketd.Tx) error {
				tk, err := tx.TicketByNumber(number)
				if err != nil {
					return err
				}
				tk.Subject += fmt.Sprintf(" %d", i)
				return tx.SaveTicket(tk)
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	view(t, s, func(tx ticketd.Tx) error {
		tk, err := tx.TicketByNumber(number)
		if err != nil {
			return err
		}
		for i := range writers {
			if !slices.Contains(strings.Fields(tk.Subject), fmt.Sprint(i)) {
				t.Errorf("writer %d's change was lost: subject %q", i, tk.Subject)
			}
		}
		return nil
	})
}

// The same mail delivered by several callers at the same moment (a sender
// that lost a 250 and retried through another process while the first
// delivery was still committing) is stored once: a caller that looks its
// Message-ID up in a write transaction sees every copy committed before.
func testSameMailAtOnce(t *testing.T, open Opener) {
	s, _ := open(t)
	var number int64
	update(t, s, func(tx ticketd.Tx) error {
		tk, err := NewTicket(tx, "dup", "c@x.example")
		number = tk.Number
		return err
	})
	var wg sync.WaitGroup
	errs := make([]error, 8)
	// Each caller, having looked, waits (up to 100 ms) for the others to
	// have looked too before it writes: the widest window for a race.
	var looked sync.WaitGroup
	looked.Add(len(errs))
	allLooked := make(chan struct{})
	go func() { looked.Wait(); close(allLooked) }()
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			errs[i] = s.Update(context.Background(), func(tx ticketd.Tx) error {
				refs, err := tx.MessagesByMessageID("once@x.example")
				if first {
					first = false
					looked.Done()
				}
				select {
				case <-allLooked:
				case <-time.After(100 * time.Millisecond):
				}
				if err != nil || len(refs) > 0 {
					return err
				}
				return tx.InsertMessage(&ticketd.Message{Ticket: number, Author: ticketd.AuthorCustomer, MessageID: "once@x.example", CreatedAt: t0})
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
	}
	view(t, s, func(tx ticketd.Tx) error {
		refs, err := tx.MessagesByMessageID("once@x.example")
		if err == nil && len(refs) != 1 {
			t.Errorf("the mail was stored %d times", len(refs))
		}
		return err
	})
}

func testPanicIsAnError(t *testing.T, open Opener) {
	s, _ := open(t)
	if err := s.Update(context.Background(), func(ticketd.Tx) error { panic("boom") }); err == nil {
		t.Fatal("panic swallowed")
	}
	update(t, s, func(tx ticketd.Tx) error { _, err := NewTicket(tx, "after", "c@x.example"); return err })
}

func testCommittedSurvivesReopen(t *testing.T, open Opener) {
	s, reopen := open(t)
	update(t, s, func(tx ticketd.Tx) error { _, err := NewTicket(tx, "durable", "c@x.example"); return err })
	s2 := reopen()
	view(t, s2, func(tx ticketd.Tx) error { _, err := tx.TicketByToken("durable"); return err })
}

func testAddressesAndOutsiders(t *testing.T, open Opener) {
	s, _ := open(t)
	var number int64
	update(t, s, func(tx ticketd.Tx) error {
		tk, err := NewTicket(tx, "addrs", "Carla@Cliente.example")
		if err != nil {
			return err
		}
		number = tk.Number
		for i, m := range []*ticketd.Message{
			{Author: ticketd.AuthorCustomer, FromAddr: "carla@cliente.example", Participants: []string{"soporte@example.com", "Jefe@cliente.example"}},
			{Author: ticketd.AuthorCustomer, FromAddr: "mallory@evil.example", Internal: true, Outsider: true},
			{Author: ticketd.AuthorCustomer, FromAddr: "eve@evil.example", Internal: true, Outsider: true},
			{Author: ticketd.AuthorCustomer, FromAddr: "mallory@evil.example", Internal: true, Outsider: true},
		} {
			m.Ticket, m.CreatedAt = tk.Number, t0.Add(time.Duration(i)*time.Minute)
			if err := tx.InsertMessage(m); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx ticketd.Tx) error {
		a, err := tx.TicketAddresses(number)
		if err != nil {
			return err
		}
		if !slices.Equal(a.Participants, []string{"carla@cliente.example", "soporte@example.com", "jefe@cliente.example"}) ||
			!slices.Equal(a.Outsiders, []string{"eve@evil.example", "mallory@evil.example"}) {
			t.Errorf("addresses %+v", a)
		}
		if !a.Takes("JEFE@cliente.example") || a.Takes("mallory@evil.example") {
			t.Errorf("Takes is wrong for %+v", a)
		}
		return nil
	})
	var n int
	update(t, s, func(tx ticketd.Tx) (err error) { n, err = tx.AcceptOutsider(number, "Mallory@evil.example"); return })
	if n != 2 {
		t.Fatalf("accepted %d mails, want 2", n)
	}
	view(t, s, func(tx ticketd.Tx) error {
		a, err := tx.TicketAddresses(number)
		if err != nil {
			return err
		}
		if !a.Takes("mallory@evil.example") || !slices.Equal(a.Outsiders, []string{"eve@evil.example"}) {
			t.Errorf("after accepting: %+v", a)
		}
		ms, err := tx.Messages(number)
		if err != nil {
			return err
		}
		if ms[1].Internal || ms[1].Outsider || !ms[2].Outsider || !ms[2].Internal {
			t.Errorf("accepted mail still apart, or the other one not: %+v %+v", ms[1], ms[2])
		}
		return nil
	})
}

func testLoopCounters(t *testing.T, open Opener) {
	s, _ := open(t)
	var number int64
	update(t, s, func(tx ticketd.Tx) error {
		tk, err := NewTicket(tx, "loops", "c@x.example")
		if err != nil {
			return err
		}
		other, err := NewTicket(tx, "loops2", "d@x.example")
		if err != nil {
			return err
		}
		number = tk.Number
		for i, auto := range []bool{true, false, true} {
			if err := tx.InsertMessage(&ticketd.Message{Ticket: tk.Number, Author: ticketd.AuthorCustomer, Automatic: auto, CreatedAt: t0.Add(time.Duration(i) * time.Hour)}); err != nil {
				return err
			}
		}
		return tx.Enqueue(
			ticketd.NewOutgoing(tk.Number, ticketd.KindAgentReply, "ana@example.com", 0, "1@x", ticketd.Params{}, t0),
			ticketd.NewOutgoing(tk.Number, ticketd.KindAgentReply, "Ana@example.com", 0, "2@x", ticketd.Params{}, t0.Add(2*time.Hour)),
			ticketd.NewOutgoing(tk.Number, ticketd.KindNote, "ana@example.com", 0, "3@x", ticketd.Params{}, t0.Add(2*time.Hour)),
			ticketd.NewOutgoing(tk.Number, ticketd.KindRelay, "c@x.example", 0, "4@x", ticketd.Params{}, t0.Add(2*time.Hour)),
			ticketd.NewOutgoing(other.Number, ticketd.KindAgentReply, "ana@example.com", 0, "5@x", ticketd.Params{}, t0.Add(2*time.Hour)),
		)
	})
	view(t, s, func(tx ticketd.Tx) error {
		n, err := tx.RecentAutomatic(number, t0.Add(90*time.Minute))
		if err != nil || n != 1 {
			t.Errorf("recent automatic %d %v, want 1", n, err)
		}
		c, err := tx.NotificationCounts(number, t0.Add(time.Hour))
		if err != nil || len(c) != 1 || c["ana@example.com"] != 2 {
			t.Errorf("notification counts %v %v, want ana: 2 (relays to the customer and other tickets not counted)", c, err)
		}
		return nil
	})
}

// Engines shared by several processes keep the first process's reply key
// for every later one, and give named turns one process at a time.
func testShared(t *testing.T, open Opener) {
	s, reopen := open(t)
	sh, ok := s.(ticketd.Shared)
	if !ok {
		t.Skip("this engine serves one process's data_dir; its key lives there")
	}
	ctx := context.Background()
	first := []byte("0123456789abcdef0123456789abcdef")
	got, err := sh.ReplyKey(ctx, first)
	if err != nil || string(got) != string(first) {
		t.Fatalf("first ReplyKey = %q, %v; want the fresh key stored", got, err)
	}
	got, err = sh.ReplyKey(ctx, []byte("another key, drawn by a second process"))
	if err != nil || string(got) != string(first) {
		t.Fatalf("second ReplyKey = %q, %v; want the first key", got, err)
	}
	sh = reopen().(ticketd.Shared)
	got, err = sh.ReplyKey(ctx, []byte("a third"))
	if err != nil || string(got) != string(first) {
		t.Fatalf("ReplyKey after reopen = %q, %v; want the first key", got, err)
	}
	var mu sync.Mutex
	inside, most := 0, 0
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := sh.Exclusive(ctx, "pass", func(context.Context) error {
				mu.Lock()
				inside++
				most = max(most, inside)
				mu.Unlock()
				// Give another caller the chance to come in, were the turn not exclusive.
				time.Sleep(20 * time.Millisecond)
				mu.Lock()
				inside--
				mu.Unlock()
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if most != 1 {
		t.Fatalf("%d callers were inside Exclusive at once", most)
	}
}

// A rotation on an engine shared by several processes makes the new key
// the one every process gets, and keeps each key it replaced, newest
// first, retired at the rotation's moment, across a reopen. A database
// without a key gets its first one.
func testSharedRotation(t *testing.T, open Opener) {
	s, reopen := open(t)
	sh, ok := s.(ticketd.Shared)
	if !ok {
		t.Skip("this engine serves one process's data_dir; its keys live there (replykeys)")
	}
	ctx := context.Background()
	if cur, old, err := sh.ReplyKeys(ctx); err != nil || cur != nil || len(old) != 0 {
		t.Fatalf("ReplyKeys on a new database = %q, %d retired, %v; want none", cur, len(old), err)
	}
	first := []byte("0123456789abcdef0123456789abcdef")
	if had, err := sh.RotateReplyKey(ctx, first, t0); err != nil || had {
		t.Fatalf("rotation without a key: had %v, %v; want a first key", had, err)
	}
	if got, err := sh.ReplyKey(ctx, []byte("a process starting now")); err != nil || string(got) != string(first) {
		t.Fatalf("ReplyKey after the first rotation = %q, %v", got, err)
	}
	second := []byte("fedcba9876543210fedcba9876543210")
	third := []byte("third key, drawn by keys rotate..")
	if had, err := sh.RotateReplyKey(ctx, second, t0.Add(time.Hour)); err != nil || !had {
		t.Fatalf("rotation: had %v, %v", had, err)
	}
	if had, err := sh.RotateReplyKey(ctx, third, t0.Add(time.Hour+time.Millisecond)); err != nil || !had {
		t.Fatalf("second rotation: had %v, %v", had, err)
	}
	check := func(sh ticketd.Shared, when string) {
		t.Helper()
		cur, old, err := sh.ReplyKeys(ctx)
		if err != nil || string(cur) != string(third) {
			t.Fatalf("%s: signing key %q, %v; want the newest", when, cur, err)
		}
		if len(old) != 2 || string(old[0].Key) != string(second) || !old[0].RetiredAt.Equal(t0.Add(time.Hour+time.Millisecond)) ||
			string(old[1].Key) != string(first) || !old[1].RetiredAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("%s: retired keys %+v; want the second (retired at %v), then the first (at %v)", when, old, t0.Add(time.Hour+time.Millisecond), t0.Add(time.Hour))
		}
		if got, err := sh.ReplyKey(ctx, []byte("yet another process")); err != nil || string(got) != string(third) {
			t.Fatalf("%s: ReplyKey = %q, %v; want the newest key", when, got, err)
		}
	}
	check(sh, "after two rotations")
	check(reopen().(ticketd.Shared), "after reopening")
}
