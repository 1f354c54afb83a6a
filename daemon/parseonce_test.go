package daemon_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ticketd/ticketd"

	"github.com/emersion/go-smtp"
	"github.com/jhillyerd/enmime/v2"

	"github.com/ticketd/ticketd/daemon/daemontest"
)

// rawless is the daemon's own store with the raw mails out of reach: what
// the outbox worker composes must come from what intake stored.
type rawless struct {
	ticketd.Store
	t *testing.T
}

func (s rawless) View(ctx context.Context, fn func(ticketd.Tx) error) error {
	return s.Store.View(ctx, func(tx ticketd.Tx) error { return fn(rawlessTx{tx, s.t}) })
}

func (s rawless) Update(ctx context.Context, fn func(ticketd.Tx) error) error {
	return s.Store.Update(ctx, func(tx ticketd.Tx) error { return fn(rawlessTx{tx, s.t}) })
}

type rawlessTx struct {
	ticketd.Tx
	t *testing.T
}

func (tx rawlessTx) Raw(id int64) (*ticketd.Raw, error) {
	tx.t.Errorf("the outbox read raw mail %d: outgoing mail must come from what intake stored", id)
	return nil, errors.New("raw mail out of reach")
}

// A customer's HTML mail with a pasted image, and an agent's HTML answer
// with a pasted image and a PDF: the agents' notification and the answer
// to the customer carry the HTML, the inline image beside it and the PDF's
// exact bytes, without the outbox reading a raw mail once.
func TestOutgoingMailIsComposedFromStoredParts(t *testing.T) {
	e := daemontest.Start(t, "")
	e.D.Worker.Store = rawless{e.D.Store, t}
	e.MustSend("carla@cliente.example", []string{"soporte@example.com"}, fixture(t, "customer-outlook-inline-es.eml", nil))
	n := parse(t, one(t, daemontest.To(e.Flush(), "ana@example.com")))
	if !strings.Contains(n.HTML, "<b>este error</b>") {
		t.Errorf("the agent's notification lost the customer's HTML:\n%s", n.HTML)
	}
	checkInlineImage(t, n, true)

	answer := fixture(t, "agent-gmail-attachment-es.eml", map[string]string{
		"FROM": "ana@example.com", "TO": replyTo(t, n), "REF": n.GetHeader("Message-Id"), "SUBJECT": n.GetHeader("Subject"),
	})
	e.MustSend("ana@example.com", []string{replyTo(t, n)}, answer)
	r := parse(t, one(t, daemontest.To(e.Flush(), "carla@cliente.example")))
	if !strings.Contains(r.HTML, "<u>corregida</u>") {
		t.Errorf("HTML of the answer:\n%s", r.HTML)
	}
	checkInlineImageWith(t, r, "ii_new001")
	sent, err := enmime.ReadEnvelope(strings.NewReader(answer))
	if err != nil {
		t.Fatal(err)
	}
	var pdf []byte
	for _, a := range sent.Attachments {
		if a.FileName == "factura-2026-0042.pdf" {
			pdf = a.Content
		}
	}
	if len(r.Attachments) != 1 || r.Attachments[0].FileName != "factura-2026-0042.pdf" || pdf == nil || !bytes.Equal(r.Attachments[0].Content, pdf) {
		t.Errorf("the customer's copy of the PDF differs from what the agent sent (%d attachments)", len(r.Attachments))
	}
}

// The outbox keeps its smarthost session open: three new tickets' nine
// mails (an acknowledgement and two notifications each) go over one
// connection, and a refused mail in between does not cost another.
func TestOutboxReusesTheSmarthostSession(t *testing.T) {
	e := daemontest.Start(t, "")
	for _, who := range []string{"carla", "pedro", "marta"} {
		e.MustSend(who+"@cliente.example", []string{"soporte@example.com"}, mail("From: "+who+"@cliente.example", "To: soporte@example.com",
			"Subject: Consulta de "+who, "Message-ID: <"+who+"@cliente.example>", "", "Hola."))
	}
	if got := e.Flush(); len(got) != 9 || len(daemontest.To(got, "pedro@cliente.example")) != 1 {
		t.Fatalf("smarthost got %d mails, want 9", len(got))
	}
	e.Sink.SetFail(&smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"})
	e.MustSend("rosa@cliente.example", []string{"soporte@example.com"}, mail("From: rosa@cliente.example", "To: soporte@example.com",
		"Subject: Consulta de rosa", "Message-ID: <rosa@cliente.example>", "", "Hola."))
	if got := e.Flush(); len(got) != 0 {
		t.Fatalf("%d mails accepted while the smarthost refused", len(got))
	}
	e.Sink.SetFail(nil)
	e.Clock.Advance(31 * time.Second) // past the first retry's backoff (30 s)
	if got := e.Flush(); len(got) != 3 || len(daemontest.To(got, "rosa@cliente.example")) != 1 {
		t.Fatalf("after the smarthost recovered: %d mails, want rosa's 3", len(got))
	}
	if n := e.Sink.Connections(); n != 1 {
		t.Errorf("%d connections to the smarthost, want 1", n)
	}
}
