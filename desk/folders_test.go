package desk_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/threading"
)

// An agent sees the queues of the mailboxes she serves, one message per
// ticket, written so that her mail client's Reply answers the customer.
func TestFoldersShowTheQueues(t *testing.T) {
	e := startDesk(t, withVentas(t.TempDir()))
	n1 := e.open(carla, "Carla Ruiz", "No puedo entrar", "Hola, desde ayer no puedo entrar: la contraseña no va.")
	n2 := e.open(pedro, "Pedro Gil", "Factura duplicada", "Me han cobrado dos veces.")
	n3 := e.open("joe@buyer.example", "Joe Buyer", "Quote please", "How much for 10?", "ventas@example.com")

	c := e.login(ana)
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range list {
		names = append(names, l.Mailbox)
	}
	if want := []string{"INBOX", "Nuevo", "Abierto", "Pendiente", "Cerrado", "Mios", "Libres"}; !slices.Equal(names, want) {
		t.Fatalf("LIST %v, want %v", names, want)
	}

	inbox := folder(t, c, "INBOX")
	if got := subjects(inbox); !slices.Equal(got, []string{"[#1] No puedo entrar", "[#2] Factura duplicada"}) {
		t.Fatalf("Ana's INBOX %v (ventas #%d is not hers)", got, n3)
	}
	m := inbox[0]
	tk := e.ticket(n1)
	wantReply := threading.AgentAddress("soporte@example.com", tk.Token, threading.AgentTag(e.D.Desk.Key, tk.Token, ana))
	if from := m.get("From"); from != `"Carla Ruiz" <carla@cliente.example>` && from != "Carla Ruiz <carla@cliente.example>" {
		t.Errorf("From %q", from)
	}
	if !strings.Contains(m.get("Reply-To"), wantReply) {
		t.Errorf("Reply-To %q, want Ana's reply address %s", m.get("Reply-To"), wantReply)
	}
	if tok, ok := threading.TokenFromMessageID(m.get("Message-Id")); !ok || tok != tk.Token {
		t.Errorf("Message-ID %q does not carry the ticket's token", m.get("Message-Id"))
	}
	if !strings.HasPrefix(m.body, "Estado: Nuevo · Asignado a: nadie · Prioridad: Media\n") || !strings.Contains(m.body, "la contraseña no va") ||
		!strings.Contains(m.body, "Carla Ruiz <carla@cliente.example> (cliente)") {
		t.Errorf("body:\n%s", m.body)
	}
	if m.seen {
		t.Error("a new ticket is seen already")
	}

	// Luis serves both mailboxes; he sees the ventas ticket too.
	cl := e.login(luis)
	if got := subjects(folder(t, cl, "INBOX")); len(got) != 3 || got[2] != "[#3] Quote please" {
		t.Fatalf("Luis's INBOX %v", got)
	}
	_ = n2
}

// \Seen is kept per agent: what Ana read is still unread for Luis.
func TestSeenPerAgent(t *testing.T) {
	e := startDesk(t, "")
	e.open(carla, "Carla Ruiz", "No puedo entrar", "Hola.")
	c := e.login(ana)
	folder(t, c, "INBOX")
	// Reading the body (not PEEK) marks it seen, as in any mail client.
	if _, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect(); err != nil {
		t.Fatal(err)
	}
	if m := folder(t, c, "INBOX"); !m[0].seen {
		t.Fatal("Ana read the ticket but it is not seen")
	}
	// Another session of Ana (her phone) sees it read; Luis does not.
	if m := folder(t, e.login(ana), "Nuevo"); !m[0].seen {
		t.Fatal("not seen in Ana's other session and folder")
	}
	if m := folder(t, e.login(luis), "INBOX"); m[0].seen {
		t.Fatal("seen for Luis, who never opened it")
	}
	// And unseen again when she says so.
	if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsDel, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if m := folder(t, e.login(ana), "INBOX"); m[0].seen {
		t.Fatal("-FLAGS \\Seen did not take")
	}
}

