package daemon_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ticketd/ticketd"

	"github.com/emersion/go-smtp"
	"github.com/jhillyerd/enmime/v2"

	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/threading"
)

// The story of one ticket: a customer writes, is acknowledged, the agents
// are told, an agent answers from a mail client, the customer gets the
// answer, and the customer's reply lands on the same ticket.
func TestTicketLoop(t *testing.T) {
	e := daemontest.Start(t, "")

	e.MustSend("carla@cliente.example", []string{"soporte@example.com"}, mail(
		"From: Carla Ruiz <carla@cliente.example>",
		"To: soporte@example.com",
		"Cc: Pedro <pedro@cliente.example>",
		"Subject: No puedo entrar en mi cuenta",
		"Message-ID: <first@cliente.example>",
		"",
		"Hola, desde ayer no puedo entrar en mi cuenta.",
		"Gracias."))

	tk := ticket(t, e, 1)
	if tk.Status != "nuevo" || tk.RequesterAddr != "carla@cliente.example" || tk.RequesterName != "Carla Ruiz" || tk.Subject != "No puedo entrar en mi cuenta" {
		t.Fatalf("new ticket = %+v", tk)
	}
	sent := e.Flush()
	if len(sent) != 3 {
		t.Fatalf("sent %d mails, want ack + 2 agent notifications: %v", len(sent), rcptsOf(sent))
	}

	// The acknowledgement: to the customer only, automatic, with the
	// number, the subject and the tracking link, threaded to her mail.
	ack := one(t, daemontest.To(sent, "carla@cliente.example"))
	a := parse(t, ack)
	if got := a.GetHeader("Auto-Submitted"); got != "auto-replied" {
		t.Errorf("ack Auto-Submitted = %q", got)
	}
	if !strings.Contains(a.GetHeader("Subject"), "[#1]") || !strings.Contains(a.GetHeader("Subject"), "No puedo entrar") {
		t.Errorf("ack subject = %q", a.GetHeader("Subject"))
	}
	link := "https://help.example.com/t/" + tk.Token
	if !strings.Contains(a.Text, link) {
		t.Errorf("ack text lacks tracking link %s:\n%s", link, a.Text)
	}
	if got := a.GetHeader("In-Reply-To"); got != "<first@cliente.example>" {
		t.Errorf("ack In-Reply-To = %q", got)
	}
	customerAddr := "soporte+" + tk.Token + "@example.com"
	if !strings.Contains(a.GetHeader("Reply-To"), customerAddr) {
		t.Errorf("ack Reply-To = %q, want %s", a.GetHeader("Reply-To"), customerAddr)
	}
	if ack.From != customerAddr {
		t.Errorf("ack envelope sender = %q, want %q (bounces thread back)", ack.From, customerAddr)
	}

	// Each agent gets the customer's text and a reply address of their own.
	ana := parse(t, one(t, daemontest.To(sent, "ana@example.com")))
	luis := parse(t, one(t, daemontest.To(sent, "luis@example.com")))
	for _, n := range []*enmime.Envelope{ana, luis} {
		if !strings.Contains(n.Text, "desde ayer no puedo entrar") || !strings.HasPrefix(n.GetHeader("Subject"), "[#1]") {
			t.Errorf("agent notification: subject %q text:\n%s", n.GetHeader("Subject"), n.Text)
		}
	}
	anaReply := replyTo(t, ana)
	if anaReply == replyTo(t, luis) || !strings.HasPrefix(anaReply, "soporte+"+tk.Token+"-a-") {
		t.Fatalf("agent reply addresses: ana %q luis %q", anaReply, replyTo(t, luis))
	}

	// Ana answers from her mail client, quoting the notification.
	e.Clock.Advance(time.Hour)
	e.MustSend("ana@example.com", []string{anaReply}, mail(
		"From: Ana Pérez <ana@example.com>",
		"To: "+anaReply,
		"Subject: Re: "+ana.GetHeader("Subject"),
		"Message-ID: <ana-1@example.com>",
		"In-Reply-To: "+ana.GetHeader("Message-Id"),
		"",
		"Hola Carla, ya le hemos restablecido la contraseña.",
		"",
		"El mar, 2 nov 2026 a las 9:00, Soporte Example <soporte@example.com> escribió:",
		"> Hola, desde ayer no puedo entrar en mi cuenta.",
		"> Gracias."))
	tk = ticket(t, e, 1)
	if tk.Status != "pendiente" || tk.Assignee != "ana@example.com" {
		t.Fatalf("after agent reply: status %s assignee %q", tk.Status, tk.Assignee)
	}
	sent = e.Flush()
	relay := one(t, daemontest.To(sent, "carla@cliente.example"))
	r := parse(t, relay)
	if !strings.Contains(r.Text, "ya le hemos restablecido la contraseña") {
		t.Errorf("relay text:\n%s", r.Text)
	}
	if strings.Contains(r.Text, "> Hola, desde ayer") || strings.Contains(r.Text, "ana@example.com") {
		t.Errorf("relay leaks the quote or the agent's address:\n%s", r.Text)
	}
	if from := r.GetHeader("From"); !strings.Contains(from, "Ana Pérez") || !strings.Contains(from, "<soporte@example.com>") {
		t.Errorf("relay From = %q", from)
	}
	if r.GetHeader("Auto-Submitted") != "" {
		t.Errorf("a human answer must not be marked automatic")
	}
	if !strings.Contains(r.GetHeader("Subject"), "[#1]") || r.GetHeader("In-Reply-To") != "<first@cliente.example>" {
		t.Errorf("relay subject %q In-Reply-To %q", r.GetHeader("Subject"), r.GetHeader("In-Reply-To"))
	}
	if !strings.Contains(r.GetHeader("Reply-To"), customerAddr) {
		t.Errorf("relay Reply-To = %q", r.GetHeader("Reply-To"))
	}
	// Pedro was in Cc of the first mail and stays in the conversation.
	if !contains(relay.Rcpts, "pedro@cliente.example") || !strings.Contains(r.GetHeader("Cc"), "pedro@cliente.example") {
		t.Errorf("relay rcpts %v Cc %q: Pedro missing", relay.Rcpts, r.GetHeader("Cc"))
	}
	// The answer goes to no agent; Luis, who was told of the new ticket,
	// gets only the short line that Ana answered it.
	for _, m := range sent {
		if contains(m.Rcpts, "ana@example.com") || (contains(m.Rcpts, "luis@example.com") && !bytes.Contains(m.Data, []byte("ha respondido"))) {
			t.Errorf("agent reply also went to an agent: %v", m.Rcpts)
		}
	}

	// Carla replies; the ticket opens and only the assignee is told.
	e.Clock.Advance(time.Hour)
	e.MustSend("carla@cliente.example", []string{customerAddr}, mail(
		"From: Carla Ruiz <carla@cliente.example>",
		"To: "+customerAddr,
		"Subject: Re: "+r.GetHeader("Subject"),
		"Message-ID: <second@cliente.example>",
		"In-Reply-To: "+r.GetHeader("Message-Id"),
		"",
		"Sigue sin funcionar, me dice 'usuario bloqueado'.",
		"",
		"On Mon, Nov 2, 2026 at 10:00 AM Ana Pérez <soporte@example.com> wrote:",
		"> Hola Carla, ya le hemos restablecido la contraseña."))
	tk = ticket(t, e, 1)
	if tk.Status != "abierto" {
		t.Fatalf("after customer reply: status %s", tk.Status)
	}
	sent = e.Flush()
	n := parse(t, one(t, sent))
	if !contains(sent[0].Rcpts, "ana@example.com") || len(sent[0].Rcpts) != 1 {
		t.Errorf("customer reply notified %v, want the assignee only", sent[0].Rcpts)
	}
	if !strings.Contains(n.Text, "usuario bloqueado") || strings.Contains(n.Text, "> Hola Carla") {
		t.Errorf("agent sees:\n%s", n.Text)
	}

	msgs := messages(t, e, 1)
	if len(msgs) != 3 || msgs[0].Author != "customer" || msgs[1].Author != "agent" || msgs[2].Author != "customer" {
		t.Fatalf("messages: %+v", msgs)
	}
	if msgs[1].NewText != "Hola Carla, ya le hemos restablecido la contraseña." {
		t.Errorf("agent new text = %q", msgs[1].NewText)
	}
	evs := eventTypes(t, e, 1)
	for _, want := range []string{"created", "message_in", "assigned", "status", "message_out"} {
		if !contains(evs, want) {
			t.Errorf("events %v lack %s", evs, want)
		}
	}
}

