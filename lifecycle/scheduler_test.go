package lifecycle_test

import (
	"context"
	"fmt"
	"html"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ticketd/ticketd/daemon/daemontest"
)

const (
	carla = "carla@cliente.example"
	ana   = "ana@example.com"
	luis  = "luis@example.com"
)

// An answer on day 0: exactly one reminder on day 23, the close on day 30,
// and the customer hears about both.
func TestReminderThenClose(t *testing.T) {
	w := newWorld(t, "")
	n := w.open(carla, "No puedo entrar")
	w.agent(n, ana, "Hola Carla, pruebe ahora, por favor.")
	w.flush()

	got := w.days(1, 22)
	if len(got) != 0 {
		t.Fatalf("before day 23: %v", got)
	}
	w.at(23)
	if got := w.pass(); !reflect.DeepEqual(got, []string{fmt.Sprintf("#%d reminder", n)}) {
		t.Fatalf("day 23 pass = %v", got)
	}
	mails := w.flush()
	rem := to(mails, carla)
	if len(mails) != 1 || len(rem) != 1 {
		t.Fatalf("day 23 mails:%s", summary(mails))
	}
	tk := w.ticket(n)
	r := rem[0]
	for _, want := range []string{"[#1]", "No puedo entrar"} {
		if !strings.Contains(r.subject, want) {
			t.Errorf("reminder subject %q lacks %q", r.subject, want)
		}
	}
	for _, want := range []string{"2 de diciembre de 2026", "resuelto", "https://help.example.com/t/" + tk.Token} {
		if !strings.Contains(r.text, want) {
			t.Errorf("reminder text lacks %q:\n%s", want, r.text)
		}
	}
	if h := html.UnescapeString(r.html); !strings.Contains(h, "mailto:soporte+"+tk.Token+"@example.com?") || !strings.Contains(h, "body=resuelto") {
		t.Errorf("reminder HTML lacks the solved mailto link:\n%s", r.html)
	}
	if r.env.GetHeader("Auto-Submitted") != "auto-generated" {
		t.Errorf("reminder Auto-Submitted = %q", r.env.GetHeader("Auto-Submitted"))
	}

	if got := w.days(24, 29); len(got) != 0 {
		t.Fatalf("days 24-29: %v (one reminder per pending period)", got)
	}
	w.at(30)
	if got := w.pass(); !reflect.DeepEqual(got, []string{fmt.Sprintf("#%d close", n)}) {
		t.Fatalf("day 30 pass = %v", got)
	}
	mails = w.flush()
	if c := to(mails, carla); len(mails) != 1 || len(c) != 1 || !strings.Contains(c[0].text, "responda a este correo") && !strings.Contains(strings.ToLower(c[0].text), "respond") {
		t.Fatalf("day 30 mails:%s", summary(mails))
	}
	if tk := w.ticket(n); tk.Status != "cerrado" || tk.ClosedAt.IsZero() {
		t.Fatalf("after close: %+v", tk)
	}
	evs := w.events(n)
	if !hasEvent(evs, "reminder", "system") || !hasEvent(evs, "closed", "system") {
		t.Errorf("events = %v", eventTypes(evs))
	}
	if got := w.days(31, 90); len(got) != 0 {
		t.Fatalf("after close: %v", got)
	}
}

// A customer who answers stops the clock: no reminder after a reply on
// day 20, no close after a reply on day 25 (after the reminder).
func TestCustomerReplyCancels(t *testing.T) {
	w := newWorld(t, "")
	early := w.open(carla, "Uno")
	late := w.open("diego@cliente.example", "Dos")
	w.agent(early, ana, "Respuesta uno.")
	w.agent(late, ana, "Respuesta dos.")
	w.flush()

	got := w.days(1, 19)
	w.at(20)
	w.customer(early, "Sigue sin funcionar.")
	for d, lines := range w.days(20, 24) {
		got[d] = lines
	}
	want := map[int][]string{23: {fmt.Sprintf("#%d reminder", late)}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("days 1-24: %v, want %v", got, want)
	}
	w.at(25, 3)
	w.customer(late, "Lo pruebo mañana y le digo.")
	if got := w.days(26, 120); len(got) != 0 {
		t.Fatalf("after the replies: %v", got)
	}
	for _, n := range []int64{early, late} {
		if tk := w.ticket(n); tk.Status != "abierto" {
			t.Errorf("#%d status %s, want abierto", n, tk.Status)
		}
	}
}

