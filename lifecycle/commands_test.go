package lifecycle_test

import (
	"reflect"
	"strings"
	"testing"
)

// Every command, in Spanish and in English, from an agent's mail client.
func TestAgentCommands(t *testing.T) {
	for _, lang := range []struct {
		name                                                      string
		close, note, assign, take, release, prio, tag, untag, bad string
	}{
		{"es", "#cerrar", "#nota", "#asignar", "#tomar", "#devolver", "#prioridad alta", "#etiqueta", "#-etiqueta", "#prioridad altisima"},
		{"en", "#close", "#note", "#assign", "#take", "#release", "#priority high", "#tag", "#untag", "#priority highest"},
	} {
		t.Run(lang.name, func(t *testing.T) {
			w := newWorld(t, "")

			// Priority and tags, with an answer below them: the answer is
			// relayed without the command lines.
			n := w.open(carla, "Cobro doble")
			w.agent(n, ana, lang.prio, lang.tag+" facturacion", lang.tag+" vip", "", "Hola Carla, lo revisamos.",
				"", "El lun, Soporte <soporte@example.com> escribió:", "> "+lang.close)
			tk := w.ticket(n)
			if tk.Priority != "alta" || !reflect.DeepEqual(tk.Tags, []string{"facturacion", "vip"}) || tk.Status != "pendiente" || tk.Assignee != ana {
				t.Fatalf("after priority/tag: %+v (a quoted command must not run)", tk)
			}
			mails := w.flush()
			relay := to(mails, carla)
			// Besides the relay, Luis (told of the new ticket) hears that Ana answered it.
			if len(mails) != 2 || len(relay) != 1 || len(to(mails, luis)) != 1 || !strings.Contains(relay[0].text, "lo revisamos") ||
				strings.Contains(relay[0].text, lang.prio) || strings.Contains(relay[0].text, "facturacion") {
				t.Fatalf("relay:%s\n%v", summary(mails), relay)
			}

			// Commands only: nothing for the customer.
			w.agent(n, ana, lang.untag+" vip")
			if tk := w.ticket(n); !reflect.DeepEqual(tk.Tags, []string{"facturacion"}) {
				t.Fatalf("untag: %v", tk.Tags)
			}
			if mails := w.flush(); len(mails) != 0 {
				t.Fatalf("commands only sent:%s", summary(mails))
			}

			// Assign to Luis, who is told; release; take.
			w.agent(n, ana, lang.assign+" luis@example.com")
			mails = w.flush()
			if tk := w.ticket(n); tk.Assignee != luis || len(mails) != 1 || len(to(mails, luis)) != 1 {
				t.Fatalf("assign: %q%s", tk.Assignee, summary(mails))
			}
			if !strings.Contains(mails[0].text, "Cobro doble") || !strings.Contains(mails[0].text, "Ana Pérez") {
				t.Errorf("assigned mail:\n%s", mails[0].text)
			}
			w.agent(n, luis, lang.release)
			if tk := w.ticket(n); tk.Assignee != "" {
				t.Fatalf("release: %q", tk.Assignee)
			}
			w.agent(n, luis, lang.take)
			if tk := w.ticket(n); tk.Assignee != luis {
				t.Fatalf("take: %q", tk.Assignee)
			}
			// Released, the ticket was everyone's again: Ana hears that Luis took it.
			if mails := w.flush(); len(mails) != 1 || len(to(mails, ana)) != 1 || !strings.Contains(mails[0].subject, "Luis García") {
				t.Fatalf("release/take sent:%s", summary(mails))
			}

			// An internal note: to the other agents, never the customer.
			w.agent(n, luis, lang.note, "Ojo: ya pasó el mes pasado.")
			mails = w.flush()
			if len(mails) != 1 || len(to(mails, ana)) != 1 || !strings.Contains(mails[0].text, "ya pasó el mes pasado") {
				t.Fatalf("note:%s", summary(mails))
			}
			msgs := w.messages(n)
			if last := msgs[len(msgs)-1]; !last.Internal || strings.Contains(last.NewText, "#") {
				t.Errorf("note stored as %+v", last)
			}
			if tk := w.ticket(n); tk.Status != "pendiente" {
				t.Errorf("a note changed the status to %s", tk.Status)
			}

			// A bad command: nothing changes, nothing is relayed, the agent
			// is told which line failed.
			before := w.ticket(n)
			w.agent(n, ana, lang.bad, "Hola Carla, esto no debe salir.")
			w.agent(n, ana, lang.assign+" pepe@example.com", "Tampoco esto.")
			w.agent(n, ana, "#archivar")
			mails = w.flush()
			if len(mails) != 3 || len(to(mails, ana)) != 3 {
				t.Fatalf("bad commands:%s", summary(mails))
			}
			for i, line := range []string{lang.bad, lang.assign + " pepe@example.com", "#archivar"} {
				m := mails[i]
				if !strings.Contains(m.subject, line) || !strings.Contains(m.text, line) || !strings.Contains(m.text, "#cerrar") || !strings.Contains(m.text, "#close") {
					t.Errorf("error mail for %q: %q\n%s", line, m.subject, m.text)
				}
			}
			if !strings.Contains(mails[1].text, "pepe@example.com no es agente") {
				t.Errorf("error mail should say why:\n%s", mails[1].text)
			}
			after := w.ticket(n)
			after.UpdatedAt = before.UpdatedAt
			if !reflect.DeepEqual(before, after) {
				t.Errorf("a failed command changed the ticket:\n%+v\n%+v", before, after)
			}

			// Close with an answer: the answer goes out, the ticket closes.
			w.agent(n, luis, lang.close, "Hola Carla, ya está devuelto el cobro.")
			mails = w.flush()
			if len(mails) != 1 || len(to(mails, carla)) != 1 || !strings.Contains(mails[0].text, "devuelto el cobro") {
				t.Fatalf("close with answer:%s", summary(mails))
			}
			if tk := w.ticket(n); tk.Status != "cerrado" {
				t.Fatalf("close with answer: %s", tk.Status)
			}

			// Close alone, on a ticket with no answer yet.
			m := w.open("diego@cliente.example", "Spam")
			w.agent(m, ana, lang.close)
			if tk := w.ticket(m); tk.Status != "cerrado" {
				t.Fatalf("close alone: %s", tk.Status)
			}
			if mails := w.flush(); len(mails) != 0 {
				t.Fatalf("close alone sent:%s", summary(mails))
			}

			want := []string{"priority", "tag", "untag", "assigned", "closed"}
			evs := w.events(n)
			for _, typ := range want {
				if !hasEvent(evs, typ, "") {
					t.Errorf("history lacks %q: %v", typ, eventTypes(evs))
				}
			}
		})
	}
}

// Commands count only from a genuine agent: a customer's "#cerrar" is text.
func TestCustomerCannotCommand(t *testing.T) {
	w := newWorld(t, "")
	n := w.open(carla, "Pregunta")
	w.agent(n, ana, "¿Qué versión usa?")
	w.customer(n, "#cerrar", "#asignar luis@example.com", "La 3.2.")
	tk := w.ticket(n)
	if tk.Status != "abierto" || tk.Assignee != ana {
		t.Fatalf("customer commands ran: %+v", tk)
	}
}
