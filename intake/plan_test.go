package intake

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/message"
	"github.com/ticketd/ticketd/threading"
)

// The planning step is pure: these tests give it a parsed mail and the
// facts a store would have loaded, and read the plan. No database.

const planConfig = `
[server]
hostname = "tickets.example.com"
data_dir = "/nonexistent"
base_url = "https://help.example.com"
language = "es"
autoreply_limit_per_hour = 3

[[mailboxes]]
address = "soporte@example.com"
name = "Soporte Example"
agents = ["ana@example.com", "luis@example.com"]

[[agents]]
email = "ana@example.com"
name = "Ana Pérez"

[[agents]]
email = "luis@example.com"
name = "Luis García"
`

var (
	planKey = []byte("0123456789abcdef0123456789abcdef")
	planNow = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	t0      = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	tok     = "abcdefghijklmnopqrstuvwx"
)

func planCfg(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(planConfig), "plan.toml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// rcptFor returns the address form a case writes to.
func rcptFor(form, from string) string {
	if i := strings.IndexByte(from, '<'); i >= 0 {
		from = strings.TrimSuffix(from[i+1:], ">")
	}
	switch form {
	case "customer":
		return threading.CustomerAddress("soporte@example.com", tok)
	case "agent":
		return threading.AgentAddress("soporte@example.com", tok, threading.AgentTag(planKey, tok, from))
	case "agent-forged":
		return threading.AgentAddress("soporte@example.com", tok, threading.AgentTag(planKey, tok, "luis@example.com"))
	case "note":
		return threading.NoteAddress("soporte@example.com", tok, threading.NoteTag(planKey, tok, from))
	}
	return "soporte@example.com"
}

type planCase struct {
	name    string
	status  ticketd.Status // "" : no ticket found, the mail opens one
	assign  string
	form    string // plain, customer, agent, agent-forged, note
	envFrom string // "" : same as from
	from    string
	headers string
	body    string
	facts   func(*Facts, *Mail)

	dup        bool
	wantStatus ticketd.Status
	wantAssign string
	events     []ticketd.EventType
	outs       []string // "kind rcpt"
	author     ticketd.Author
	internal   bool
	unverified bool
	newText    string
	save       bool
	tags       []TagChange
	check      func(*testing.T, *Plan)
}

func runPlan(t *testing.T, c planCase) *Plan {
	t.Helper()
	cfg := planCfg(t)
	envFrom := c.envFrom
	if envFrom == "" {
		envFrom = c.from
	}
	if envFrom == "<>" {
		envFrom = ""
	}
	rcpt := rcptFor(c.form, c.from)
	raw := fmt.Sprintf("From: %s\r\nTo: %s\r\nCc: jefe@cliente.example\r\nSubject: No puedo entrar\r\nMessage-ID: <m1@cliente.example>\r\n%s\r\n%s\r\n",
		c.from, rcpt, c.headers, strings.ReplaceAll(c.body, "\n", "\r\n"))
	p, err := message.Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	targets, err := (&Desk{}).targets(cfg, []string{rcpt})
	if err != nil {
		t.Fatal(err)
	}
	m := prepare(cfg, [][]byte{planKey}, Envelope{Source: "smtp", From: envFrom, Rcpts: []string{rcpt}}, []byte(raw), p, targets, planNow)
	f := &Facts{}
	if c.status != "" {
		f.Ticket = &ticketd.Ticket{Number: 42, Token: tok, Mailbox: "soporte@example.com", RequesterAddr: "carla@cliente.example",
			RequesterName: "Carla Ruiz", Subject: "No puedo entrar", Status: c.status, Assignee: c.assign, Priority: ticketd.PriorityMedia,
			CreatedAt: t0, UpdatedAt: t0}
		if c.status == ticketd.StatusPendiente {
			f.Ticket.PendingSince = t0
		}
		f.How = "recipient token"
		f.Thread = ticketd.Thread{Root: "first@cliente.example", Last: "latest@cliente.example"}
		f.RootParticipants = []string{"soporte@example.com", "jefe@cliente.example", "ana@example.com"}
		f.LastCustomerMessage = 7
		f.Addresses = ticketd.Addresses{Participants: []string{"carla@cliente.example", "soporte@example.com", "jefe@cliente.example", "ana@example.com"}}
	}
	if c.facts != nil {
		c.facts(f, m)
	}
	return plan(m, m.Targets[0], f)
}

func TestPlan(t *testing.T) {
	const carla = "Carla Ruiz <carla@cliente.example>"
	const ana = "Ana Pérez <ana@example.com>"
	cases := []planCase{
		{name: "new ticket", from: carla, body: "Hola, desde ayer no puedo entrar.",
			wantStatus: ticketd.StatusNuevo, events: []ticketd.EventType{"created", "message_in"},
			outs:   []string{"ack carla@cliente.example", "agent_new ana@example.com", "agent_new luis@example.com"},
			author: ticketd.AuthorCustomer, newText: "Hola, desde ayer no puedo entrar.",
			check: func(t *testing.T, p *Plan) {
				if p.Ticket.Token != "" && p.Ticket.Number != 0 {
					t.Errorf("a new ticket has a number before apply: %d", p.Ticket.Number)
				}
				if p.Ticket.RequesterAddr != "carla@cliente.example" || p.Ticket.RequesterName != "Carla Ruiz" || p.Ticket.Priority != ticketd.PriorityMedia {
					t.Errorf("new ticket %+v", p.Ticket)
				}
				ack := p.Outgoing[0]
				if ack.Params.InReplyTo != "m1@cliente.example" || !slices.Equal(ack.Params.References, []string{"m1@cliente.example"}) || ack.Params.Lang != "es" {
					t.Errorf("ack params %+v", ack.Params)
				}
				if !strings.HasPrefix(ack.MessageID, "tkd."+p.Ticket.Token+".") || !strings.HasSuffix(ack.MessageID, "@tickets.example.com") {
					t.Errorf("ack Message-ID %q does not carry the new token", ack.MessageID)
				}
				if p.Outgoing[1].MessageRef != RefThisMessage {
					t.Errorf("agent notification does not carry the mail: ref %d", p.Outgoing[1].MessageRef)
				}
				if !slices.Equal(p.Message.Participants, []string{"soporte@example.com", "jefe@cliente.example"}) {
					t.Errorf("participants %v", p.Message.Participants)
				}
			}},
		{name: "customer reply to nuevo stays nuevo", status: ticketd.StatusNuevo, form: "customer", from: carla, body: "Olvidé decir que uso Firefox.",
			wantStatus: ticketd.StatusNuevo, events: []ticketd.EventType{"message_in"},
			outs: []string{"agent_reply ana@example.com", "agent_reply luis@example.com"}, author: ticketd.AuthorCustomer, save: true,
			check: func(t *testing.T, p *Plan) {
				// The mail itself becomes the conversation's latest.
				got := p.Outgoing[0].Params
				if got.InReplyTo != "m1@cliente.example" || !slices.Equal(got.References, []string{"first@cliente.example", "m1@cliente.example"}) {
					t.Errorf("notification threading %+v", got)
				}
			}},
		{name: "customer reply to pendiente opens it", status: ticketd.StatusPendiente, assign: "ana@example.com", form: "customer", from: carla,
			body: "Sigue sin funcionar.", wantStatus: ticketd.StatusAbierto, wantAssign: "ana@example.com",
			events: []ticketd.EventType{"message_in", "status"}, outs: []string{"agent_reply ana@example.com"}, author: ticketd.AuthorCustomer, save: true,
			check: func(t *testing.T, p *Plan) {
				if !p.Ticket.PendingSince.IsZero() {
					t.Errorf("the pending clock still runs: %v", p.Ticket.PendingSince)
				}
				if p.Events[1].Detail != "pendiente -> abierto" || p.Events[0].Detail != "threaded by recipient token" {
					t.Errorf("events %q / %q", p.Events[0].Detail, p.Events[1].Detail)
				}
			}},
		{name: "customer reply to abierto", status: ticketd.StatusAbierto, form: "customer", from: carla, body: "¿Alguna novedad?",
			wantStatus: ticketd.StatusAbierto, events: []ticketd.EventType{"message_in"},
			outs: []string{"agent_reply ana@example.com", "agent_reply luis@example.com"}, author: ticketd.AuthorCustomer, save: true},
		{name: "customer reply to cerrado reopens", status: ticketd.StatusCerrado, assign: "luis@example.com", form: "customer", from: carla,
			body: "Ha vuelto a pasar.", wantStatus: ticketd.StatusAbierto, wantAssign: "luis@example.com",
			events: []ticketd.EventType{"message_in", "status", "reopened"}, outs: []string{"agent_reopened luis@example.com"},
			author: ticketd.AuthorCustomer, save: true},
		{name: "solved reply closes and thanks", status: ticketd.StatusPendiente, form: "customer", from: carla, body: "Sí, ¡resuelto!",
			wantStatus: ticketd.StatusCerrado, events: []ticketd.EventType{"message_in", "status", "closed"},
			outs:   []string{"solved_thanks carla@cliente.example", "agent_reply ana@example.com", "agent_reply luis@example.com"},
			author: ticketd.AuthorCustomer, save: true,
			check: func(t *testing.T, p *Plan) {
				if !p.Ticket.ClosedAt.Equal(planNow) {
					t.Errorf("closed at %v", p.Ticket.ClosedAt)
				}
			}},
		{name: "agent answer is relayed and sets pendiente", status: ticketd.StatusNuevo, form: "agent", from: ana,
			body:       "Hola Carla, pruebe a borrar las cookies.\n\nEl 2 nov 2026, Carla escribió:\n> no puedo entrar",
			wantStatus: ticketd.StatusPendiente, wantAssign: "ana@example.com",
			events: []ticketd.EventType{"assigned", "status", "message_out"},
			// Luis was told of the new ticket: he hears that Ana answered it.
			outs:   []string{"colleague luis@example.com", "relay carla@cliente.example"},
			author: ticketd.AuthorAgent, newText: "Hola Carla, pruebe a borrar las cookies.", save: true,
			check: func(t *testing.T, p *Plan) {
				if c := p.Outgoing[0].Params; c.Reason != "answered" || c.Actor != "ana@example.com" {
					t.Errorf("colleague line %+v", c)
				}
				r := p.Outgoing[1]
				// The Cc'd colleague stays in the conversation; ours and the agents do not.
				if !slices.Equal(r.Params.Cc, []string{"jefe@cliente.example"}) || r.Params.Actor != "ana@example.com" || r.MessageRef != RefThisMessage {
					t.Errorf("relay %+v", r)
				}
				if r.Params.InReplyTo != "latest@cliente.example" {
					t.Errorf("relay answers %q, want the customer's latest", r.Params.InReplyTo)
				}
				if !p.Ticket.PendingSince.Equal(planNow) {
					t.Errorf("pending since %v", p.Ticket.PendingSince)
				}
			}},
		{name: "answer with #cerrar closes without a second mail", status: ticketd.StatusAbierto, assign: "ana@example.com", form: "agent", from: ana,
			body: "#cerrar\n\nListo, ya está corregido.", wantStatus: ticketd.StatusCerrado, wantAssign: "ana@example.com",
			events: []ticketd.EventType{"message_out", "status", "closed"}, outs: []string{"relay carla@cliente.example"},
			author: ticketd.AuthorAgent, newText: "Listo, ya está corregido.", save: true},
		{name: "#nota is an internal note for the other agents", status: ticketd.StatusAbierto, form: "agent", from: ana,
			body: "#nota\nLo llamé por teléfono.", wantStatus: ticketd.StatusAbierto, events: []ticketd.EventType{"note"},
			outs: []string{"note luis@example.com"}, author: ticketd.AuthorAgent, internal: true, newText: "Lo llamé por teléfono.", save: true},
		{name: "note address", status: ticketd.StatusNuevo, form: "note", from: ana, body: "Cliente importante.",
			wantStatus: ticketd.StatusNuevo, events: []ticketd.EventType{"note"}, outs: []string{"note luis@example.com"},
			author: ticketd.AuthorAgent, internal: true, save: true},
		{name: "commands only change the ticket and relay nothing", status: ticketd.StatusAbierto, form: "agent", from: ana,
			body: "#prioridad alta\n#etiqueta factura, vip\n#-etiqueta spam", wantStatus: ticketd.StatusAbierto,
			events: []ticketd.EventType{"priority", "tag", "tag", "untag"}, author: ticketd.AuthorAgent, internal: true, save: true,
			tags: []TagChange{{Tag: "factura"}, {Tag: "vip"}, {Tag: "spam", Remove: true}},
			check: func(t *testing.T, p *Plan) {
				if p.Ticket.Priority != ticketd.PriorityAlta || p.Events[0].Detail != "media -> alta" {
					t.Errorf("priority %q, event %q", p.Ticket.Priority, p.Events[0].Detail)
				}
			}},
		{name: "#asignar tells the new assignee", status: ticketd.StatusAbierto, form: "agent", from: ana, body: "#asignar luis@example.com",
			wantStatus: ticketd.StatusAbierto, wantAssign: "luis@example.com", events: []ticketd.EventType{"assigned"},
			outs: []string{"assigned luis@example.com"}, author: ticketd.AuthorAgent, internal: true, save: true,
			check: func(t *testing.T, p *Plan) {
				if p.Outgoing[0].MessageRef != 7 || p.Outgoing[0].Params.Actor != "ana@example.com" {
					t.Errorf("assigned mail %+v: want the customer's latest message (7) and the actor", p.Outgoing[0])
				}
			}},
		{name: "a bad command changes nothing and tells the agent", status: ticketd.StatusAbierto, form: "agent", from: ana,
			body: "#cerar\nHola Carla", wantStatus: ticketd.StatusAbierto, events: []ticketd.EventType{"message_in"},
			outs: []string{"command_error ana@example.com"}, author: ticketd.AuthorAgent, internal: true,
			check: func(t *testing.T, p *Plan) {
				if o := p.Outgoing[0]; o.Params.BadLine != "#cerar" || o.Params.Reason != "no es un comando conocido." {
					t.Errorf("command error params %+v", o.Params)
				}
			}},
		{name: "#asignar to a stranger is a bad command", status: ticketd.StatusAbierto, form: "agent", from: ana,
			body: "#asignar pepe@otro.example", wantStatus: ticketd.StatusAbierto, events: []ticketd.EventType{"message_in"},
			outs: []string{"command_error ana@example.com"}, author: ticketd.AuthorAgent, internal: true},
		{name: "agent address with another agent's tag is unverified", status: ticketd.StatusAbierto, form: "agent-forged", from: ana,
			body: "#cerrar\nHola", wantStatus: ticketd.StatusAbierto, events: []ticketd.EventType{"message_in"},
			outs:   []string{"agent_unverified ana@example.com", "agent_unverified luis@example.com"},
			author: ticketd.AuthorAgent, internal: true, unverified: true, save: true,
			check: func(t *testing.T, p *Plan) {
				if p.Unverified != "agent address used by ana@example.com" {
					t.Errorf("why: %q", p.Unverified)
				}
			}},
		{name: "a stranger on an agent address is unverified", status: ticketd.StatusAbierto, form: "agent-forged", from: "Mallory <m@evil.example>",
			body: "#cerrar", wantStatus: ticketd.StatusAbierto, events: []ticketd.EventType{"message_in"},
			outs:   []string{"agent_unverified ana@example.com", "agent_unverified luis@example.com"},
			author: ticketd.AuthorCustomer, internal: true, unverified: true, save: true},
		{name: "an agent writing to the customer address is unverified", status: ticketd.StatusAbierto, form: "customer", from: ana,
			body: "Respuesta", wantStatus: ticketd.StatusAbierto, events: []ticketd.EventType{"message_in"},
			outs:   []string{"agent_unverified ana@example.com", "agent_unverified luis@example.com"},
			author: ticketd.AuthorAgent, internal: true, unverified: true, save: true},
		{name: "an agent's out-of-office is kept as a note and relayed nowhere", status: ticketd.StatusAbierto, form: "agent", from: ana,
			headers: "Auto-Submitted: auto-replied\r\n", body: "Estoy de vacaciones.", wantStatus: ticketd.StatusAbierto,
			events: []ticketd.EventType{"note"}, author: ticketd.AuthorAgent, internal: true, save: true},
		{name: "automatic mail opens a ticket without an acknowledgement", from: "MAILER-DAEMON <mailer-daemon@mx.example>", envFrom: "<>",
			headers: "Auto-Submitted: auto-replied\r\n", body: "Delivery failed", wantStatus: ticketd.StatusNuevo,
			events: []ticketd.EventType{"created", "message_in"}, outs: []string{"agent_new ana@example.com", "agent_new luis@example.com"},
			author: ticketd.AuthorCustomer,
			check: func(t *testing.T, p *Plan) {
				if !p.Message.Automatic || !strings.HasPrefix(p.Events[1].Detail, "automatic: ") {
					t.Errorf("automatic not recorded: %+v / %q", p.Message, p.Events[1].Detail)
				}
			}},
		{name: "automatic reply changes no status", status: ticketd.StatusPendiente, form: "customer", from: carla,
			headers: "Auto-Submitted: auto-replied\r\n", body: "Estoy fuera de la oficina.", wantStatus: ticketd.StatusPendiente,
			events: []ticketd.EventType{"message_in"}, outs: []string{"agent_reply ana@example.com", "agent_reply luis@example.com"},
			author: ticketd.AuthorCustomer, save: true},
		{name: "Cc reply-all from a participant joins as the customer's side", status: ticketd.StatusPendiente, from: "Jefe <jefe@cliente.example>",
			body: "Es urgente, por favor.", facts: func(f *Facts, _ *Mail) { f.How = "participant reply" }, wantStatus: ticketd.StatusAbierto,
			events: []ticketd.EventType{"message_in", "status"}, outs: []string{"agent_reply ana@example.com", "agent_reply luis@example.com"},
			author: ticketd.AuthorCustomer, save: true,
			check: func(t *testing.T, p *Plan) {
				if p.Message.FromAddr != "jefe@cliente.example" || p.Events[0].Detail != "threaded by participant reply" || p.Events[1].Actor != "jefe@cliente.example" {
					t.Errorf("participant reply: %+v %+v", p.Message, p.Events)
				}
			}},
		{name: "acknowledgements are limited per sender", from: carla, body: "Otra vez",
			facts: func(f *Facts, _ *Mail) { f.AcksLastHour = 3 }, wantStatus: ticketd.StatusNuevo,
			events: []ticketd.EventType{"created", "message_in", "autoreply_suppressed"},
			outs:   []string{"agent_new ana@example.com", "agent_new luis@example.com"}, author: ticketd.AuthorCustomer,
			check: func(t *testing.T, p *Plan) {
				if !p.AckSuppressed {
					t.Error("suppression not reported for the log")
				}
			}},
		{name: "a stranger writing through a leaked token is kept apart", status: ticketd.StatusPendiente, form: "customer",
			from: "Mallory <mallory@evil.example>", body: "Resuelto", wantStatus: ticketd.StatusPendiente,
			events: []ticketd.EventType{"message_in"}, outs: []string{"agent_outsider ana@example.com", "agent_outsider luis@example.com"},
			author: ticketd.AuthorCustomer, internal: true,
			check: func(t *testing.T, p *Plan) {
				if !p.Message.Outsider || p.Outsider != "mallory@evil.example" || !strings.Contains(p.Events[0].Detail, "outside the ticket") {
					t.Errorf("outsider not recorded: %+v %q", p.Message, p.Events[0].Detail)
				}
				if !p.Ticket.ClosedAt.IsZero() || !p.Ticket.PendingSince.Equal(t0) {
					t.Errorf("an outsider's \"resuelto\" changed the ticket: %+v", p.Ticket)
				}
			}},
		{name: "a stranger quoting one of our Message-IDs is kept apart too", status: ticketd.StatusAbierto,
			from: "Mallory <mallory@evil.example>", body: "Hola", facts: func(f *Facts, _ *Mail) { f.How = "message-id" },
			wantStatus: ticketd.StatusAbierto, events: []ticketd.EventType{"message_in"},
			outs:   []string{"agent_outsider ana@example.com", "agent_outsider luis@example.com"},
			author: ticketd.AuthorCustomer, internal: true},
		{name: "#aceptar takes the latest outsider into the conversation", status: ticketd.StatusAbierto, form: "agent", from: ana,
			body: "#aceptar", facts: func(f *Facts, _ *Mail) {
				f.Addresses.Outsiders = []string{"old@x.example", "mallory@evil.example"}
			}, wantStatus: ticketd.StatusAbierto, events: []ticketd.EventType{"accepted"}, author: ticketd.AuthorAgent, internal: true, save: true,
			check: func(t *testing.T, p *Plan) {
				if !slices.Equal(p.Accept, []string{"mallory@evil.example"}) || p.Events[0].Detail != "mallory@evil.example" {
					t.Errorf("accept %v / %q", p.Accept, p.Events[0].Detail)
				}
			}},
		{name: "#accept with no outsider is a bad command", status: ticketd.StatusAbierto, form: "agent", from: ana, body: "#accept x@y.example",
			wantStatus: ticketd.StatusAbierto, events: []ticketd.EventType{"message_in"}, outs: []string{"command_error ana@example.com"},
			author: ticketd.AuthorAgent, internal: true},
		{name: "a second automatic mail within a day tells no agent", status: ticketd.StatusPendiente, form: "customer", from: carla,
			headers: "Auto-Submitted: auto-replied\r\n", body: "Estoy fuera.", facts: func(f *Facts, _ *Mail) { f.RecentAutomatic = 1 },
			wantStatus: ticketd.StatusPendiente, events: []ticketd.EventType{"message_in"}, author: ticketd.AuthorCustomer, save: true,
			check: func(t *testing.T, p *Plan) {
				if p.Quiet != 2 {
					t.Errorf("quiet %d, want 2 held-back notifications", p.Quiet)
				}
			}},
		{name: "an agent's auto-responder on the customer address tells no agent twice", status: ticketd.StatusAbierto, form: "customer",
			from: ana, headers: "Auto-Submitted: auto-replied\r\n", body: "Vacaciones", facts: func(f *Facts, _ *Mail) { f.RecentAutomatic = 3 },
			wantStatus: ticketd.StatusAbierto, events: []ticketd.EventType{"message_in"}, author: ticketd.AuthorAgent, internal: true, unverified: true, save: true},
		{name: "notifications stop at the hourly cap per agent", status: ticketd.StatusAbierto, assign: "", form: "customer", from: carla, body: "¿Y bien?",
			facts: func(f *Facts, _ *Mail) {
				f.NotifiedLastHour = map[string]int{"ana@example.com": maxNotificationsPerHour, "luis@example.com": maxNotificationsPerHour - 1}
			}, wantStatus: ticketd.StatusAbierto, events: []ticketd.EventType{"message_in"}, outs: []string{"agent_reply luis@example.com"},
			author: ticketd.AuthorCustomer, save: true},
		{name: "command lines below the quote never reach the customer", status: ticketd.StatusAbierto, form: "agent", from: ana,
			body: "Hola Carla, ya está.\n\n> no puedo entrar\n\n#cerrar\n#1234 es otro caso", wantStatus: ticketd.StatusPendiente, wantAssign: "ana@example.com",
			events: []ticketd.EventType{"assigned", "status", "message_out"}, outs: []string{"colleague luis@example.com", "relay carla@cliente.example"},
			author: ticketd.AuthorAgent, newText: "Hola Carla, ya está.\n\n> no puedo entrar\n\n#1234 es otro caso", save: true},
		{name: "a retry of a stored mail is a duplicate", status: ticketd.StatusAbierto, form: "customer", from: carla, body: "Hola",
			facts: func(f *Facts, m *Mail) {
				f.Copies = []Copy{{Ticket: 42, Mailbox: "soporte@example.com", SHA256: m.SHA256}}
			}, dup: true},
		{name: "the same Message-ID with other bytes is a new mail", status: ticketd.StatusAbierto, form: "customer", from: carla, body: "Hola",
			facts: func(f *Facts, _ *Mail) {
				f.Copies = []Copy{{Ticket: 42, Mailbox: "soporte@example.com", SHA256: "other"}}
			},
			wantStatus: ticketd.StatusAbierto, events: []ticketd.EventType{"message_in"},
			outs: []string{"agent_reply ana@example.com", "agent_reply luis@example.com"}, author: ticketd.AuthorCustomer, save: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := runPlan(t, c)
			if c.dup {
				if !p.Duplicate || p.Message != nil || len(p.Events)+len(p.Outgoing) > 0 {
					t.Fatalf("a stored mail was planned again: %+v", p)
				}
				return
			}
			if p.Duplicate {
				t.Fatal("planned as a duplicate")
			}
			if p.Ticket.Status != c.wantStatus || p.Ticket.Assignee != c.wantAssign {
				t.Errorf("status %s assignee %q; want %s %q", p.Ticket.Status, p.Ticket.Assignee, c.wantStatus, c.wantAssign)
			}
			var evs []ticketd.EventType
			for _, e := range p.Events {
				evs = append(evs, e.Type)
			}
			if !slices.Equal(evs, c.events) {
				t.Errorf("events %v, want %v", evs, c.events)
			}
			var outs []string
			for _, o := range p.Outgoing {
				outs = append(outs, string(o.Kind)+" "+o.Rcpt)
				if o.State != ticketd.OutQueued || !o.NextAt.Equal(planNow) || o.Params.Lang != "es" {
					t.Errorf("outgoing %s not queued now in es: %+v", o.Kind, o)
				}
			}
			if !slices.Equal(outs, c.outs) {
				t.Errorf("outgoing %q, want %q", outs, c.outs)
			}
			msg := p.Message
			if msg.Author != c.author || msg.Internal != c.internal || msg.Unverified != c.unverified {
				t.Errorf("message author %s internal %v unverified %v; want %s %v %v", msg.Author, msg.Internal, msg.Unverified, c.author, c.internal, c.unverified)
			}
			if c.newText != "" && msg.NewText != c.newText {
				t.Errorf("new text %q, want %q", msg.NewText, c.newText)
			}
			if p.Save != c.save {
				t.Errorf("save %v, want %v", p.Save, c.save)
			}
			if !slices.Equal(p.Tags, c.tags) {
				t.Errorf("tags %v, want %v", p.Tags, c.tags)
			}
			if c.check != nil {
				c.check(t, p)
			}
		})
	}
}