// A daemon that was off from day 10 to day 40 reminds when it comes back
// and closes seven days later, not at once.
func TestDowntimeRemindsBeforeClosing(t *testing.T) {
	w := newWorld(t, "")
	n := w.open(carla, "Factura duplicada")
	w.agent(n, ana, "Lo revisamos.")
	w.flush()
	if got := w.days(1, 9); len(got) != 0 {
		t.Fatalf("days 1-9: %v", got)
	}
	// Off: no passes from day 10 to day 39.
	w.at(40)
	if got := w.pass(); !reflect.DeepEqual(got, []string{"#1 reminder"}) {
		t.Fatalf("back on day 40: %v", got)
	}
	rem := to(w.flush(), carla)
	if len(rem) != 1 || !strings.Contains(rem[0].text, "19 de diciembre de 2026") {
		t.Fatalf("reminder after downtime should announce day 47 (19 December):\n%v", rem)
	}
	if got := w.days(41, 46); len(got) != 0 {
		t.Fatalf("days 41-46: %v", got)
	}
	w.at(47)
	if got := w.pass(); !reflect.DeepEqual(got, []string{"#1 close"}) {
		t.Fatalf("day 47: %v", got)
	}
}

// "resuelto" to a reminder closes with thanks; "resuelto, pero..." reopens
// the conversation instead; an out-of-office changes nothing.
func TestSolvedReply(t *testing.T) {
	w := newWorld(t, "")
	solved := w.open(carla, "Impresora")
	more := w.open("diego@cliente.example", "Wifi")
	away := w.open("elena@cliente.example", "VPN")
	for _, n := range []int64{solved, more, away} {
		w.agent(n, ana, "Ya está arreglado, ¿nos confirma?")
	}
	w.flush()
	w.at(23)
	if got := w.pass(); len(got) != 3 {
		t.Fatalf("day 23: %v", got)
	}
	w.flush()

	w.at(24)
	w.customer(solved, "Sí, resuelto.", "", "El 25 nov 2026, Soporte Example <soporte@example.com> escribió:", "> ¿Ya se ha resuelto el problema?")
	w.customer(more, "resuelto, pero ahora falla otra cosa")
	w.outOfOffice(away)
	mails := w.flush()
	thanks := to(mails, carla)
	if len(thanks) != 1 || !strings.Contains(thanks[0].subject, "[#1]") {
		t.Fatalf("thank-you mail:%s", summary(mails))
	}
	if len(to(mails, "diego@cliente.example")) != 0 || len(to(mails, "elena@cliente.example")) != 0 {
		t.Errorf("only the solved ticket's customer hears back:%s", summary(mails))
	}
	if tk := w.ticket(solved); tk.Status != "cerrado" {
		t.Errorf("solved: status %s", tk.Status)
	}
	if evs := w.events(solved); !hasEvent(evs, "closed", carla) {
		t.Errorf("solved events %v", eventTypes(evs))
	}
	if tk := w.ticket(more); tk.Status != "abierto" {
		t.Errorf("not only solved: status %s", tk.Status)
	}
	if tk := w.ticket(away); tk.Status != "pendiente" {
		t.Errorf("out of office: status %s", tk.Status)
	}
	w.at(30)
	if got := w.pass(); !reflect.DeepEqual(got, []string{fmt.Sprintf("#%d close", away)}) {
		t.Fatalf("day 30: %v (the out-of-office must not reset the clock)", got)
	}
}

