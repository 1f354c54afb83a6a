package lifecycle_test

import (
	"strings"
	"testing"

	"github.com/ticketd/ticketd/threading"
)

// Agents' mails read well: who wrote is in From ("Carla Ruiz via Soporte
// Example"), the text starts with where the ticket stands, every mail about
// one ticket to one agent names the same root first in References, and the
// colleagues who were told of a ticket hear in one line that it was answered.
func TestNotificationsReadWell(t *testing.T) {
	w := newWorld(t, "")
	w.MustSend(carla, []string{"soporte@example.com"}, rawMail([]string{
		"From: Carla Ruiz <carla@cliente.example>", "To: soporte@example.com", "Subject: No puedo entrar", "Message-ID: " + w.msgid(),
	}, "Hola, no puedo entrar."))
	mails := w.flush()
	tk := w.ticket(1)
	root := func(agent string) string {
		return "<" + threading.AgentRootID(w.D.Desk.Key, tk.Token, agent, "tickets.example.com") + ">"
	}
	note := to(mails, ana)
	if len(note) != 1 {
		t.Fatalf("new ticket:%s", summary(mails))
	}
	n := note[0]
	if from := n.env.GetHeader("From"); !strings.Contains(from, "Carla Ruiz via Soporte Example") || !strings.Contains(from, "<soporte@example.com>") {
		t.Errorf("From %q", from)
	}
	if !strings.HasPrefix(strings.ReplaceAll(n.text, "\r\n", "\n"), "Estado: Nuevo · Asignado a: nadie · Prioridad: Media\n") {
		t.Errorf("text starts:\n%s", n.text)
	}
	if refs := n.env.GetHeader("References"); !strings.HasPrefix(refs, root(ana)) {
		t.Errorf("References %q, want %s first", refs, root(ana))
	}
	if refs := to(mails, luis)[0].env.GetHeader("References"); !strings.HasPrefix(refs, root(luis)) || root(luis) == root(ana) {
		t.Errorf("Luis's References %q, want his own root %s", refs, root(luis))
	}

	// Ana answers: Luis, who was told of the ticket, gets one short line.
	w.agent(1, ana, "Hola Carla, ya está.")
	mails = w.flush()
	l := to(mails, luis)
	if len(l) != 1 || !strings.Contains(l[0].subject, "Ana Pérez ha respondido") ||
		!strings.HasPrefix(l[0].text, "Estado: Pendiente · Asignado a: Ana Pérez · Prioridad: Media") ||
		!strings.HasPrefix(l[0].env.GetHeader("References"), root(luis)) {
		t.Fatalf("colleague line:%s\n%v", summary(mails), l)
	}

	// Carla answers: Ana's notification threads under the same root.
	w.customer(1, "Sigue sin ir.")
	mails = w.flush()
	a := to(mails, ana)
	if len(a) != 1 || !strings.HasPrefix(a[0].env.GetHeader("References"), root(ana)) || !strings.Contains(a[0].env.GetHeader("From"), "via Soporte Example") {
		t.Fatalf("reply notification:%s", summary(mails))
	}
	if len(to(mails, luis)) != 0 {
		t.Fatalf("Luis told of a ticket that is Ana's:%s", summary(mails))
	}
}
