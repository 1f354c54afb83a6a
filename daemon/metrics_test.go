package daemon_test

import (
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/ticketd/ticketd/daemon/daemontest"
)

// The outbox counters follow the worker: mails delivered, and mails given
// up on after a permanent refusal by the smarthost.
func TestOutboxCounters(t *testing.T) {
	var logs lockedBuffer
	e := daemontest.StartLogged(t, "", &logs)
	srv := httptest.NewServer(e.D.Metrics.Handler())
	defer srv.Close()
	metric := func(name string) string {
		t.Helper()
		resp, err := srv.Client().Get(srv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, name+" "); ok {
				return v
			}
		}
		t.Fatalf("no %s in /metrics", name)
		return ""
	}
	openTicket(t, e, "carla@cliente.example", "Pedido 7") // ack + two notifications, delivered
	if got := metric("ticketd_outbox_sent_total"); got != "3" {
		t.Fatalf("sent = %s, want 3", got)
	}
	e.Sink.SetFail(&smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"})
	e.MustSend("pedro@cliente.example", []string{"soporte@example.com"}, mail("From: pedro@cliente.example", "To: soporte@example.com", "Subject: Otra", "", "x"))
	e.Flush()
	// The three mails of the new ticket fail, and so do the notices of
	// their failure: every row given up on is counted once.
	gaveUp := strings.Count(logs.String(), `msg="delivery failed, giving up"`)
	if got := metric("ticketd_outbox_failed_total"); gaveUp < 3 || got != strconv.Itoa(gaveUp) {
		t.Fatalf("failed = %s, want %d", got, gaveUp)
	}
	if got := metric("ticketd_outbox_sent_total"); got != "3" {
		t.Fatalf("sent after failures = %s, want 3", got)
	}
}
