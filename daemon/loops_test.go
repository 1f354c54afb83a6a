package daemon_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ticketd/ticketd/daemon/daemontest"
)

// A stranger who learned a ticket's reply address (it travels in Reply-To,
// Message-IDs and every Cc) cannot speak for the customer: the mail is kept
// for the agents, changes nothing, closes nothing, thanks nobody, until an
// agent accepts its sender.
func TestLeakedTokenGivesAStrangerNothing(t *testing.T) {
	e := daemontest.Start(t, "")
	tk, _ := openTicket(t, e, "carla@cliente.example", "Factura")
	anaReply := agentAddress(t, e, tk)
	e.MustSend("ana@example.com", []string{anaReply}, mail("From: ana@example.com", "To: "+anaReply, "Subject: Re", "", "Revisado, ¿sigue igual?"))
	e.Flush()
	custAddr := "soporte+" + tk.Token + "@example.com"
	e.MustSend("mallory@evil.example", []string{custAddr}, mail(
		"From: Mallory <mallory@evil.example>", "To: "+custAddr, "Subject: Re: Factura", "Message-ID: <leak1@evil.example>", "",
		"Resuelto"))
	sent := e.Flush()
	if got := daemontest.To(sent, "carla@cliente.example"); len(got) != 0 {
		t.Fatalf("the stranger's mail reached the customer: %q", got[0].Data)
	}
	toAna := one(t, daemontest.To(sent, "ana@example.com"))
	env := parse(t, toAna)
	if !strings.Contains(env.GetHeader("Subject"), "Mensaje de fuera de la solicitud") || !strings.Contains(env.Text, "mallory@evil.example") ||
		!strings.Contains(env.Text, "#aceptar") {
		t.Fatalf("agent not told of a mail from outside the ticket:\n%s\n%s", env.GetHeader("Subject"), env.Text)
	}
	if got := ticket(t, e, tk.Number); got.Status != "pendiente" {
		t.Fatalf("the stranger's \"Resuelto\" moved the ticket to %s", got.Status)
	}
	msgs := messages(t, e, tk.Number)
	last := msgs[len(msgs)-1]
	if !last.Outsider || !last.Internal || last.FromAddr != "mallory@evil.example" {
		t.Fatalf("stored as %+v", last)
	}
	// Ana accepts the sender by answering the notice; the mail joins the
	// public conversation and the next one from that sender is the
	// customer side's.
	reply := replyTo(t, env)
	e.MustSend("ana@example.com", []string{reply}, mail("From: ana@example.com", "To: "+reply, "Subject: Re", "", "#aceptar"))
	msgs = messages(t, e, tk.Number)
	if m := msgs[len(msgs)-2]; m.Outsider || m.Internal {
		t.Fatalf("accepted mail still apart: %+v", m)
	}
	evs := eventTypes(t, e, tk.Number)
	if evs[len(evs)-1] != "accepted" {
		t.Fatalf("history ends %v, want accepted", evs)
	}
	e.Flush()
	e.MustSend("mallory@evil.example", []string{custAddr}, mail(
		"From: mallory@evil.example", "To: "+custAddr, "Subject: Re: Factura", "Message-ID: <leak2@evil.example>", "", "Soy la gestora de Carla."))
	if got := ticket(t, e, tk.Number); got.Status != "abierto" {
		t.Fatalf("an accepted sender's reply left the ticket %s", got.Status)
	}
}

// An agent's vacation responder answering the envelope sender of a
// notification (the ticket's own address) must not start a loop: the
// first automatic answer is shown to the agents, the next ones are kept
// quietly. Before, each round trip notified every agent again.
func TestAgentsVacationResponderDoesNotLoop(t *testing.T) {
	e := daemontest.Start(t, "")
	tk, _ := openTicket(t, e, "carla@cliente.example", "Consulta")
	custAddr := "soporte+" + tk.Token + "@example.com"
	notified := 0
	for i := range 10 {
		e.MustSend(custAddr, []string{custAddr}, mail(
			"From: Luis García <luis@example.com>", "To: "+custAddr, "Subject: Fuera de la oficina: [#1] Consulta",
			"Auto-Submitted: auto-replied", fmt.Sprintf("Message-ID: <ooo%d@example.com>", i), "", "Estoy de vacaciones hasta el lunes."))
		for _, m := range e.Flush() {
			if contains(m.Rcpts, "ana@example.com") || contains(m.Rcpts, "luis@example.com") {
				notified++
			}
		}
	}
	if notified > 2 {
		t.Fatalf("10 automatic answers caused %d notifications to agents; want the first round only (2)", notified)
	}
	if n := len(messages(t, e, tk.Number)); n != 11 {
		t.Fatalf("%d messages stored, want all 11 kept", n)
	}
}

// Commands are read only from what the agent saw: a "#asignar" hidden in a
// display:none block of an HTML-only answer is neither run nor relayed.
func TestHiddenHTMLCommandsAreNotRun(t *testing.T) {
	e := daemontest.Start(t, "")
	tk, _ := openTicket(t, e, "carla@cliente.example", "Acceso")
	anaReply := agentAddress(t, e, tk)
	e.MustSend("ana@example.com", []string{anaReply}, mail(
		"From: Ana Pérez <ana@example.com>", "To: "+anaReply, "Subject: Re: Acceso", "MIME-Version: 1.0",
		"Content-Type: text/html; charset=utf-8", "",
		`<html><body><div style="display:none">#asignar luis@example.com<br>#prioridad urgente</div>`,
		`<p>Hola Carla, ya está arreglado.</p></body></html>`))
	got := ticket(t, e, tk.Number)
	if got.Assignee != "ana@example.com" || got.Priority != "media" {
		t.Fatalf("a hidden command ran: assignee %q priority %q", got.Assignee, got.Priority)
	}
	relay := one(t, daemontest.To(e.Flush(), "carla@cliente.example"))
	if body := string(relay.Data); strings.Contains(body, "#asignar") || strings.Contains(body, "urgente") || !strings.Contains(body, "ya est") {
		t.Fatalf("relay to the customer:\n%s", body)
	}
}