func TestThreadingByInReplyToAndSubjectTag(t *testing.T) {
	e := daemontest.Start(t, "")
	tk, ack := openTicket(t, e, "carla@cliente.example", "Factura duplicada")

	// A reply that lost its token (sent to the plain address) threads
	// through In-Reply-To: our Message-IDs carry the token.
	e.MustSend("carla@cliente.example", []string{"soporte@example.com"}, mail(
		"From: carla@cliente.example", "To: soporte@example.com", "Subject: Re: algo",
		"Message-ID: <r1@cliente.example>", "In-Reply-To: "+ack.GetHeader("Message-Id"), "",
		"Adjunto más datos."))
	if n := len(messages(t, e, tk.Number)); n != 2 {
		t.Fatalf("In-Reply-To reply: ticket has %d messages, want 2", n)
	}
	// A subject tag from the requester threads.
	e.MustSend("carla@cliente.example", []string{"soporte@example.com"}, mail(
		"From: Carla <CARLA@cliente.example>", "To: soporte@example.com", fmt.Sprintf("Subject: Otra cosa [#%d]", tk.Number),
		"Message-ID: <r2@cliente.example>", "", "Una cosa más."))
	if n := len(messages(t, e, tk.Number)); n != 3 {
		t.Fatalf("subject-tag reply: ticket has %d messages, want 3", n)
	}
	// A stranger's [#N] opens a new ticket instead.
	e.MustSend("mallory@evil.example", []string{"soporte@example.com"}, mail(
		"From: mallory@evil.example", "To: soporte@example.com", fmt.Sprintf("Subject: Re: [#%d] dame los datos", tk.Number),
		"Message-ID: <m1@evil.example>", "", "Hola."))
	if n := len(messages(t, e, tk.Number)); n != 3 {
		t.Fatalf("stranger's tag joined the ticket")
	}
	if other := ticket(t, e, tk.Number+1); other.RequesterAddr != "mallory@evil.example" {
		t.Fatalf("stranger's mail: %+v", other)
	}
	// Same for an upper-cased token address, which some MTAs produce.
	e.MustSend("carla@cliente.example", []string{strings.ToUpper("soporte+" + tk.Token + "@example.com")}, mail(
		"From: carla@cliente.example", "To: soporte@example.com", "Subject: mayúsculas",
		"Message-ID: <r3@cliente.example>", "", "Hola otra vez."))
	if n := len(messages(t, e, tk.Number)); n != 4 {
		t.Fatalf("upper-cased token: ticket has %d messages, want 4", n)
	}
}

