package intake

import (
	"slices"
	"strings"
	"testing"

	"github.com/ticketd/ticketd"
)

func outsOf(p *Plan) []string {
	var out []string
	for _, o := range p.Outgoing {
		out = append(out, string(o.Kind)+" "+o.Rcpt)
	}
	return out
}

func typesOf(p *Plan) []ticketd.EventType {
	var out []ticketd.EventType
	for _, e := range p.Events {
		out = append(out, e.Type)
	}
	return out
}

const gmailForward = "Carla llamó también por teléfono; es urgente.\n\n" +
	"---------- Forwarded message ---------\nFrom: Carla Ruiz <carla@cliente.example>\nDate: Mon, 2 Nov 2026 at 09:00\n" +
	"Subject: No puedo entrar\nTo: <ana@example.com>\n\n\nHola, desde ayer no puedo entrar.\n"

// An agent forwards a customer's mail to the support address: the ticket
// is the customer's, the agent's words are an internal note, she has it,
// and the customer is acknowledged.
func TestPlanForwardAsCustomer(t *testing.T) {
	p := runPlan(t, planCase{from: "Ana Pérez <ana@example.com>", headers: "", body: gmailForward})
	tk := p.Ticket
	if tk == nil || tk.RequesterAddr != "carla@cliente.example" || tk.RequesterName != "Carla Ruiz" || tk.Subject != "No puedo entrar" ||
		tk.Assignee != "ana@example.com" || tk.Status != ticketd.StatusNuevo {
		t.Fatalf("ticket %+v", tk)
	}
	if m := p.Message; m.Author != ticketd.AuthorCustomer || m.FromAddr != "carla@cliente.example" || m.NewText != "Hola, desde ayer no puedo entrar." || m.Internal {
		t.Fatalf("customer's message %+v", m)
	}
	if n := p.Note; n == nil || !n.Internal || n.Author != ticketd.AuthorAgent || n.FromAddr != "ana@example.com" || n.NewText != "Carla llamó también por teléfono; es urgente." {
		t.Fatalf("note %+v", n)
	}
	if got := typesOf(p); !slices.Equal(got, []ticketd.EventType{"created", "message_in", "note", "assigned"}) {
		t.Fatalf("events %v", got)
	}
	if p.Events[0].Actor != "ana@example.com" || p.Events[1].Actor != "carla@cliente.example" {
		t.Fatalf("actors %+v", p.Events)
	}
	// Nobody else is told: the ticket is Ana's, and she knows.
	if got := outsOf(p); !slices.Equal(got, []string{"ack carla@cliente.example"}) {
		t.Fatalf("outgoing %v", got)
	}
}

func TestPlanForwardAckLimit(t *testing.T) {
	p := runPlan(t, planCase{from: "ana@example.com", body: gmailForward, facts: func(f *Facts, _ *Mail) { f.AcksLastHour = 3 }})
	if got := outsOf(p); len(got) != 0 || !p.AckSuppressed {
		t.Fatalf("ack over the limit: %v suppressed %v", got, p.AckSuppressed)
	}
}

// Anything else an agent writes to the support address opens nothing and
// gets a short answer on how to open a ticket for a customer.
func TestPlanAgentMailToSupportAddress(t *testing.T) {
	for _, c := range []struct {
		name, from, headers, body string
		outs                      []string
	}{
		{"plain mail", "Ana Pérez <ana@example.com>", "", "¿Alguien sabe si el portal va lento?", []string{"agent_help ana@example.com"}},
		{"a colleague's mail forwarded", "ana@example.com", "",
			"---------- Forwarded message ---------\nFrom: Luis García <luis@example.com>\nSubject: turnos\nTo: ana@example.com\n\nMañana no vengo.", []string{"agent_help ana@example.com"}},
		{"her out-of-office", "ana@example.com", "Auto-Submitted: auto-replied\r\n", "Estoy de vacaciones.", nil},
	} {
		p := runPlan(t, planCase{from: c.from, headers: c.headers, body: c.body})
		if p.Ticket != nil || p.Message != nil || len(p.Events) > 0 || !slices.Equal(outsOf(p), c.outs) {
			t.Errorf("%s: ticket %v message %v events %v outgoing %v", c.name, p.Ticket, p.Message, p.Events, outsOf(p))
		}
		if len(p.Outgoing) == 1 && (p.Outgoing[0].Ticket != 0 || p.Outgoing[0].Params.InReplyTo != "m1@cliente.example") {
			t.Errorf("%s: help row %+v", c.name, p.Outgoing[0])
		}
	}
}

// #lista answers with the tickets the facts list, oldest first.
func TestPlanListRequest(t *testing.T) {
	older := &ticketd.Ticket{Number: 3, CreatedAt: t0}
	newer := &ticketd.Ticket{Number: 7, CreatedAt: t0.Add(1)}
	p := runPlan(t, planCase{from: "luis@example.com", body: "#lista\n\n--\nLuis", facts: func(f *Facts, m *Mail) {
		if !isListRequest(m.Cut.New) {
			t.Fatal("#lista not recognised")
		}
		f.ListRequest, f.Waiting = true, []*ticketd.Ticket{newer, older}
	}})
	if p.Ticket != nil || !slices.Equal(outsOf(p), []string{"digest luis@example.com"}) || !slices.Equal(p.Outgoing[0].Params.Tickets, []int64{3, 7}) {
		t.Fatalf("list plan: %v %+v", outsOf(p), p.Outgoing)
	}
	if !strings.HasSuffix(p.Outgoing[0].MessageID, "@tickets.example.com") {
		t.Fatalf("Message-ID %q", p.Outgoing[0].MessageID)
	}
}

func TestPlanAgentHelpLimit(t *testing.T) {
	p := runPlan(t, planCase{from: "ana@example.com", body: "hola", facts: func(f *Facts, _ *Mail) { f.HelpsLastHour = 3 }})
	if len(p.Outgoing) != 0 || p.Ticket != nil {
		t.Fatalf("over the hourly limit: %v", outsOf(p))
	}
}
