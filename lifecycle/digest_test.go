package lifecycle_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/lifecycle"
)

func digestConfig(t *testing.T) string {
	return strings.Replace(daemontest.BaseConfig(t.TempDir()), `language = "es"`,
		"language = \"es\"\ntime_zone = \"Europe/Madrid\"\ndigest_time = \"08:00\"", 1)
}

func TestDigestDay(t *testing.T) {
	madrid, _ := time.LoadLocation("Europe/Madrid")
	for _, c := range []struct {
		now  string
		want string
	}{
		{"2026-11-03T06:59:00Z", ""},           // 07:59 in Madrid
		{"2026-11-03T07:00:00Z", "2026-11-03"}, // 08:00
		{"2026-11-03T22:30:00Z", "2026-11-03"}, // 23:30: late, still today's
		{"2026-11-03T23:30:00Z", ""},           // 00:30 on the 4th: yesterday's is not sent now
	} {
		now, _ := time.Parse(time.RFC3339, c.now)
		if got := lifecycle.DigestDay(now, madrid, 8, 0); got != c.want {
			t.Errorf("DigestDay(%s) = %q, want %q", c.now, got, c.want)
		}
	}
}

// Each agent gets one mail a day at digest_time (in the server's time
// zone) listing the tickets waiting for her, oldest first, each with her
// own reply address; none when nothing waits; never twice.
func TestDailyDigest(t *testing.T) {
	w := newWorld(t, digestConfig(t))
	n1 := w.open(carla, "No puedo entrar")
	w.at(0, 2)
	n2 := w.open("pedro@cliente.example", "Factura duplicada")
	w.agent(n2, ana, "Hola Pedro, lo miramos.") // pending: not waiting for an agent
	w.at(0, 3)
	n3 := w.open("rosa@cliente.example", "Cambio de plan")
	w.agent(n3, luis, "#tomar") // Luis's: waits for Luis only
	w.flush()

	// Day 0 started at 09:00 UTC (10:00 in Madrid): today's digest time
	// had passed, so the first pass sends today's.
	w.at(0, 4)
	got := w.pass()
	slices.Sort(got)
	if want := []string{"digest ana@example.com (1 ticket)", "digest luis@example.com (2 tickets)"}; !slices.Equal(got, want) {
		t.Fatalf("first pass: %v, want %v", got, want)
	}
	mails := w.flush()
	toAna, toLuis := to(mails, ana), to(mails, luis)
	if len(mails) != 2 || len(toAna) != 1 || len(toLuis) != 1 {
		t.Fatalf("digests:%s", summary(mails))
	}
	a := toAna[0]
	if a.subject != "1 solicitud le espera" || a.env.GetHeader("Auto-Submitted") != "auto-generated" {
		t.Fatalf("Ana's digest: %q, Auto-Submitted %q", a.subject, a.env.GetHeader("Auto-Submitted"))
	}
	if !strings.Contains(a.text, "#1 No puedo entrar") || !strings.Contains(a.text, "carla@cliente.example") ||
		!strings.Contains(a.text, "Nuevo") || !strings.Contains(a.text, "4 horas") || !strings.Contains(a.text, w.agentAddr(n1, ana)) {
		t.Fatalf("Ana's digest text:\n%s", a.text)
	}
	if strings.Contains(a.text, "#2 ") || strings.Contains(a.text, "#3 ") {
		t.Fatalf("Ana's digest lists tickets not waiting for her:\n%s", a.text)
	}
	l := toLuis[0].text
	if i, j := strings.Index(l, "#1 No puedo entrar"), strings.Index(l, "#3 Cambio de plan"); i < 0 || j < 0 || i > j {
		t.Fatalf("Luis's digest, oldest first:\n%s", l)
	}
	if !strings.Contains(l, w.agentAddr(n3, luis)) || strings.Contains(l, w.agentAddr(n3, ana)) {
		t.Fatalf("Luis's digest must carry his own reply addresses:\n%s", l)
	}

	// Once a day.
	w.at(0, 10)
	if got := w.pass(); len(got) != 0 {
		t.Fatalf("second pass the same day: %v", got)
	}
	// Next day, before 08:00 Madrid (07:00 UTC): nothing; at 08:00: again.
	w.at(1, -3)
	if got := w.pass(); len(got) != 0 {
		t.Fatalf("before digest time: %v", got)
	}
	w.at(1, -2)
	if got := w.pass(); len(got) != 2 {
		t.Fatalf("next morning: %v", got)
	}
	w.flush()

	// Nothing waits: no mail, and no mail later that day either.
	w.agent(n1, ana, "#cerrar")
	w.agent(n3, luis, "#cerrar")
	w.flush()
	w.at(2, -2)
	if got := w.pass(); len(got) != 0 {
		t.Fatalf("nothing waits, yet: %v", got)
	}
	if mails := w.flush(); len(mails) != 0 {
		t.Fatalf("mails with nothing waiting:%s", summary(mails))
	}
	w.open("nuevo@cliente.example", "Otra")
	w.flush()
	w.at(2, 5)
	if got := w.pass(); len(got) != 0 {
		t.Fatalf("a digest after the morning's empty one: %v", got)
	}
}

func (w *world) ticketCount() int {
	w.t.Helper()
	var n int
	w.view(func(tx ticketd.Tx) error {
		tks, err := tx.ListTickets(ticketd.TicketFilter{})
		n = len(tks)
		return err
	})
	return n
}

// An agent who writes #lista (or #list) to the support address gets her
// list at once; no ticket is opened and nobody is acknowledged.
func TestListCommand(t *testing.T) {
	w := newWorld(t, "")
	list := func(from, word string) {
		t.Helper()
		w.MustSend(from, []string{"soporte@example.com"}, rawMail([]string{
			"From: " + from, "To: soporte@example.com", "Subject: lista", "Message-ID: " + w.msgid(),
		}, word, "", "-- ", "Ana Pérez, Soporte"))
	}
	list(ana, "#lista")
	mails := w.flush()
	if len(mails) != 1 || len(to(mails, ana)) != 1 || mails[0].subject != "Ninguna solicitud le espera" {
		t.Fatalf("#lista with nothing waiting:%s", summary(mails))
	}
	if n := w.ticketCount(); n != 0 {
		t.Fatalf("#lista opened %d tickets", n)
	}
	n1 := w.open(carla, "No puedo entrar")
	w.open("pedro@cliente.example", "Factura")
	list(luis, "#LIST")
	mails = w.flush()
	if len(mails) != 1 || len(to(mails, luis)) != 1 || mails[0].subject != "2 solicitudes le esperan" ||
		!strings.Contains(mails[0].text, w.agentAddr(n1, luis)) || mails[0].env.GetHeader("Auto-Submitted") != "auto-generated" {
		t.Fatalf("#list:%s\n%s", summary(mails), mails[0].text)
	}
	if n := w.ticketCount(); n != 2 {
		t.Fatalf("%d tickets after #list, want the customers' 2", n)
	}
	// A customer's "#lista" is a customer's mail like any other.
	list("rosa@cliente.example", "#lista")
	if n := w.ticketCount(); n != 3 {
		t.Fatalf("a customer's #lista opened no ticket (%d)", n)
	}
	if mails := w.flush(); len(to(mails, "rosa@cliente.example")) != 1 {
		t.Fatalf("the customer was not acknowledged:%s", summary(mails))
	}
}