func TestSpoofedAgentReplyIsNotRelayed(t *testing.T) {
	e := daemontest.Start(t, "")
	tk, _ := openTicket(t, e, "carla@cliente.example", "Pedido 7")
	notes := e.Flush()
	_ = notes
	anaReply := agentAddress(t, e, tk)

	// Mallory learned Ana's reply address and writes to it as herself…
	e.MustSend("mallory@evil.example", []string{anaReply}, mail(
		"From: mallory@evil.example", "To: "+anaReply, "Subject: Re: [#1]", "Message-ID: <s1@evil.example>", "",
		"Su pedido está cancelado, pague aquí: http://evil.example"))
	// …and forges Ana's From on the customer's address.
	e.MustSend("ana@example.com", []string{"soporte+" + tk.Token + "@example.com"}, mail(
		"From: Ana Pérez <ana@example.com>", "To: soporte+"+tk.Token+"@example.com", "Subject: Re: [#1]",
		"Message-ID: <s2@evil.example>", "", "Pague aquí: http://evil.example"))

	sent := e.Flush()
	if got := daemontest.To(sent, "carla@cliente.example"); len(got) != 0 {
		t.Fatalf("spoofed mail relayed to the customer")
	}
	if len(sent) == 0 {
		t.Fatalf("agents were not told about the spoofed mails")
	}
	for _, m := range sent {
		if !contains(m.Rcpts, "ana@example.com") && !contains(m.Rcpts, "luis@example.com") {
			t.Errorf("unexpected recipient %v", m.Rcpts)
		}
	}
	tk2 := ticket(t, e, tk.Number)
	if tk2.Status != "nuevo" || tk2.Assignee != "" {
		t.Fatalf("spoof changed the ticket: %+v", tk2)
	}
	msgs := messages(t, e, tk.Number)
	if len(msgs) != 3 || !msgs[1].Unverified || !msgs[2].Unverified || !msgs[1].Internal {
		t.Fatalf("spoofed mails not stored as unverified: %+v", msgs)
	}
}

