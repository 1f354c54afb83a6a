package lifecycle_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ticketd/ticketd"

	"github.com/jhillyerd/enmime/v2"

	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/lifecycle"
	"github.com/ticketd/ticketd/threading"
)

// world is a running daemon with a scheduler on its fake clock, and the
// people who write to it.
type world struct {
	*daemontest.Env
	t     *testing.T
	day0  time.Time
	sched *lifecycle.Scheduler
	seq   int
}

func newWorld(t *testing.T, cfg string) *world {
	t.Helper()
	e := daemontest.Start(t, cfg)
	w := &world{Env: e, t: t, day0: e.Clock.Now()}
	w.sched = &lifecycle.Scheduler{Store: e.D.Store, Config: e.D.Config, Now: e.Clock.Now,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return w
}

// at moves the clock to day d (plus h hours) after the start.
func (w *world) at(d int, h ...int) {
	extra := time.Duration(0)
	if len(h) > 0 {
		extra = time.Duration(h[0]) * time.Hour
	}
	w.Clock.Set(w.day0.Add(time.Duration(d)*24*time.Hour + extra))
}

// pass runs one scheduler pass and returns its lines ("#1 reminder").
func (w *world) pass() []string {
	w.t.Helper()
	acts, err := w.sched.Pass(context.Background())
	if err != nil {
		w.t.Fatalf("pass: %v", err)
	}
	var out []string
	for _, a := range acts {
		out = append(out, a.String())
	}
	return out
}

// days runs a pass at the start of each day from..to and returns the lines
// by day.
func (w *world) days(from, to int) map[int][]string {
	out := map[int][]string{}
	for d := from; d <= to; d++ {
		w.at(d)
		if got := w.pass(); len(got) > 0 {
			out[d] = got
		}
	}
	return out
}

func (w *world) msgid() string {
	w.seq++
	return fmt.Sprintf("<m%d@test.example>", w.seq)
}

func rawMail(headers []string, body ...string) string {
	return strings.Join(headers, "\r\n") + "\r\n\r\n" + strings.Join(body, "\r\n") + "\r\n"
}

// open has a customer write a new ticket and returns its number; the
// acknowledgement and notifications are flushed away.
func (w *world) open(from, subject string, mailbox ...string) int64 {
	w.t.Helper()
	mb := "soporte@example.com"
	if len(mailbox) > 0 {
		mb = mailbox[0]
	}
	w.MustSend(from, []string{mb}, rawMail([]string{
		"From: " + from, "To: " + mb, "Subject: " + subject, "Message-ID: " + w.msgid(),
	}, "Hola, tengo un problema: "+subject))
	var n int64
	w.view(func(tx ticketd.Tx) error {
		tks, err := tx.ListTickets(ticketd.TicketFilter{Limit: 1})
		if err == nil {
			n = tks[0].Number
		}
		return err
	})
	w.Flush()
	return n
}

func (w *world) ticket(n int64) *ticketd.Ticket {
	w.t.Helper()
	var tk *ticketd.Ticket
	w.view(func(tx ticketd.Tx) error {
		var err error
		tk, err = tx.TicketByNumber(n)
		return err
	})
	return tk
}

func (w *world) events(n int64) []ticketd.Event {
	w.t.Helper()
	var evs []ticketd.Event
	w.view(func(tx ticketd.Tx) error {
		var err error
		evs, err = tx.Events(n)
		return err
	})
	return evs
}

func (w *world) messages(n int64) []*ticketd.Message {
	w.t.Helper()
	var ms []*ticketd.Message
	w.view(func(tx ticketd.Tx) error {
		var err error
		ms, err = tx.Messages(n)
		return err
	})
	return ms
}

func (w *world) view(fn func(tx ticketd.Tx) error) {
	w.t.Helper()
	if err := w.D.Store.View(context.Background(), fn); err != nil {
		w.t.Fatal(err)
	}
}

// customer replies to the ticket's reply address.
func (w *world) customer(n int64, body ...string) {
	w.t.Helper()
	tk := w.ticket(n)
	to := threading.CustomerAddress(tk.Mailbox, tk.Token)
	w.MustSend(tk.RequesterAddr, []string{to}, rawMail([]string{
		"From: " + tk.RequesterAddr, "To: " + to, "Subject: Re: [#" + fmt.Sprint(n) + "] " + tk.Subject, "Message-ID: " + w.msgid(),
	}, body...))
}

// outOfOffice is an automatic answer from the customer's side.
func (w *world) outOfOffice(n int64) {
	w.t.Helper()
	tk := w.ticket(n)
	to := threading.CustomerAddress(tk.Mailbox, tk.Token)
	w.MustSend(tk.RequesterAddr, []string{to}, rawMail([]string{
		"From: " + tk.RequesterAddr, "To: " + to, "Subject: Fuera de la oficina", "Auto-Submitted: auto-replied", "Message-ID: " + w.msgid(),
	}, "Estoy de vacaciones hasta el lunes."))
}

// agentAddr is the agent's own reply address on a ticket.
func (w *world) agentAddr(n int64, agent string) string {
	tk := w.ticket(n)
	return threading.AgentAddress(tk.Mailbox, tk.Token, threading.AgentTag(w.D.Desk.Key, tk.Token, agent))
}

// agent replies from their mail client to their reply address.
func (w *world) agent(n int64, agent string, body ...string) {
	w.t.Helper()
	to := w.agentAddr(n, agent)
	w.MustSend(agent, []string{to}, rawMail([]string{
		"From: " + agent, "To: " + to, "Subject: Re: [#" + fmt.Sprint(n) + "] ticket", "Message-ID: " + w.msgid(),
	}, body...))
}

// sent is one captured mail, parsed.
type sent struct {
	rcpts   []string
	subject string
	text    string
	html    string
	env     *enmime.Envelope
}

func (w *world) flush() []sent {
	w.t.Helper()
	var out []sent
	for _, m := range w.Flush() {
		env, err := enmime.ReadEnvelope(bytes.NewReader(m.Data))
		if err != nil {
			w.t.Fatalf("parse sent mail: %v", err)
		}
		out = append(out, sent{rcpts: m.Rcpts, subject: env.GetHeader("Subject"), text: env.Text, html: env.HTML, env: env})
	}
	return out
}

func to(ms []sent, rcpt string) []sent {
	var out []sent
	for _, m := range ms {
		for _, r := range m.rcpts {
			if strings.EqualFold(r, rcpt) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

func summary(ms []sent) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "\n  %v %q", m.rcpts, m.subject)
	}
	return b.String()
}

func eventTypes(evs []ticketd.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, string(e.Type))
	}
	return out
}

func hasEvent(evs []ticketd.Event, typ, actor string) bool {
	for _, e := range evs {
		if string(e.Type) == typ && (actor == "" || e.Actor == actor) {
			return true
		}
	}
	return false
}
