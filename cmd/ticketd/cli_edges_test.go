package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// help CMD and CMD --help print that command's usage on stdout and exit 0;
// --version works; the usage lists every subcommand.
func TestHelpAndVersion(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"help", "tickets"}, []string{"ticketd tickets list", "ticketd tickets show N", "ticketd tickets search QUERY"}},
		{[]string{"tickets", "--help"}, []string{"ticketd tickets list", "ticketd tickets search QUERY"}},
		{[]string{"tickets", "help", "search"}, []string{"usage: ticketd tickets search QUERY", "-status"}},
		{[]string{"help", "tickets", "search"}, []string{"usage: ticketd tickets search QUERY", "-limit"}},
		{[]string{"tickets", "list", "--help"}, []string{"usage: ticketd tickets list", "-json"}},
		{[]string{"help", "sweep"}, []string{"usage: ticketd sweep", "-dry-run", "-now"}},
		{[]string{"sweep", "-h"}, []string{"usage: ticketd sweep"}},
		{[]string{"inject", "--help"}, []string{"usage: ticketd inject -to ADDR", "-from"}},
		{[]string{"help", "check-config"}, []string{"usage: ticketd check-config", "-connect"}},
		{[]string{"help", "serve"}, []string{"usage: ticketd serve", "-config"}},
		{[]string{"help"}, []string{"commands:", "search", "check-config"}},
		{[]string{"--help"}, []string{"commands:", "tickets"}},
		{[]string{"--version"}, []string{"ticketd dev"}},
		{[]string{"version"}, []string{"ticketd dev"}},
	}
	for _, c := range cases {
		r := runBin(t, "", nil, c.args...)
		if r.code != 0 || r.stderr != "" {
			t.Errorf("%v: exit %d, stderr %q", c.args, r.code, r.stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%v: stdout lacks %q:\n%s", c.args, w, r.stdout)
			}
		}
	}
	// Mistakes still go to stderr with a usage exit code.
	if r := runBin(t, "", nil, "tickets", "frobnicate"); r.code != 64 || !strings.Contains(r.stderr, `unknown subcommand "frobnicate"`) || !strings.Contains(r.stderr, "tickets search") {
		t.Errorf("unknown subcommand: %d %q", r.code, r.stderr)
	}
	if r := runBin(t, "", nil); r.code != 64 || !strings.Contains(r.stderr, "tickets list|show N|search QUERY") {
		t.Errorf("no command: %d %q", r.code, r.stderr)
	}
}

// --status takes the English names too; sweep --dry-run says when nothing
// is due; an agent's message in JSON carries the agent's configured name.
func TestStatusNamesDryRunAndAgentName(t *testing.T) {
	bin := ticketdBinary(t)
	d := newLCDesk(t)
	d.now = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	answered := d.answered("carla@cliente.example", "No llega la factura", "Hola, no me llega la factura.")
	d.deliver("soporte@example.com", []string{"From: pedro@cliente.example", "To: soporte@example.com", "Subject: Otra"}, "Hola")
	d.close()

	list := func(status string) []string {
		out, errOut, code := lcRun(t, bin, "tickets", "list", "--status", status, "-config", d.cfg)
		if code != 0 {
			t.Fatalf("--status %s: %d %s", status, code, errOut)
		}
		return strings.Split(strings.TrimSpace(out), "\n")[1:]
	}
	for _, c := range []struct{ status, want string }{{"pending", "pendiente"}, {"pendiente", "pendiente"}, {"new", "nuevo"}, {"Open", ""}, {"closed", ""}} {
		rows := list(c.status)
		if c.want == "" {
			if len(rows) != 0 {
				t.Errorf("--status %s: %v", c.status, rows)
			}
			continue
		}
		if len(rows) != 1 || !strings.Contains(rows[0], " "+c.want+" ") {
			t.Errorf("--status %s: %v, want one %s ticket", c.status, rows, c.want)
		}
	}
	if out, errOut, code := lcRun(t, bin, "tickets", "search", "factura", "--status", "pending", "--json", "-config", d.cfg); code != 0 || !strings.Contains(out, `"status": "pendiente"`) {
		t.Errorf("search --status pending: %d %s %s", code, out, errOut)
	}
	if _, errOut, code := lcRun(t, bin, "tickets", "list", "--status", "solved", "-config", d.cfg); code != 64 || !strings.Contains(errOut, "open, closed") {
		t.Errorf("--status solved: %d %q", code, errOut)
	}

	out, errOut, code := lcRun(t, bin, "sweep", "--dry-run", "--now", "2026-01-06T09:00:00Z", "-config", d.cfg)
	if code != 0 || out != "nothing due\n" {
		t.Errorf("sweep --dry-run with nothing due: %d %q %s", code, out, errOut)
	}

	j := lcShow(t, bin, d.cfg, answered)
	var agentMsgs int
	for _, m := range j.Messages {
		if m.Author == "agent" {
			agentMsgs++
			if m.FromName != "Ana Pérez" || m.From != "ana@example.com" {
				t.Errorf("agent message from %q <%s>, want the configured name Ana Pérez", m.FromName, m.From)
			}
		}
	}
	if agentMsgs != 1 {
		t.Fatalf("agent messages: %d", agentMsgs)
	}
}

// check-config loads the templates as serve does: an override that serve
// would refuse fails check-config, naming the key once.
func TestCheckConfigLoadsTemplates(t *testing.T) {
	dir, cfg := writeConfig(t, "")
	tpl := filepath.Join(dir, "templates")
	os.MkdirAll(tpl, 0o755)
	os.WriteFile(filepath.Join(tpl, "ack.tmpl"), []byte(`{{define "subject"}}x{{end}}`), 0o644)
	text, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(text), "[server]\n", fmt.Sprintf("[server]\ntemplates_dir = %q\n", tpl), 1)), 0o600)
	r := runBin(t, "", nil, "check-config", "-config", cfg)
	if r.code != 78 || !strings.Contains(r.stderr, "server.templates_dir: ") || !strings.Contains(r.stderr, "ack.tmpl: not a known template") ||
		strings.Contains(r.stderr, "templates: templates:") || strings.Contains(r.stdout, "ok") {
		t.Fatalf("check-config with a misplaced override: %d %q %q", r.code, r.stdout, r.stderr)
	}
	s := runBin(t, "", nil, "serve", "-config", cfg)
	if s.code != 1 || strings.Contains(s.stderr, "templates: templates:") || !strings.Contains(s.stderr, "server.templates_dir: ") {
		t.Fatalf("serve with a misplaced override: %d %q", s.code, s.stderr)
	}
	// In a language folder it is an override both accept.
	os.MkdirAll(filepath.Join(tpl, "es"), 0o755)
	body, err := os.ReadFile("../../mailer/templates/files/es/ack.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(tpl, "ack.tmpl"))
	os.WriteFile(filepath.Join(tpl, "es", "ack.tmpl"), body, 0o644)
	if r := runBin(t, "", nil, "check-config", "-config", cfg); r.code != 0 {
		t.Fatalf("check-config with es/ack.tmpl: %d %q", r.code, r.stderr)
	}
}