func TestCcThirdPartyReplyAllJoinsTicket(t *testing.T) {
	e := daemontest.Start(t, "")
	e.MustSend("carla@cliente.example", []string{"soporte@example.com"}, mail(
		"From: carla@cliente.example", "To: soporte@example.com", "Cc: jefe@cliente.example",
		"Subject: Caída del servicio", "Message-ID: <orig@cliente.example>", "", "El servicio no responde."))
	e.Flush()
	// The boss replies to all on Carla's original mail, before any answer.
	e.MustSend("jefe@cliente.example", []string{"soporte@example.com"}, mail(
		"From: jefe@cliente.example", "To: carla@cliente.example, soporte@example.com",
		"Subject: Re: Caída del servicio", "Message-ID: <boss1@cliente.example>",
		"In-Reply-To: <orig@cliente.example>", "References: <orig@cliente.example>", "",
		"Es urgente, afecta a toda la oficina."))
	if ts := tickets(t, e); len(ts) != 1 {
		t.Fatalf("reply-all opened a duplicate ticket: %d tickets", len(ts))
	}
	// After an agent answer (which copies him), he replies through our Message-ID.
	tk := ticket(t, e, 1)
	anaReply := agentAddress(t, e, tk)
	e.MustSend("ana@example.com", []string{anaReply}, mail("From: ana@example.com", "To: "+anaReply, "Subject: Re", "", "Lo estamos mirando."))
	relay := one(t, daemontest.To(e.Flush(), "jefe@cliente.example"))
	r := parse(t, relay)
	e.MustSend("jefe@cliente.example", []string{"soporte+" + tk.Token + "@example.com", "carla@cliente.example"}[:1], mail(
		"From: jefe@cliente.example", "To: soporte@example.com", "Subject: Re: algo",
		"Message-ID: <boss2@cliente.example>", "In-Reply-To: "+r.GetHeader("Message-Id"), "", "Gracias."))
	e.MustSend("jefe@cliente.example", []string{"soporte@example.com"}, mail(
		"From: jefe@cliente.example", "To: soporte@example.com", "Subject: Re: algo",
		"Message-ID: <boss3@cliente.example>", "References: <orig@cliente.example> "+r.GetHeader("Message-Id"), "", "¿Novedades?"))
	if ts := tickets(t, e); len(ts) != 1 {
		t.Fatalf("third party opened a duplicate ticket: %d tickets", len(ts))
	}
	if n := len(messages(t, e, 1)); n != 5 {
		t.Fatalf("ticket has %d messages, want 5", n)
	}
}

func TestAutomaticMailGetsNoAnswerAndChangesNothing(t *testing.T) {
	e := daemontest.Start(t, "")
	tk, _ := openTicket(t, e, "carla@cliente.example", "Consulta")
	anaReply := agentAddress(t, e, tk)
	e.MustSend("ana@example.com", []string{anaReply}, mail("From: ana@example.com", "To: "+anaReply, "Subject: Re", "", "¿Puede enviarnos una captura?"))
	e.Flush()
	custAddr := "soporte+" + tk.Token + "@example.com"

	// Her out-of-office answers our relay…
	e.MustSend("carla@cliente.example", []string{custAddr}, mail(
		"From: carla@cliente.example", "To: "+custAddr, "Subject: Respuesta automática: [#1] Consulta",
		"Auto-Submitted: auto-replied", "Message-ID: <ooo@cliente.example>", "",
		"Estoy fuera de la oficina hasta el lunes."))
	// …and a bounce comes back to our envelope sender.
	e.MustSend("", []string{custAddr}, mail(
		"From: Mail Delivery System <MAILER-DAEMON@mx.cliente.example>", "To: "+custAddr,
		"Subject: Undelivered Mail Returned to Sender", "Content-Type: multipart/report; report-type=delivery-status; boundary=b",
		"Message-ID: <bounce@mx.cliente.example>", "",
		"--b", "Content-Type: text/plain", "", "The mail system: user unknown", "--b--"))
	tk2 := ticket(t, e, tk.Number)
	if tk2.Status != "pendiente" || !tk2.PendingSince.Equal(tk.CreatedAt) && tk2.PendingSince.IsZero() {
		t.Fatalf("automatic mail changed the ticket: %+v", tk2)
	}
	sent := e.Flush()
	if got := daemontest.To(sent, "carla@cliente.example"); len(got) != 0 {
		t.Fatalf("automatic mail got an answer")
	}
	msgs := messages(t, e, tk.Number)
	if len(msgs) != 4 || !msgs[2].Automatic || !msgs[3].Automatic {
		t.Fatalf("automatic mails not stored as such: %d messages", len(msgs))
	}
	// A new automatic mail opens a ticket (someone may need to see it) but
	// is never acknowledged.
	e.MustSend("news@list.example", []string{"soporte@example.com"}, mail(
		"From: news@list.example", "To: soporte@example.com", "Subject: Boletín", "Precedence: bulk",
		"List-Id: <news.list.example>", "", "Novedades del mes."))
	for _, m := range e.Flush() {
		if contains(m.Rcpts, "news@list.example") {
			t.Fatalf("a list mail was acknowledged")
		}
	}
}

