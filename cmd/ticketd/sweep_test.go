package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ticketd/ticketd"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/daemon"
	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/intake"
	"github.com/ticketd/ticketd/threading"
)

// lcBuild builds the real binary, with the tags the README asks for.
func lcBuild(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ticketd")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// lcDesk is a data directory with a config, filled through the real
// intake at chosen moments.
type lcDesk struct {
	t     *testing.T
	cfg   string // config file
	parts *daemon.Parts
	now   time.Time
	seq   int
}

func newLCDesk(t *testing.T) *lcDesk {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "ticketd.toml")
	if err := os.WriteFile(path, []byte(daemontest.BaseConfig(dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	d := &lcDesk{t: t, cfg: path}
	d.parts, err = daemon.OpenParts(cfg, daemon.Options{Now: func() time.Time { return d.now }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *lcDesk) close() { d.parts.Store.Close() }

func (d *lcDesk) deliver(to string, headers []string, body string) {
	d.t.Helper()
	d.seq++
	raw := strings.Join(append(headers, fmt.Sprintf("Message-ID: <s%d@test.example>", d.seq)), "\r\n") + "\r\n\r\n" + body + "\r\n"
	from := strings.TrimPrefix(headers[0], "From: ")
	if _, err := d.parts.Desk.Deliver(context.Background(), intake.Envelope{Source: "inject", From: from, Rcpts: []string{to}}, []byte(raw)); err != nil {
		d.t.Fatalf("deliver: %v", err)
	}
}

// answered opens a ticket from customer and has Ana answer it, both at d.now.
func (d *lcDesk) answered(customer, subject, body string) int64 {
	d.t.Helper()
	d.deliver("soporte@example.com", []string{"From: " + customer, "To: soporte@example.com", "Subject: " + subject}, body)
	var tk *ticketd.Ticket
	d.parts.Store.View(context.Background(), func(tx ticketd.Tx) error {
		tks, err := tx.ListTickets(ticketd.TicketFilter{Limit: 1})
		tk = tks[0]
		return err
	})
	agent := threading.AgentAddress("soporte@example.com", tk.Token, threading.AgentTag(d.parts.Key, tk.Token, "ana@example.com"))
	d.deliver(agent, []string{"From: ana@example.com", "To: " + agent, "Subject: Re: " + subject}, "Hola, ¿sigue pasando?")
	return tk.Number
}

func lcRun(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

func lcShow(t *testing.T, bin, cfg string, n int64) ticketJSON {
	t.Helper()
	out, errOut, code := lcRun(t, bin, "tickets", "show", fmt.Sprint(n), "--json", "-config", cfg)
	if code != 0 {
		t.Fatalf("tickets show: %d %s", code, errOut)
	}
	var j ticketJSON
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		t.Fatalf("tickets show --json: %v\n%s", err, out)
	}
	return j
}

func TestSweepBinary(t *testing.T) {
	bin := lcBuild(t)
	d := newLCDesk(t)
	day0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	d.now = day0
	n := d.answered("carla@cliente.example", "No llega la factura", "Hola, no me llega la factura de diciembre.")
	d.close()
	outbox := filepath.Join(filepath.Dir(d.cfg), "outbox")
	at := func(days int) string { return day0.Add(time.Duration(days) * 24 * time.Hour).Format(time.RFC3339) }

	// Nothing is due on day 10.
	if out, errOut, code := lcRun(t, bin, "sweep", "-config", d.cfg, "--now", at(10)); code != 0 || out != "" {
		t.Fatalf("sweep day 10: %d %q %s", code, out, errOut)
	}
	// --dry-run says what would happen and changes nothing.
	out, errOut, code := lcRun(t, bin, "sweep", "-config", d.cfg, "--now", at(24), "--dry-run")
	if code != 0 || out != fmt.Sprintf("#%d reminder\n", n) {
		t.Fatalf("sweep --dry-run: %d %q %s", code, out, errOut)
	}
	if j := lcShow(t, bin, d.cfg, n); j.Status != "pendiente" || lcHasEvent(j, "reminder") {
		t.Fatalf("dry run changed the ticket: %s %v", j.Status, j.Events)
	}
	if files, _ := filepath.Glob(filepath.Join(outbox, "*.eml")); len(files) != 0 {
		t.Fatalf("dry run sent %d mails", len(files))
	}

	// The real pass reminds, records it at --now as the system, and sends
	// before it exits.
	out, errOut, code = lcRun(t, bin, "sweep", "-config", d.cfg, "--now", at(24))
	if code != 0 || out != fmt.Sprintf("#%d reminder\n", n) {
		t.Fatalf("sweep: %d %q %s", code, out, errOut)
	}
	j := lcShow(t, bin, d.cfg, n)
	ev := lcEvent(j, "reminder")
	if ev == nil || ev.Actor != "system" || !ev.At.Equal(day0.Add(24*24*time.Hour)) {
		t.Fatalf("reminder event = %+v", ev)
	}
	if !strings.Contains(lcOutboxText(t, outbox), "Esperamos su respuesta") {
		t.Fatalf("the reminder was not sent before sweep exited")
	}
	// Once per pending period; the close waits 7 days after the reminder
	// (day 31), although the planned date (day 30) has passed.
	if out, _, _ := lcRun(t, bin, "sweep", "-config", d.cfg, "--now", at(30)); out != "" {
		t.Fatalf("sweep day 30 = %q", out)
	}
	if out, _, _ := lcRun(t, bin, "sweep", "-config", d.cfg, "--now", at(31), "--dry-run"); out != fmt.Sprintf("#%d close\n", n) {
		t.Fatalf("sweep day 31 --dry-run = %q", out)
	}
	if out, _, _ := lcRun(t, bin, "sweep", "-config", d.cfg, "--now", at(31)); out != fmt.Sprintf("#%d close\n", n) {
		t.Fatalf("sweep day 31 = %q", out)
	}
	j = lcShow(t, bin, d.cfg, n)
	if ev := lcEvent(j, "closed"); j.Status != "cerrado" || ev == nil || ev.Actor != "system" {
		t.Fatalf("after close: %s %+v", j.Status, j.Events)
	}
	if j.Priority != "media" || j.Tags == nil {
		t.Errorf("show --json priority %q tags %v", j.Priority, j.Tags)
	}
	if out, _, _ := lcRun(t, bin, "sweep", "-config", d.cfg, "--now", at(90)); out != "" {
		t.Fatalf("sweep after close = %q", out)
	}

	if _, errOut, code := lcRun(t, bin, "sweep", "-config", d.cfg, "--now", "tomorrow"); code != exitUsage || !strings.Contains(errOut, "RFC 3339") {
		t.Errorf("bad --now: %d %s", code, errOut)
	}
}

func lcHasEvent(j ticketJSON, typ string) bool { return lcEvent(j, typ) != nil }

func lcEvent(j ticketJSON, typ string) *eventJSON {
	for i := range j.Events {
		if j.Events[i].Type == typ {
			return &j.Events[i]
		}
	}
	return nil
}

func lcOutboxText(t *testing.T, dir string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	return b.String()
}

// sweep --now T sends the digests due at T, once.
func TestSweepSendsDigestOnce(t *testing.T) {
	bin := lcBuild(t)
	d := newLCDesk(t)
	text, _ := os.ReadFile(d.cfg)
	os.WriteFile(d.cfg, []byte(strings.Replace(string(text), `language = "es"`, "language = \"es\"\ndigest_time = \"08:00\"", 1)), 0o600)
	d.now = time.Date(2026, 1, 5, 7, 0, 0, 0, time.UTC)
	d.deliver("soporte@example.com", []string{"From: Carla Ruiz <carla@cliente.example>", "To: soporte@example.com", "Subject: No llega la factura"}, "Hola.")
	d.close()
	outbox := filepath.Join(filepath.Dir(d.cfg), "outbox")

	if out, errOut, code := lcRun(t, bin, "sweep", "-config", d.cfg, "--now", "2026-01-05T07:59:00Z"); code != 0 || out != "" {
		t.Fatalf("before 08:00: %d %q %s", code, out, errOut)
	}
	want := "digest ana@example.com (1 ticket)\ndigest luis@example.com (1 ticket)\n"
	if out, errOut, code := lcRun(t, bin, "sweep", "-config", d.cfg, "--now", "2026-01-05T08:00:00Z", "--dry-run"); code != 0 || out != want {
		t.Fatalf("dry run at 08:00: %d %q %s", code, out, errOut)
	}
	if out, errOut, code := lcRun(t, bin, "sweep", "-config", d.cfg, "--now", "2026-01-05T08:00:00Z"); code != 0 || out != want {
		t.Fatalf("at 08:00: %d %q %s", code, out, errOut)
	}
	if out, _, _ := lcRun(t, bin, "sweep", "-config", d.cfg, "--now", "2026-01-05T09:00:00Z"); out != "" {
		t.Fatalf("again the same day: %q", out)
	}
	// The outbox also holds the ticket's acknowledgement and notifications,
	// sent by the same sweep; the digests are there exactly once each.
	all := lcOutboxText(t, outbox)
	if strings.Count(all, "Subject: 1 solicitud le espera") != 2 || !strings.Contains(all, "#1 No llega la factura") {
		t.Fatalf("digest mails:\n%s", all)
	}
}
