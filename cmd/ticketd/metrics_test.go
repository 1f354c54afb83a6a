package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ticketd/ticketd/daemon/daemontest"
)

// scrape reads /metrics and returns the value of each series, keyed as
// name{label="value",...} with labels in name order.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	out := map[string]float64{}
	for name, f := range families {
		for _, m := range f.Metric {
			var labels []string
			for _, l := range m.Label {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			key := name
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			out[key] = value(m)
		}
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return -1
}

// serve with [http] metrics_listen serves Prometheus metrics there (and
// only there): mail received by source, the outbox, tickets per status,
// open SMTP sessions, and the Go and process collectors.
func TestServeMetrics(t *testing.T) {
	dir := t.TempDir()
	smtpPort, webPort, metricsPort := freePort(t), freePort(t), freePort(t)
	cfgText := strings.Replace(daemontest.BaseConfig(dir), `listen = "127.0.0.1:0"`, fmt.Sprintf(`listen = "127.0.0.1:%d"`, smtpPort), 1)
	cfgText = strings.Replace(cfgText, "[http]\nlisten = \"\"", fmt.Sprintf("[http]\nlisten = \"127.0.0.1:%d\"\nmetrics_listen = \"127.0.0.1:%d\"", webPort, metricsPort), 1)
	_, cfg := writeConfig(t, cfgText)
	cmd := exec.Command(ticketdBinary(t), "serve", "-config", cfg)
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	url := fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)
	waitFor(t, "metrics listener", func() bool {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	m := scrape(t, url)
	for _, key := range []string{`ticketd_mail_received_total{source="smtp"}`, `ticketd_mail_received_total{source="inject"}`,
		`ticketd_tickets{status="nuevo"}`, `ticketd_outbox_queued`, `ticketd_outbox_sent_total`, `ticketd_outbox_failed_total`, `ticketd_smtp_sessions`} {
		if v, ok := m[key]; !ok || v != 0 {
			t.Errorf("at start %s = %v (present %v), want 0", key, v, ok)
		}
	}
	if _, ok := m["go_goroutines"]; !ok {
		t.Error("no Go collector (go_goroutines)")
	}
	if _, ok := m["process_resident_memory_bytes"]; !ok {
		t.Error("no process collector (process_resident_memory_bytes)")
	}

	// An open SMTP session is counted once it said EHLO.
	smtpAddr := fmt.Sprintf("127.0.0.1:%d", smtpPort)
	c, err := net.Dial("tcp", smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	br.ReadString('\n')
	fmt.Fprintf(c, "EHLO relay.example\r\n")
	for {
		line, err := br.ReadString('\n')
		if err != nil || strings.HasPrefix(line, "250 ") {
			break
		}
	}
	if v := scrape(t, url)["ticketd_smtp_sessions"]; v != 1 {
		t.Errorf("with one session open: ticketd_smtp_sessions = %v", v)
	}
	fmt.Fprintf(c, "QUIT\r\n")
	br.ReadString('\n')
	c.Close()
	waitFor(t, "session gauge back to 0", func() bool { return scrape(t, url)["ticketd_smtp_sessions"] == 0 })

	if err := daemontest.SendSMTP(smtpAddr, "carla@cliente.example", []string{"soporte@example.com"},
		"From: carla@cliente.example\r\nSubject: Métricas\r\n\r\nhola\r\n"); err != nil {
		t.Fatal(err)
	}
	if r := runBin(t, "From: pedro@cliente.example\r\nSubject: Por tubería\r\n\r\nhola\r\n", nil, "inject", "-config", cfg, "-to", "soporte@example.com"); r.code != 0 {
		t.Fatalf("inject: %d %s", r.code, r.stderr)
	}
	m = scrape(t, url)
	if m[`ticketd_mail_received_total{source="smtp"}`] != 1 || m[`ticketd_mail_received_total{source="inject"}`] != 1 || m[`ticketd_tickets{status="nuevo"}`] != 2 {
		t.Errorf("after one SMTP mail and one inject: %v %v %v", m[`ticketd_mail_received_total{source="smtp"}`],
			m[`ticketd_mail_received_total{source="inject"}`], m[`ticketd_tickets{status="nuevo"}`])
	}
	// Each new ticket: an acknowledgement and a notification to each of two agents.
	waitFor(t, "the worker sending six mails", func() bool {
		m := scrape(t, url)
		return m["ticketd_outbox_sent_total"] == 6 && m["ticketd_outbox_queued"] == 0
	})

	// The status page does not serve metrics.
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", webPort))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("status page /metrics: %s, want 404", resp.Status)
	}
}