func TestAcknowledgementsAreRateLimitedPerSender(t *testing.T) {
	e := daemontest.Start(t, "")
	for i := 0; i < 8; i++ {
		e.MustSend("loop@robot.example", []string{"soporte@example.com"}, mail(
			"From: loop@robot.example", "To: soporte@example.com", fmt.Sprintf("Subject: pedido %d", i), "", "hola"))
		e.MustSend("other@cliente.example", []string{"soporte@example.com"}, mail(
			"From: other@cliente.example", "To: soporte@example.com", fmt.Sprintf("Subject: otra %d", i), "", "hola"))
		if i == 3 {
			e.Clock.Advance(10 * time.Minute)
		}
	}
	sent := e.Flush()
	limit := e.Config.Server.AutoreplyLimitPerHour
	if got := len(daemontest.To(sent, "loop@robot.example")); got != limit {
		t.Fatalf("robot got %d acknowledgements, want the limit %d", got, limit)
	}
	if got := len(daemontest.To(sent, "other@cliente.example")); got != limit {
		t.Fatalf("the limit must be per sender: other got %d", got)
	}
	e.Clock.Advance(2 * time.Hour)
	e.MustSend("loop@robot.example", []string{"soporte@example.com"}, mail("From: loop@robot.example", "To: soporte@example.com", "Subject: x", "", "x"))
	if got := len(daemontest.To(e.Flush(), "loop@robot.example")); got != 1 {
		t.Fatalf("after an hour the sender is answered again: got %d", got)
	}
}

func TestLargeAttachmentSurvivesBothHops(t *testing.T) {
	e := daemontest.Start(t, "")
	blob := make([]byte, 2<<20)
	rand.Read(blob)
	b64 := base64.StdEncoding.EncodeToString(blob)
	var body strings.Builder
	for len(b64) > 76 {
		body.WriteString(b64[:76] + "\r\n")
		b64 = b64[76:]
	}
	body.WriteString(b64 + "\r\n")
	e.MustSend("carla@cliente.example", []string{"soporte@example.com"}, mail(
		"From: carla@cliente.example", "To: soporte@example.com", "Subject: Captura", "MIME-Version: 1.0",
		"Content-Type: multipart/mixed; boundary=XYZ", "", "--XYZ", "Content-Type: text/plain; charset=utf-8", "",
		"Adjunto el volcado.", "--XYZ", "Content-Type: application/octet-stream", "Content-Transfer-Encoding: base64",
		`Content-Disposition: attachment; filename="volcado.bin"`, "", body.String()+"--XYZ--"))
	msgs := messages(t, e, 1)
	if len(msgs[0].Attachments) != 1 || msgs[0].Attachments[0].Filename != "volcado.bin" || msgs[0].Attachments[0].Size != int64(len(blob)) {
		t.Fatalf("stored attachments: %+v", msgs[0].Attachments)
	}
	sent := e.Flush()
	n := parse(t, one(t, daemontest.To(sent, "ana@example.com")))
	if len(n.Attachments) != 1 || n.Attachments[0].FileName != "volcado.bin" || !bytes.Equal(n.Attachments[0].Content, blob) {
		t.Fatalf("agent notification attachment differs (%d attachments)", len(n.Attachments))
	}

	// And the agent's own attachment reaches the customer intact.
	tk := ticket(t, e, 1)
	anaReply := agentAddress(t, e, tk)
	e.MustSend("ana@example.com", []string{anaReply}, mail(
		"From: ana@example.com", "To: "+anaReply, "Subject: Re", "MIME-Version: 1.0",
		"Content-Type: multipart/mixed; boundary=XYZ", "", "--XYZ", "Content-Type: text/plain; charset=utf-8", "",
		"Le devuelvo el archivo corregido.", "--XYZ", "Content-Type: application/octet-stream", "Content-Transfer-Encoding: base64",
		`Content-Disposition: attachment; filename="corregido.bin"`, "", body.String()+"--XYZ--"))
	r := parse(t, one(t, daemontest.To(e.Flush(), "carla@cliente.example")))
	if len(r.Attachments) != 1 || r.Attachments[0].FileName != "corregido.bin" || !bytes.Equal(r.Attachments[0].Content, blob) {
		t.Fatalf("relayed attachment differs (%d attachments)", len(r.Attachments))
	}
}

