package daemon_test

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ticketd/ticketd"

	"github.com/jhillyerd/enmime/v2"

	"github.com/ticketd/ticketd/daemon/daemontest"
)

// onePixelPNG is the image every testdata/fidelity mail carries inline.
var onePixelPNG, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==")

// fixture reads testdata/fidelity/name with its placeholders filled in and
// CRLF line ends, as a client would send it.
func fixture(t *testing.T, name string, fill map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "fidelity", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for k, v := range fill {
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	return strings.ReplaceAll(s, "\n", "\r\n")
}

var reImgCID = regexp.MustCompile(`<img[^>]*src="cid:([^"]+)"`)

// An agent answers from Gmail, Outlook, Apple Mail, Thunderbird or Yahoo,
// in HTML with a command line on top, bold, a list, a link, a pasted image
// and the client's quote of the notification below. The customer gets the
// agent's own formatting and image, and neither the quote nor the command.
func TestAgentHTMLAnswersKeepTheirFormatting(t *testing.T) {
	for _, c := range []struct {
		file   string
		answer string // a phrase of the answer, in the text part
		bold   string // what the agent made bold
		link   string
		image  bool
	}{
		{"agent-gmail-es.eml", "Ya le hemos restablecido", "contraseña", "https://ayuda.example.com/acceso", true},
		{"agent-outlook-en.eml", "We have", "reset", "https://help.example.com/login", true},
		{"agent-applemail-fr.eml", "Nous avons", "réinitialisé", "https://aide.example.com/connexion", true},
		{"agent-thunderbird-de.eml", "wir haben Ihr Passwort", "zurückgesetzt", "https://hilfe.example.com/anmeldung", true},
		{"agent-yahoo-pt.eml", "redefinimos a sua", "senha", "https://ajuda.example.com/acesso", false},
	} {
		t.Run(c.file, func(t *testing.T) {
			e := daemontest.Start(t, "")
			e.MustSend("carla@cliente.example", []string{"soporte@example.com"}, mail(
				"From: Carla Ruiz <carla@cliente.example>", "To: soporte@example.com",
				"Subject: No puedo entrar", "Message-ID: <first@cliente.example>", "",
				"Hola, desde ayer no puedo entrar en mi cuenta."))
			note := parse(t, one(t, daemontest.To(e.Flush(), "ana@example.com")))
			e.Clock.Advance(time.Hour)
			e.MustSend("ana@example.com", []string{replyTo(t, note)}, fixture(t, c.file, map[string]string{
				"FROM": "ana@example.com", "TO": replyTo(t, note), "REF": note.GetHeader("Message-Id"), "SUBJECT": note.GetHeader("Subject"),
			}))
			tk := ticket(t, e, 1)
			if tk.Priority != "alta" || tk.Status != "pendiente" {
				t.Errorf("the command on top did not act: priority %q status %q", tk.Priority, tk.Status)
			}
			relay := one(t, daemontest.To(e.Flush(), "carla@cliente.example"))
			r := parse(t, relay)
			for _, part := range []struct{ name, body string }{{"HTML", r.HTML}, {"text", r.Text}} {
				if !strings.Contains(part.body, c.answer) {
					t.Errorf("%s part lacks the answer %q:\n%s", part.name, c.answer, part.body)
				}
				for _, leak := range []string{"desde ayer no puedo entrar", "#prior", "soporte@example.com>", "ana@example.com", "oculto-preheader", "ana.directo@example.com", "+49 30 1234567"} {
					if strings.Contains(part.body, leak) {
						t.Errorf("%s part carries %q (quote, command or hidden text):\n%s", part.name, leak, part.body)
					}
				}
			}
			if !regexp.MustCompile(`<(b|strong)>` + regexp.QuoteMeta(c.bold) + `</(b|strong)>`).MatchString(r.HTML) {
				t.Errorf("HTML lost the bold %q:\n%s", c.bold, r.HTML)
			}
			if strings.Count(r.HTML, "<li>") != 2 || !strings.Contains(r.HTML, `href="`+c.link+`"`) {
				t.Errorf("HTML lost the list or the link:\n%s", r.HTML)
			}
			if strings.Contains(r.HTML, "<script") || strings.Contains(r.HTML, "alert(") {
				t.Errorf("HTML kept a script:\n%s", r.HTML)
			}
			if !strings.Contains(r.HTML, "/t/"+tk.Token) || !strings.Contains(r.Text, "/t/"+tk.Token) {
				t.Errorf("HTML lost ticketd's footer:\n%s", r.HTML)
			}
			checkInlineImage(t, r, c.image)
		})
	}
}

// checkInlineImage: the HTML shows exactly one image by Content-ID, and
// the mail carries it inline (multipart/related) with that Content-ID and
// the bytes the agent pasted; nothing is attached besides.
func checkInlineImage(t *testing.T, r *enmime.Envelope, want bool) {
	t.Helper()
	m := reImgCID.FindAllStringSubmatch(r.HTML, -1)
	if !want {
		if len(m) != 0 || len(r.Inlines)+len(r.OtherParts)+len(r.Attachments) != 0 {
			t.Errorf("unexpected images: %v, %d parts", m, len(r.Inlines)+len(r.OtherParts)+len(r.Attachments))
		}
		return
	}
	if len(m) != 1 {
		t.Fatalf("HTML shows %d cid images, want 1:\n%s", len(m), r.HTML)
	}
	var found *enmime.Part
	for _, p := range append(append([]*enmime.Part{}, r.Inlines...), r.OtherParts...) {
		if strings.Trim(p.ContentID, "<>") == m[0][1] {
			found = p
		}
	}
	if found == nil {
		t.Fatalf("no part with Content-ID %q", m[0][1])
	}
	if !bytes.Equal(found.Content, onePixelPNG) || found.ContentType != "image/png" {
		t.Errorf("inline image: %s, %d bytes", found.ContentType, len(found.Content))
	}
	if found.Parent == nil || found.Parent.ContentType != "multipart/related" {
		t.Errorf("the image is not beside the HTML in multipart/related")
	}
	if len(r.Attachments) != 0 {
		t.Errorf("%d attachments besides the inline image", len(r.Attachments))
	}
}

// messageOf is ticket n's stored message number i (0-based).
func messageOf(t *testing.T, e *daemontest.Env, n int64, i int) *ticketd.Message {
	t.Helper()
	ms := messages(t, e, n)
	if len(ms) <= i {
		t.Fatalf("ticket #%d has %d messages", n, len(ms))
	}
	return ms[i]
}

// customerReply opens a ticket for Carla and sends her reply to it, built
// from a testdata/fidelity file; it returns the ticket.
func customerReply(t *testing.T, e *daemontest.Env, file string) *ticketd.Ticket {
	t.Helper()
	tk, ack := openTicket(t, e, "carla@cliente.example", "Rechnung")
	e.Clock.Advance(time.Hour)
	e.MustSend("carla@cliente.example", []string{"soporte+" + tk.Token + "@example.com"}, fixture(t, file, map[string]string{
		"TO": "soporte+" + tk.Token + "@example.com", "REF": ack.GetHeader("Message-Id"), "SUBJECT": ack.GetHeader("Subject"),
	}))
	return tk
}

// An Outlook customer pastes a screenshot (multipart/related, Content-ID,
// no Content-Disposition). The agents see it where she put it, inline in
// the HTML of their notification, and the ticket lists it as her file.
func TestCustomerInlineImageReachesAgentsInline(t *testing.T) {
	e := daemontest.Start(t, "")
	e.MustSend("carla@cliente.example", []string{"soporte@example.com"}, fixture(t, "customer-outlook-inline-es.eml", nil))
	m := messageOf(t, e, 1, 0)
	if len(m.Attachments) != 1 || m.Attachments[0].ContentType != "image/png" {
		t.Fatalf("stored attachments: %+v", m.Attachments)
	}
	if !strings.Contains(m.NewText, "¿Qué hago?") {
		t.Errorf("stored text: %q", m.NewText)
	}
	n := parse(t, one(t, daemontest.To(e.Flush(), "ana@example.com")))
	if !strings.Contains(n.HTML, "<b>este error</b>") || !strings.Contains(n.HTML, "¿Qué hago?") {
		t.Errorf("the agent's notification lost the customer's formatting:\n%s", n.HTML)
	}
	checkInlineImage(t, n, true)
}

// Thunderbird writes format=flowed with DelSp: the stored, shown and
// relayed text has the customer's paragraphs, not its soft line breaks,
// and her bottom-posted answer below "Am ... schrieb ...:" is what counts.
func TestFlowedBottomPostedReplyKeepsOnlyTheAnswer(t *testing.T) {
	e := daemontest.Start(t, "")
	tk := customerReply(t, e, "customer-thunderbird-flowed-de.eml")
	m := messageOf(t, e, tk.Number, 1)
	want := "Die Rechnungsnummer ist 2026-0042, bezahlt habe ich am 28. Oktober mit der Kreditkarte, die auf meinen Namen ausgestellt ist und die ich seit Jahren benutze.\n\nCarla"
	if m.NewText != want || m.CutFlagged {
		t.Errorf("new text (flagged %v):\n%q\nwant\n%q", m.CutFlagged, m.NewText, want)
	}
	if !strings.Contains(m.Text, "> Bitte senden Sie uns die Rechnungsnummer und das Datum der Zahlung, dann prüfen wir den Vorgang.") {
		t.Errorf("the whole text keeps the quote unwrapped too:\n%s", m.Text)
	}
	n := parse(t, one(t, daemontest.To(e.Flush(), "ana@example.com")))
	if !strings.Contains(n.Text, "28. Oktober mit der Kreditkarte") || strings.Contains(n.Text, "Bitte senden Sie") {
		t.Errorf("agent notification:\n%s", n.Text)
	}
}

// "Os reenvío el aviso del banco...": the bank's notice is the request.
// It is stored as the new text, with who sent it, and the agents get it.
func TestForwardKeepsTheForwardedMail(t *testing.T) {
	e := daemontest.Start(t, "")
	e.MustSend("carla@cliente.example", []string{"soporte@example.com"}, fixture(t, "customer-gmail-forward-es.eml", nil))
	m := messageOf(t, e, 1, 0)
	for _, want := range []string{"Os reenvío el aviso del banco", "Forwarded message", "avisos@banco.example", "referencia 7788-1122"} {
		if !strings.Contains(m.NewText, want) {
			t.Errorf("stored new text lacks %q:\n%s", want, m.NewText)
		}
	}
	if m.CutFlagged {
		t.Errorf("a forward is not an unsure cut")
	}
	n := parse(t, one(t, daemontest.To(e.Flush(), "ana@example.com")))
	if !strings.Contains(n.Text, "referencia 7788-1122") || !strings.Contains(n.HTML, "referencia 7788-1122") {
		t.Errorf("agent notification lacks the bank's notice:\n%s\n%s", n.Text, n.HTML)
	}
}

// mutt writes text bodies with "Content-Disposition: inline": they are the
// body, not files "part-1" and "part-2".
func TestInlineTextBodiesAreNotAttachments(t *testing.T) {
	e := daemontest.Start(t, "")
	e.MustSend("carla@cliente.example", []string{"soporte@example.com"}, fixture(t, "customer-mutt-inline.eml", nil))
	m := messageOf(t, e, 1, 0)
	if len(m.Attachments) != 0 || m.NewText != "Hola, la factura de octubre no me ha llegado." {
		t.Fatalf("stored %d attachments %+v, text %q", len(m.Attachments), m.Attachments, m.NewText)
	}
	n := parse(t, one(t, daemontest.To(e.Flush(), "ana@example.com")))
	if len(n.Attachments)+len(n.Inlines) != 0 || strings.Contains(n.Text, "part-1") {
		t.Errorf("the agent is told of attachments:\n%s", n.Text)
	}
}

// Apple Mail puts the attached PDF between the attribution and the quote:
// the cut leaves no "Am ... schrieb ...:" without its quote, and the file
// is kept.
func TestNoDanglingAttributionBeforeAnAttachment(t *testing.T) {
	e := daemontest.Start(t, "")
	tk := customerReply(t, e, "customer-applemail-dangling-de.eml")
	m := messageOf(t, e, tk.Number, 1)
	if m.NewText != "Anbei die Rechnung." {
		t.Errorf("new text = %q", m.NewText)
	}
	if len(m.Attachments) != 1 || m.Attachments[0].Filename != "Rechnung-2026-0042.pdf" {
		t.Errorf("attachments: %+v", m.Attachments)
	}
}

// An Italian Gmail reply: only the new line is stored and sent to agents.
func TestItalianGmailReplyIsCut(t *testing.T) {
	e := daemontest.Start(t, "")
	tk := customerReply(t, e, "customer-gmail-reply-it.eml")
	if m := messageOf(t, e, tk.Number, 1); m.NewText != "Grazie, ora funziona di nuovo." || m.CutFlagged {
		t.Errorf("new text = %q (flagged %v)", m.NewText, m.CutFlagged)
	}
	n := parse(t, one(t, daemontest.To(e.Flush(), "ana@example.com")))
	if strings.Contains(n.HTML, "reimpostato") || !strings.Contains(n.HTML, "ora funziona") {
		t.Errorf("agent notification HTML:\n%s", n.HTML)
	}
}

// An agent's Gmail answer with a pasted image, an attached PDF, and the
// customer's own screenshot in the quote: the customer gets the new image
// inline and the PDF attached, in one multipart/mixed around the
// multipart/related body, and not her old screenshot back.
func TestAgentAnswerWithImageAndAttachment(t *testing.T) {
	e := daemontest.Start(t, "")
	e.MustSend("carla@cliente.example", []string{"soporte@example.com"}, mail(
		"From: Carla Ruiz <carla@cliente.example>", "To: soporte@example.com",
		"Subject: Error", "Message-ID: <first@cliente.example>", "", "Me sale este error."))
	note := parse(t, one(t, daemontest.To(e.Flush(), "ana@example.com")))
	e.MustSend("ana@example.com", []string{replyTo(t, note)}, fixture(t, "agent-gmail-attachment-es.eml", map[string]string{
		"FROM": "ana@example.com", "TO": replyTo(t, note), "REF": note.GetHeader("Message-Id"), "SUBJECT": note.GetHeader("Subject"),
	}))
	r := parse(t, one(t, daemontest.To(e.Flush(), "carla@cliente.example")))
	if r.Root.ContentType != "multipart/mixed" {
		t.Errorf("top part is %s, want multipart/mixed", r.Root.ContentType)
	}
	if !strings.Contains(r.HTML, "<u>corregida</u>") || strings.Contains(r.HTML, "error.png") || strings.Contains(r.HTML, "Me sale este error") {
		t.Errorf("HTML:\n%s", r.HTML)
	}
	checkInlineImageWith(t, r, "ii_new001")
	if len(r.Attachments) != 1 || r.Attachments[0].FileName != "factura-2026-0042.pdf" {
		var names []string
		for _, a := range r.Attachments {
			names = append(names, a.FileName)
		}
		t.Errorf("attachments %v, want the PDF only", names)
	}
	for _, p := range append(r.Inlines, r.OtherParts...) {
		if strings.Contains(p.ContentID, "ii_old001") || p.FileName == "error.png" {
			t.Errorf("the customer's own screenshot from the quote came back to her")
		}
	}
}

func checkInlineImageWith(t *testing.T, r *enmime.Envelope, cid string) {
	t.Helper()
	if m := reImgCID.FindAllStringSubmatch(r.HTML, -1); len(m) != 1 || m[0][1] != cid {
		t.Fatalf("HTML images %v, want cid:%s", m, cid)
	}
	for _, p := range append(append([]*enmime.Part{}, r.Inlines...), r.OtherParts...) {
		if strings.Trim(p.ContentID, "<>") == cid && bytes.Equal(p.Content, onePixelPNG) && p.Parent != nil && p.Parent.ContentType == "multipart/related" {
			return
		}
	}
	t.Errorf("no inline part %s beside the HTML", cid)
}

// Outlook forwards with no marker line, only the forwarded mail's header
// block; the subject ("RV:") says it is a forward, and the bank's notice
// is kept in what is stored and in what the agents get, text and HTML.
func TestOutlookForwardKeepsTheForwardedMail(t *testing.T) {
	e := daemontest.Start(t, "")
	e.MustSend("carla@cliente.example", []string{"soporte@example.com"}, fixture(t, "customer-outlook-forward-es.eml", nil))
	m := messageOf(t, e, 1, 0)
	if !strings.Contains(m.NewText, "avisos@banco.example") || !strings.Contains(m.NewText, "referencia 7788-1122") || m.CutFlagged {
		t.Errorf("stored new text (flagged %v):\n%s", m.CutFlagged, m.NewText)
	}
	n := parse(t, one(t, daemontest.To(e.Flush(), "ana@example.com")))
	if !strings.Contains(n.Text, "referencia 7788-1122") || !strings.Contains(n.HTML, "referencia 7788-1122") || !strings.Contains(n.HTML, "avisos@banco.example") {
		t.Errorf("agent notification lacks the bank's notice:\n%s\n%s", n.Text, n.HTML)
	}
}

// Apple Mail places an attached file inside the text: the body comes in
// pieces around it. All of the text is kept (nothing after the file is
// taken for a signature), in the stored text and the agents' HTML, and the
// file stays attached.
func TestAppleMailTextAroundAnAttachmentIsKept(t *testing.T) {
	for _, c := range []struct{ file, first, second, pdf string }{
		{"customer-applemail-split-fr.eml", "voici la facture", "puis-je payer par", "facture-2026-0042.pdf"},
		{"customer-applemail-split-text-de.eml", "hier die Rechnung", "kann ich per Ueberweisung zahlen", "Rechnung-2026-0042.pdf"},
	} {
		t.Run(c.file, func(t *testing.T) {
			e := daemontest.Start(t, "")
			e.MustSend("carla@cliente.example", []string{"soporte@example.com"}, fixture(t, c.file, nil))
			m := messageOf(t, e, 1, 0)
			if !strings.Contains(m.NewText, c.first) || !strings.Contains(m.NewText, c.second) || m.CutFlagged {
				t.Errorf("stored new text (flagged %v):\n%s", m.CutFlagged, m.NewText)
			}
			if len(m.Attachments) != 1 || m.Attachments[0].Filename != c.pdf {
				t.Errorf("attachments: %+v", m.Attachments)
			}
			n := parse(t, one(t, daemontest.To(e.Flush(), "ana@example.com")))
			for _, body := range []string{n.Text, n.HTML} {
				if !strings.Contains(body, c.first) || !strings.Contains(body, c.second) {
					t.Errorf("agent notification lacks part of the text:\n%s", body)
				}
			}
			if len(n.Attachments) != 1 || n.Attachments[0].FileName != c.pdf {
				t.Errorf("agent notification attachments: %d", len(n.Attachments))
			}
		})
	}
}