// A closed ticket comes back when its customer writes; its assignee is
// told with the new text, and the next answer starts a new pending period.
func TestReopenAfterClose(t *testing.T) {
	w := newWorld(t, "")
	n := w.open(carla, "Acceso")
	w.agent(n, ana, "Hecho.")
	w.days(1, 30)
	if tk := w.ticket(n); tk.Status != "cerrado" {
		t.Fatalf("status %s", tk.Status)
	}
	w.flush()
	w.at(45)
	w.customer(n, "Vuelve a fallar desde esta mañana.")
	tk := w.ticket(n)
	if tk.Status != "abierto" || !hasEvent(w.events(n), "reopened", carla) {
		t.Fatalf("after reply: %s %v", tk.Status, eventTypes(w.events(n)))
	}
	mails := w.flush()
	if len(mails) != 1 || len(to(mails, ana)) != 1 || !strings.Contains(mails[0].text, "Vuelve a fallar") {
		t.Fatalf("reopen notice should go to the assignee only, with the text:%s", summary(mails))
	}
	w.at(46)
	w.agent(n, ana, "Lo miramos otra vez.")
	if got := w.days(47, 68); len(got) != 0 {
		t.Fatalf("new period, before its reminder: %v", got)
	}
	w.at(69)
	if got := w.pass(); !reflect.DeepEqual(got, []string{"#1 reminder"}) {
		t.Fatalf("day 69: %v", got)
	}
}

// Per-mailbox delays replace [lifecycle]; 0 turns auto-close off.
func TestPerMailboxOverrides(t *testing.T) {
	dir := t.TempDir()
	cfg := daemontest.BaseConfig(dir) + `
[[mailboxes]]
address = "ventas@example.com"
name = "Ventas"
language = "en"
agents = ["ana@example.com"]
pending_close_days = 14
reminder_days_before_close = 3

[[mailboxes]]
address = "vip@example.com"
name = "VIP"
agents = ["ana@example.com"]
pending_close_days = 0
`
	w := newWorld(t, cfg)
	def := w.open(carla, "Default")
	fast := w.open("diego@cliente.example", "Quote", "ventas@example.com")
	never := w.open("elena@cliente.example", "VIP", "vip@example.com")
	for _, n := range []int64{def, fast, never} {
		w.agent(n, ana, "Answer.")
	}
	w.flush()
	got := w.days(1, 400)
	want := map[int][]string{
		11: {fmt.Sprintf("#%d reminder", fast)},
		14: {fmt.Sprintf("#%d close", fast)},
		23: {fmt.Sprintf("#%d reminder", def)},
		30: {fmt.Sprintf("#%d close", def)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("passes = %v, want %v", got, want)
	}
	if tk := w.ticket(never); tk.Status != "pendiente" {
		t.Errorf("auto-close off: status %s", tk.Status)
	}
}

// The loop `serve` runs: a pass every interval on the daemon's clock, and
// the outbox worker woken when it queued mail.
func TestRunLoop(t *testing.T) {
	w := newWorld(t, "")
	n := w.open(carla, "Loop")
	w.agent(n, ana, "Respuesta.")
	w.flush()
	w.at(23)
	ctx, cancel := context.WithCancel(context.Background())
	woken := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- w.sched.Run(ctx, func() time.Duration { return 5 * time.Millisecond }, func() {
			select {
			case woken <- struct{}{}:
			default:
			}
		})
	}()
	select {
	case <-woken:
	case <-time.After(5 * time.Second):
		t.Fatal("the loop never woke the worker")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if tk := w.ticket(n); tk.ReminderSentAt.IsZero() {
		t.Fatal("no reminder recorded")
	}
	if mails := to(w.flush(), carla); len(mails) != 1 {
		t.Fatalf("reminders sent: %d", len(mails))
	}
}