func TestRefusals(t *testing.T) {
	e := daemontest.Start(t, "")
	err := e.Send("x@y.example", []string{"ventas@example.com"}, mail("From: x@y.example", "Subject: x", "", "x"))
	assertSMTPCode(t, err, 550, "5.1.1")
	err = e.Send("x@y.example", []string{"someone@elsewhere.example"}, mail("From: x@y.example", "Subject: x", "", "x"))
	assertSMTPCode(t, err, 550, "5.1.1")
	big := strings.Repeat(strings.Repeat("a", 76)+"\r\n", int(e.Config.SMTP.MaxMessageBytes)/78+10)
	err = e.Send("x@y.example", []string{"soporte@example.com"}, mail("From: x@y.example", "Subject: big", "", big))
	assertSMTPCode(t, err, 552, "5.3.4")
	err = e.Send("x@y.example", []string{"soporte@example.com"}, "this is not a mail at all\r\n")
	assertSMTPCode(t, err, 554, "5.6.0")
	if ts := tickets(t, e); len(ts) != 0 {
		t.Fatalf("refused mail created %d tickets", len(ts))
	}
}

func TestMalformedMessageIsStoredRawAndVisible(t *testing.T) {
	e := daemontest.Start(t, "")
	raw := mail("From: carla@cliente.example", "To: soporte@example.com", "Subject: =?utf-8?B?roto", "MIME-Version: 1.0",
		`Content-Type: multipart/mixed; boundary="never-used"`, "", "Texto sin partes: el límite no aparece nunca.",
		"\xff\xfe bytes sueltos")
	e.MustSend("carla@cliente.example", []string{"soporte@example.com"}, raw)
	msgs := messages(t, e, 1)
	if !strings.Contains(msgs[0].Text, "el límite no aparece nunca") {
		t.Fatalf("malformed mail text not visible: %q", msgs[0].Text)
	}
	var stored []byte
	e.D.Store.View(context.Background(), func(tx ticketd.Tx) error {
		r, err := tx.Raw(msgs[0].RawID)
		if err == nil {
			stored = r.Data
		}
		return err
	})
	if !bytes.Equal(stored, []byte(raw)) {
		t.Fatalf("raw bytes not kept exactly")
	}
	if len(e.Flush()) != 3 {
		t.Fatalf("malformed mail must still be acknowledged and shown to agents")
	}
}

func TestRedeliveryIsNotDoubled(t *testing.T) {
	e := daemontest.Start(t, "")
	raw := mail("From: carla@cliente.example", "To: soporte@example.com", "Subject: Hola", "Message-ID: <same@cliente.example>", "", "hola")
	e.MustSend("carla@cliente.example", []string{"soporte@example.com"}, raw)
	e.MustSend("carla@cliente.example", []string{"soporte@example.com"}, raw)
	if ts := tickets(t, e); len(ts) != 1 {
		t.Fatalf("the same mail twice made %d tickets", len(ts))
	}
	if len(e.Flush()) != 3 {
		t.Fatalf("a redelivered mail must not be acknowledged again")
	}
}