// A ticket that changes comes back as a new message (new UID, unread) and
// leaves the folders it no longer belongs to.
func TestChangedTicketIsANewMessage(t *testing.T) {
	e := startDesk(t, "")
	n := e.open(carla, "Carla Ruiz", "No puedo entrar", "Hola.")
	c := e.login(ana)
	before := folder(t, c, "INBOX")
	if _, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect(); err != nil {
		t.Fatal(err)
	}
	validity := lastValidity

	e.reply(n, ana, "Hola Carla, ya está restablecida.")
	if got := folder(t, c, "INBOX"); len(got) != 0 {
		t.Fatalf("INBOX after Ana answered: %v (a pending ticket waits for the customer)", subjects(got))
	}
	pend := folder(t, c, "Pendiente")
	if len(pend) != 1 || pend[0].uid <= before[0].uid || pend[0].seen {
		t.Fatalf("Pendiente %+v; want the ticket under a UID above %d, unread", pend, before[0].uid)
	}
	if lastValidity != validity {
		t.Fatal("UIDVALIDITY changed")
	}
	body := pend[0].body
	if !strings.HasPrefix(body, "Estado: Pendiente · Asignado a: Ana Pérez") {
		t.Fatalf("status line:\n%s", body)
	}
	// Newest first: Ana's answer above Carla's mail.
	if i, j := strings.Index(body, "ya está restablecida"), strings.Index(body, "Hola."); i < 0 || j < 0 || i > j {
		t.Fatalf("conversation not newest first:\n%s", body)
	}
	if mine := folder(t, c, "Mios"); len(mine) != 1 || mine[0].uid != pend[0].uid {
		t.Fatalf("Mios %v", subjects(mine))
	}
	if free := folder(t, c, "Libres"); len(free) != 0 {
		t.Fatalf("Libres %v", subjects(free))
	}
}

// Replying to a ticket's message on the desk is replying to the customer,
// exactly like replying to a notification; internal notes show as such.
func TestReplyFromTheDesk(t *testing.T) {
	e := startDesk(t, "")
	n := e.open(carla, "Carla Ruiz", "No puedo entrar", "Hola, no puedo entrar.")
	tk := e.ticket(n)
	note := threading.NoteAddress("soporte@example.com", tk.Token, threading.NoteTag(e.D.Desk.Key, tk.Token, luis))
	e.MustSend(luis, []string{note}, "From: luis@example.com\r\nTo: "+note+"\r\nSubject: nota\r\n\r\nEs cliente VIP.\r\n")
	e.Flush()
	c := e.login(ana)
	m := folder(t, c, "INBOX")[0]
	if !strings.Contains(m.body, "Luis García (NOTA INTERNA)") || !strings.Contains(m.body, "Es cliente VIP.") {
		t.Fatalf("the note is not marked:\n%s", m.body)
	}
	// What Ana's client sends when she hits Reply.
	to := m.get("Reply-To")
	if i := strings.Index(to, "<"); i >= 0 {
		to = strings.Trim(to[i:], "<>")
	}
	e.MustSend(ana, []string{to}, "From: Ana Pérez <ana@example.com>\r\nTo: "+to+"\r\nSubject: Re: "+m.get("Subject")+
		"\r\nIn-Reply-To: "+m.get("Message-Id")+"\r\nReferences: "+m.get("References")+" "+m.get("Message-Id")+
		"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHola Carla, ya está restablecida.\r\n\r\n> Estado: Nuevo\r\n")
	mails := e.Flush()
	relay := daemontest.To(mails, carla)
	if len(relay) != 1 || !strings.Contains(string(relay[0].Data), "ya est") || strings.Contains(string(relay[0].Data), "Estado: Nuevo") {
		t.Fatalf("Carla got %d mails from Ana's reply on the desk", len(relay))
	}
	if tk := e.ticket(n); tk.Status != "pendiente" || tk.Assignee != ana {
		t.Fatalf("after the reply: %s %q", tk.Status, tk.Assignee)
	}
}
