package message_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ticketd/ticketd/message"
	"github.com/ticketd/ticketd/threading"
)

// ownAutomatic names each mail of testdata/automatic (bounces, delay
// notices, auto-replies, list mail, read receipts, a loop) with the rule
// that must catch it from its header alone, when a forwarder has rewritten
// the envelope sender and so the Return-Path.
var ownAutomatic = map[string]string{
	// Bounces and delay notices.
	"postfix-dsn.eml":         "Auto-Submitted: auto-replied",
	"postfix-delayed.eml":     "Auto-Submitted: auto-replied",
	"exim-dsn.eml":            "Auto-Submitted: auto-replied",
	"gmail-dsn.eml":           "Auto-Submitted: auto-replied",
	"exchange-online-ndr.eml": "Content-Type: multipart/report",
	"exchange-ndr-es.eml":     "Content-Type: multipart/report",
	"qmail-bounce.eml":        "From: MAILER-DAEMON@mail.proveedor.example",
	// Auto-replies.
	"outlook-out-of-office.eml":            "Auto-Submitted: auto-generated",
	"outlook-respuesta-automatica.eml":     "Auto-Submitted: auto-generated",
	"gmail-vacation.eml":                   "Auto-Submitted: auto-replied", // its subject is the customer's "Re: ..."
	"sieve-vacation-fr.eml":                "Auto-Submitted: auto-replied (vacation)",
	"webmail-resposta-automatica.eml":      "X-Autoreply present",
	"exchange2003-abwesenheitsnotiz.eml":   "Subject: abwesenheitsnotiz",
	"risposta-automatica-it.eml":           "Subject: risposta automatica",
	"respuesta-automatica-solo-asunto.eml": "Subject: respuesta automática", // RFC 2047 in ISO-8859-1
	// A responder answering an auto-reply: "RE: Respuesta automática: ...".
	// A person may write that subject too, but taking it for a robot costs
	// only an answer, while the other way round two robots loop.
	"auto-reply-to-an-auto-reply-es.eml": "Subject: respuesta automática",
	// List mail.
	"mailman-list.eml":  "Precedence: list",
	"google-groups.eml": "Precedence: list",
	"newsletter.eml":    "List-Unsubscribe present",
	// Read receipts.
	"outlook-read-receipt-es.eml": "Content-Type: multipart/report",
	"thunderbird-mdn.eml":         "Content-Type: multipart/report",
	// Our own answer coming back: a loop.
	"loop-from-our-mailbox.eml": "From our own address soporte@example.com",
}

// TestOwnMailsAutomaticVerdict runs mails written in the shapes real
// software sends through the real parser and threading.IsAutomatic, as
// intake does. Machine mail must be recognised as delivered (with its
// Return-Path as the envelope sender) and from its header alone; the
// people's mails of testdata/human (a forwarded bounce, subjects that
// mention out of office or auto-replies, Outlook's X-Auto-Response-Suppress)
// and of testdata/mime must not be, or they would never get an answer.
func TestOwnMailsAutomaticVerdict(t *testing.T) {
	ours := []string{"soporte@example.com"}
	seen := map[string]bool{}
	files, _ := filepath.Glob(filepath.Join("testdata", "automatic", "*.eml"))
	for _, f := range files {
		name := filepath.Base(f)
		seen[name] = true
		want, ok := ownAutomatic[name]
		if !ok {
			t.Errorf("%s: no expected rule in ownAutomatic", name)
			continue
		}
		raw := readOwn(t, f)
		// Saved by Unix tools or old Macs, the same mail has LF or bare
		// CR line endings; it is still machine mail.
		for _, nl := range []string{"\r\n", "\n", "\r"} {
			p, err := message.Parse([]byte(strings.ReplaceAll(raw, "\r\n", nl)))
			if err != nil {
				t.Fatalf("%s (%q): %v", name, nl, err)
			}
			if auto, _ := threading.IsAutomatic(returnPath(p), p.Header, ours); !auto {
				t.Errorf("%s (%q): not automatic as delivered (envelope %q)", name, nl, returnPath(p))
			}
			auto, reason := threading.IsAutomatic("relay@forwarder.example", withoutReturnPath(p.Header), ours)
			if !auto || !strings.HasPrefix(reason, want) {
				t.Errorf("%s (%q): from its header alone automatic = %v (%q), want true (%q)", name, nl, auto, reason, want)
			}
		}
	}
	for name := range ownAutomatic {
		if !seen[name] {
			t.Errorf("ownAutomatic names %s, which is not in testdata/automatic", name)
		}
	}
	if len(files) < 20 {
		t.Errorf("only %d automatic mails in testdata/automatic", len(files))
	}

	human, _ := filepath.Glob(filepath.Join("testdata", "human", "*.eml"))
	mimeMails, _ := filepath.Glob(filepath.Join("testdata", "mime", "*.eml"))
	if len(human) < 8 || len(mimeMails) == 0 {
		t.Fatalf("only %d human and %d MIME mails in testdata", len(human), len(mimeMails))
	}
	for _, f := range append(human, mimeMails...) {
		p, err := message.Parse([]byte(readOwn(t, f)))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if auto, reason := threading.IsAutomatic(returnPath(p), p.Header, ours); auto {
			t.Errorf("%s: a person's mail taken for automatic (%s)", f, reason)
		}
	}
}

// readOwn reads a mail of testdata, which must be CRLF throughout as mail
// is on the wire.
func readOwn(t *testing.T, file string) string {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	if !strings.Contains(s, "\r\n") || strings.Count(s, "\n") != strings.Count(s, "\r\n") {
		t.Errorf("%s: not CRLF throughout, as mail is on the wire", file)
	}
	return s
}

// returnPath is the envelope sender the delivering server recorded, or an
// ordinary address when there is none.
func returnPath(p *message.Parsed) string {
	if v := p.Header["Return-Path"]; len(v) > 0 {
		return v[0]
	}
	return "x@example.org"
}

func withoutReturnPath(h map[string][]string) map[string][]string {
	out := make(map[string][]string, len(h))
	for k, v := range h {
		if k != "Return-Path" {
			out[k] = v
		}
	}
	return out
}
