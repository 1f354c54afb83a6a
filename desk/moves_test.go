package desk_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/daemon/daemontest"
)

func eventsOf(evs []ticketd.Event, typ ticketd.EventType) []ticketd.Event {
	var out []ticketd.Event
	for _, e := range evs {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// Moving a ticket's message into Mios takes it, into Libres releases it,
// into Cerrado closes it: each recorded with the agent as actor, exactly as
// the #take, #release and #close lines of a mail record it.
func TestMovesAreCommands(t *testing.T) {
	e := startDesk(t, "")
	n := e.open(carla, "Carla Ruiz", "No puedo entrar", "Hola.")
	viaMail := e.open(pedro, "Pedro Gil", "Otra cosa", "Hola.")
	c := e.login(ana)
	inbox := folder(t, c, "INBOX")

	data, err := c.Move(imap.UIDSetNum(inbox[0].uid), "Mios").Wait()
	if err != nil {
		t.Fatalf("MOVE to Mios: %v", err)
	}
	if tk := e.ticket(n); tk.Assignee != ana || tk.Status != ticketd.StatusNuevo {
		t.Fatalf("after the move: assignee %q status %s", tk.Assignee, tk.Status)
	}
	mine := folder(t, c, "Mios")
	if len(mine) != 1 || mine[0].uid <= inbox[0].uid {
		t.Fatalf("Mios %v", mine)
	}
	if data != nil && data.DestUIDs.String() != imap.UIDSetNum(mine[0].uid).String() {
		t.Errorf("COPYUID dest %v, want %d", data.DestUIDs, mine[0].uid)
	}
	// Luis, who was told of the new ticket, hears that Ana took it.
	if mails := e.Flush(); len(mails) != 1 || len(daemontest.To(mails, luis)) != 1 || !strings.Contains(string(mails[0].Data), "ha tomado la solicitud") {
		t.Fatalf("after the desk's take: %d mails", len(mails))
	}
	// The same take by mail, for comparison: the same history, the same line to Luis.
	e.reply(viaMail, ana, "#tomar")
	deskTake, mailTake := eventsOf(e.events(n), ticketd.EventAssigned), eventsOf(e.events(viaMail), ticketd.EventAssigned)
	if len(deskTake) != 1 || len(mailTake) != 1 || deskTake[0].Actor != ana || deskTake[0].Actor != mailTake[0].Actor || deskTake[0].Detail != mailTake[0].Detail {
		t.Fatalf("desk take %+v, mail take %+v", deskTake, mailTake)
	}

	// Libres releases.
	if _, err := c.Select("Mios", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Move(imap.SeqSetNum(1), "Libres").Wait(); err != nil {
		t.Fatalf("MOVE to Libres: %v", err)
	}
	if tk := e.ticket(n); tk.Assignee != "" {
		t.Fatalf("after Libres: assignee %q", tk.Assignee)
	}
	if ev := eventsOf(e.events(n), ticketd.EventAssigned); len(ev) != 2 || ev[1].Detail != "unassigned" || ev[1].Actor != ana {
		t.Fatalf("release events %+v", ev)
	}

	// Cerrado closes, through the one status transition.
	free := folder(t, c, "Libres")
	if _, err := c.Move(imap.UIDSetNum(free[0].uid), "Cerrado").Wait(); err != nil {
		t.Fatalf("MOVE to Cerrado: %v", err)
	}
	tk := e.ticket(n)
	if tk.Status != ticketd.StatusCerrado || tk.ClosedAt.IsZero() {
		t.Fatalf("after Cerrado: %s closed %v", tk.Status, tk.ClosedAt)
	}
	st, cl := eventsOf(e.events(n), ticketd.EventStatus), eventsOf(e.events(n), ticketd.EventClosed)
	if len(st) != 1 || st[0].Detail != "nuevo -> cerrado" || st[0].Actor != ana || len(cl) != 1 || cl[0].Actor != ana {
		t.Fatalf("close events %+v %+v", st, cl)
	}
	if closed := folder(t, c, "Cerrado"); len(closed) != 1 || !strings.Contains(closed[0].body, "Estado: Cerrado") {
		t.Fatalf("Cerrado %v", subjects(closed))
	}
	// Releasing and closing mailed nobody, as #devolver and #cerrar do not.
	if mails := e.Flush(); len(mails) != 0 {
		t.Fatalf("desk release and close sent %d mails", len(mails))
	}
}

// Thunderbird and others move with COPY, then \Deleted and EXPUNGE.
func TestCopyThenDeleteIsAMove(t *testing.T) {
	e := startDesk(t, "")
	n := e.open(carla, "Carla Ruiz", "No puedo entrar", "Hola.")
	c := e.login(ana)
	inbox := folder(t, c, "INBOX")
	uid := imap.UIDSetNum(inbox[0].uid)
	if _, err := c.Copy(uid, "Cerrado").Wait(); err != nil {
		t.Fatalf("COPY: %v", err)
	}
	if err := c.Store(uid, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatalf("STORE \\Deleted after COPY: %v", err)
	}
	if err := c.UIDExpunge(uid).Close(); err != nil {
		t.Fatalf("EXPUNGE: %v", err)
	}
	if tk := e.ticket(n); tk.Status != ticketd.StatusCerrado {
		t.Fatalf("status %s after COPY to Cerrado", tk.Status)
	}
	if got := folder(t, c, "INBOX"); len(got) != 0 {
		t.Fatalf("INBOX still shows %v", subjects(got))
	}
}

// Every other write is refused with NO, and changes nothing.
func TestOtherWritesRefused(t *testing.T) {
	e := startDesk(t, "")
	n := e.open(carla, "Carla Ruiz", "No puedo entrar", "Hola.")
	c := e.login(ana)
	folder(t, c, "INBOX")
	isNo := func(what string, err error) {
		t.Helper()
		var ie *imap.Error
		if !errors.As(err, &ie) || ie.Type != imap.StatusResponseTypeNo {
			t.Errorf("%s: %v, want NO", what, err)
		}
	}
	isNo("STORE \\Flagged", c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close())
	isNo("STORE \\Deleted", c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close())
	_, err := c.Move(imap.SeqSetNum(1), "Pendiente").Wait()
	isNo("MOVE to Pendiente", err)
	_, err = c.Move(imap.SeqSetNum(1), "Papelera").Wait()
	isNo("MOVE to a folder that does not exist", err)
	isNo("CREATE", c.Create("Archivo", nil).Wait())
	isNo("RENAME", c.Rename("Mios", "Mine", nil).Wait())
	isNo("DELETE", c.Delete("Libres").Wait())
	raw := "From: ana@example.com\r\nSubject: x\r\n\r\nx\r\n"
	app := c.Append("INBOX", int64(len(raw)), nil)
	app.Write([]byte(raw))
	app.Close()
	_, err = app.Wait()
	isNo("APPEND", err)
	if tk := e.ticket(n); tk.Status != ticketd.StatusNuevo || tk.Assignee != "" {
		t.Fatalf("a refused write changed the ticket: %s %q", tk.Status, tk.Assignee)
	}
	if got := folder(t, c, "INBOX"); len(got) != 1 {
		t.Fatalf("INBOX %v", subjects(got))
	}
}