func TestOutboundRetriesThenGivesUpVisibly(t *testing.T) {
	e := daemontest.Start(t, "")
	e.Sink.SetFail(&smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"})
	e.MustSend("carla@cliente.example", []string{"soporte@example.com"}, mail("From: carla@cliente.example", "To: soporte@example.com", "Subject: Hola", "", "hola"))
	if got := e.Flush(); len(got) != 0 {
		t.Fatalf("sink accepted while failing")
	}
	e.Sink.SetFail(nil)
	if got := e.Flush(); len(got) != 0 {
		t.Fatalf("retried before the backoff")
	}
	e.Clock.Advance(time.Minute)
	if got := e.Flush(); len(got) != 3 {
		t.Fatalf("after the backoff: %d mails, want 3", len(got))
	}

	// A mail that keeps failing past give_up_after is failed on the ticket.
	e.Sink.SetFail(&smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"})
	tk := ticket(t, e, 1)
	anaReply := agentAddress(t, e, tk)
	e.MustSend("ana@example.com", []string{anaReply}, mail("From: ana@example.com", "To: "+anaReply, "Subject: Re", "", "Respuesta."))
	for i := 0; i < 40; i++ {
		e.Flush()
		e.Clock.Advance(2 * time.Hour)
	}
	if evs := eventTypes(t, e, 1); !contains(evs, "delivery_failed") {
		t.Fatalf("no delivery_failed event: %v", evs)
	}
	e.Sink.SetFail(nil)
	e.Clock.Advance(2 * time.Hour)
	sent := e.Flush()
	if len(daemontest.To(sent, "ana@example.com")) != 1 {
		t.Fatalf("the assignee was not told the answer failed: %v", rcptsOf(sent))
	}
}

// --- helpers ---------------------------------------------------------------

func mail(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n" }

func openTicket(t *testing.T, e *daemontest.Env, from, subject string) (*ticketd.Ticket, *enmime.Envelope) {
	t.Helper()
	before := len(tickets(t, e))
	e.MustSend(from, []string{"soporte@example.com"}, mail("From: "+from, "To: soporte@example.com", "Subject: "+subject,
		fmt.Sprintf("Message-ID: <open-%d@cliente.example>", before), "", "Texto de "+subject))
	tk := ticket(t, e, int64(before+1))
	sent := e.Flush()
	return tk, parse(t, one(t, daemontest.To(sent, from)))
}

// agentAddress is Ana's reply address for a ticket, as her notification
// carries it (TestTicketLoop reads it from the mail itself).
func agentAddress(t *testing.T, e *daemontest.Env, tk *ticketd.Ticket) string {
	t.Helper()
	return threading.AgentAddress("soporte@example.com", tk.Token, threading.AgentTag(e.D.Desk.Key, tk.Token, "ana@example.com"))
}

func ticket(t *testing.T, e *daemontest.Env, n int64) *ticketd.Ticket {
	t.Helper()
	var tk *ticketd.Ticket
	err := e.D.Store.View(context.Background(), func(tx ticketd.Tx) error {
		var err error
		tk, err = tx.TicketByNumber(n)
		return err
	})
	if err != nil {
		t.Fatalf("ticket #%d: %v", n, err)
	}
	return tk
}

func tickets(t *testing.T, e *daemontest.Env) []*ticketd.Ticket {
	t.Helper()
	var out []*ticketd.Ticket
	if err := e.D.Store.View(context.Background(), func(tx ticketd.Tx) error {
		var err error
		out, err = tx.ListTickets(ticketd.TicketFilter{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func messages(t *testing.T, e *daemontest.Env, n int64) []*ticketd.Message {
	t.Helper()
	var out []*ticketd.Message
	if err := e.D.Store.View(context.Background(), func(tx ticketd.Tx) error {
		var err error
		out, err = tx.Messages(n)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func eventTypes(t *testing.T, e *daemontest.Env, n int64) []string {
	t.Helper()
	var out []string
	e.D.Store.View(context.Background(), func(tx ticketd.Tx) error {
		evs, err := tx.Events(n)
		for _, ev := range evs {
			out = append(out, string(ev.Type))
		}
		return err
	})
	return out
}

func parse(t *testing.T, m *daemontest.Mail) *enmime.Envelope {
	t.Helper()
	env, err := enmime.ReadEnvelope(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatalf("sent mail does not parse: %v", err)
	}
	return env
}

func one(t *testing.T, ms []*daemontest.Mail) *daemontest.Mail {
	t.Helper()
	if len(ms) != 1 {
		t.Fatalf("got %d mails, want 1: %v", len(ms), rcptsOf(ms))
	}
	return ms[0]
}

var angle = regexp.MustCompile(`<([^>]+)>`)

func replyTo(t *testing.T, env *enmime.Envelope) string {
	t.Helper()
	m := angle.FindStringSubmatch(env.GetHeader("Reply-To"))
	if m == nil {
		t.Fatalf("no Reply-To in %q", env.GetHeader("Reply-To"))
	}
	return m[1]
}

func rcptsOf(ms []*daemontest.Mail) [][]string {
	var out [][]string
	for _, m := range ms {
		out = append(out, m.Rcpts)
	}
	return out
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func assertSMTPCode(t *testing.T, err error, code int, enhanced string) {
	t.Helper()
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		t.Fatalf("want SMTP %d, got %v", code, err)
	}
	got := fmt.Sprintf("%d.%d.%d", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
	if se.Code != code || got != enhanced {
		t.Fatalf("want %d %s, got %d %s %q", code, enhanced, se.Code, got, se.Message)
	}
}

// A request that only lived below a misread quote line must not be lost:
// the cut is flagged and the agents get the whole text.
func TestUnsureCutGivesAgentsTheFullText(t *testing.T) {
	e := daemontest.Start(t, "")
	tk, _ := openTicket(t, e, "carla@cliente.example", "Pedido 44")
	custAddr := "soporte+" + tk.Token + "@example.com"
	e.MustSend("carla@cliente.example", []string{custAddr}, mail(
		"From: carla@cliente.example", "To: "+custAddr, "Subject: Re: [#1] Pedido 44", "", "Hola,", "", "-- ",
		"Quiero la devolución de la factura 44: me la cobraron dos veces, el 3 y el 5 de noviembre,",
		"por un total de 240 euros. Por favor, devuelvan el cargo duplicado a la misma tarjeta.",
		"Adjunto los dos justificantes del banco en el siguiente correo."))
	msgs := messages(t, e, tk.Number)
	last := msgs[len(msgs)-1]
	if !last.CutFlagged {
		t.Fatalf("cut not flagged: new text %q", last.NewText)
	}
	n := parse(t, one(t, daemontest.To(e.Flush(), "ana@example.com")))
	if !strings.Contains(n.Text, "devolución de la factura 44") {
		t.Fatalf("agents did not get the full text:\n%s", n.Text)
	}
}

func TestNoHeaderInjectionThroughCustomerText(t *testing.T) {
	e := daemontest.Start(t, "")
	e.MustSend("carla@cliente.example", []string{"soporte@example.com"}, mail(
		`From: "Carla =?utf-8?q?=0D=0ABcc:_victim@x.example?=" <carla@cliente.example>`, "To: soporte@example.com",
		"Subject: =?utf-8?q?Hola=0D=0ABcc:_victim@x.example=0D=0A=0D=0Acuerpo_falso?=", "", "texto"))
	for _, m := range e.Flush() {
		head := string(m.Data)
		if i := strings.Index(head, "\r\n\r\n"); i >= 0 {
			head = head[:i]
		}
		for _, line := range strings.Split(head, "\r\n") {
			if strings.HasPrefix(strings.ToLower(line), "bcc:") {
				t.Fatalf("injected header in mail to %v:\n%s", m.Rcpts, head)
			}
		}
		if contains(m.Rcpts, "victim@x.example") {
			t.Fatalf("injected recipient")
		}
	}
}

// No log line carries a reply token: a token opens a ticket's page and
// its reply addresses. The whole loop runs with debug logging on.
func TestLogsCarryNoTokens(t *testing.T) {
	var logs bytes.Buffer
	e := daemontest.StartLogged(t, "", &logs)
	tk, ack := openTicket(t, e, "carla@cliente.example", "Tokens fuera del log")
	custAddr := "soporte+" + tk.Token + "@example.com"
	anaReply := agentAddress(t, e, tk)
	e.MustSend("ana@example.com", []string{anaReply}, mail("From: ana@example.com", "To: "+anaReply, "Subject: Re", "", "Respuesta."))
	e.MustSend("mallory@evil.example", []string{anaReply}, mail("From: mallory@evil.example", "To: "+anaReply, "Subject: Re", "", "spoof"))
	e.MustSend("carla@cliente.example", []string{custAddr}, mail("From: carla@cliente.example", "To: "+custAddr,
		"Subject: Re", "Message-ID: "+ack.GetHeader("Message-Id"), "", "Gracias."))
	e.Send("x@y.example", []string{"ventas+" + tk.Token + "@example.com"}, mail("From: x@y.example", "Subject: x", "", "x"))
	e.Sink.SetFail(&smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user <" + custAddr + ">"})
	e.MustSend("ana@example.com", []string{anaReply}, mail("From: ana@example.com", "To: "+anaReply, "Subject: Re", "", "Otra."))
	e.Flush()
	if logs.Len() == 0 {
		t.Fatal("nothing was logged")
	}
	if strings.Contains(strings.ToLower(logs.String()), tk.Token) {
		t.Fatalf("a log line carries the token:\n%s", logs.String())
	}
}

// Several deliveries at once never send a row twice nor skip one.
func TestConcurrentOutboxSendsEachMailOnce(t *testing.T) {
	e := daemontest.Start(t, "")
	e.D.Worker.Concurrency = 8
	for i := 0; i < 40; i++ {
		e.MustSend("c@cliente.example", []string{"soporte@example.com"}, mail(fmt.Sprintf("From: c%d@cliente.example", i),
			"To: soporte@example.com", fmt.Sprintf("Subject: pedido %d", i), "", "hola"))
	}
	sent := e.Flush()
	if len(sent) != 40*3 {
		t.Fatalf("sent %d mails, want %d", len(sent), 40*3)
	}
	seen := map[string]bool{}
	for _, m := range sent {
		id := parse(t, m).GetHeader("Message-Id")
		if seen[id] {
			t.Fatalf("mail %s sent twice", id)
		}
		seen[id] = true
	}
	if n, _ := e.D.Worker.RunOnce(context.Background()); n != 0 {
		t.Fatalf("%d mails left after a pass", n)
	}
}
