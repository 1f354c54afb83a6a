package daemon_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/ticketd/ticketd/daemon/daemontest"
	"github.com/ticketd/ticketd/mailer"
	"github.com/ticketd/ticketd/message"
)

// files is the attachments of a notification that came from the customer.
func files(p *message.Parsed) []message.Part {
	var out []message.Part
	for _, a := range p.Attachments {
		if strings.HasPrefix(a.Filename, "f") && strings.HasSuffix(a.Filename, ".txt") {
			out = append(out, a)
		}
	}
	return out
}

// withAttachments is a customer mail with n small attachments.
func withAttachments(n int) string {
	var b strings.Builder
	b.WriteString("From: Carla <carla@cliente.example>\r\nTo: soporte@example.com\r\nSubject: Muchos ficheros\r\n" +
		"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAdjunto todo.\r\n")
	for i := range n {
		fmt.Fprintf(&b, "--XX\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"f%03d.txt\"\r\n\r\nfichero %d\r\n", i, i)
	}
	b.WriteString("--XX--\r\n")
	return b.String()
}

// Above the bounds, an agent notification carries the first attachments
// and links to the others on the status page, and only counts the rest:
// 400 parts no longer mean 400 attachments to every agent.
func TestNotificationsCarryTheFirstAttachmentsAndLinks(t *testing.T) {
	e := daemontest.Start(t, "")
	e.MustSend("carla@cliente.example", []string{"soporte@example.com"}, withAttachments(400))
	sent := e.Flush()
	notes := daemontest.To(sent, "ana@example.com")
	if len(notes) != 1 {
		t.Fatalf("%d notifications to ana", len(notes))
	}
	p, err := message.Parse(notes[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	if got := files(p); len(got) != mailer.NotifyAttachMax || got[0].Filename != "f000.txt" || got[9].Filename != "f009.txt" {
		t.Fatalf("notification carries %d attachments, want the first %d", len(got), mailer.NotifyAttachMax)
	}
	links := regexp.MustCompile(`https://help\.example\.com/t/[a-z2-7]+/files/\d+`).FindAllString(p.Text, -1)
	if want := mailer.NotifyListMax - mailer.NotifyAttachMax; len(links) != want {
		t.Fatalf("%d download links in the text, want %d:\n%s", len(links), want, p.Text)
	}
	if !strings.Contains(p.Text, "f049.txt") || strings.Contains(p.Text, "f050.txt") || !strings.Contains(p.Text, "(+350)") {
		t.Fatalf("list is not the first %d files and a count of the rest:\n%s", mailer.NotifyListMax, p.Text)
	}
	if len(notes[0].Data) > 64<<10 {
		t.Fatalf("notification is %d bytes", len(notes[0].Data))
	}
	t.Logf("notification for a mail with 400 attachments: %d bytes", len(notes[0].Data))
	// The customer's acknowledgement is untouched, and the ticket keeps
	// every file.
	if acks := daemontest.To(sent, "carla@cliente.example"); len(acks) != 1 {
		t.Fatalf("%d acknowledgements", len(acks))
	}
}

// Within the bounds a notification carries every attachment, no links.
func TestFewAttachmentsAreAllAttached(t *testing.T) {
	e := daemontest.Start(t, "")
	e.MustSend("carla@cliente.example", []string{"soporte@example.com"}, withAttachments(3))
	notes := daemontest.To(e.Flush(), "luis@example.com")
	p, _ := message.Parse(notes[0].Data)
	if len(files(p)) != 3 || strings.Contains(p.Text, "/files/") {
		t.Fatalf("%d attachments, text:\n%s", len(files(p)), p.Text)
	}
}

// Every mail ticketd sends carries X-Loop with its mailbox. An agent's
// answer relayed to the customer carries no Auto-Submitted (a person wrote
// it), so when the customer's address redirects it back to the support
// address, From rewritten to the customer as forwarders do, only X-Loop
// tells it is ours: it is stored as automatic and reopens nothing.
func TestOwnMailComingBackIsAutomatic(t *testing.T) {
	e := daemontest.Start(t, "")
	tk, _ := openTicket(t, e, "carla@cliente.example", "No puedo entrar")
	sent := e.Flush()
	e.MustSend("ana@example.com", []string{agentAddress(t, e, tk)}, mail("From: Ana <ana@example.com>", "To: "+agentAddress(t, e, tk),
		"Subject: Re: [#1] No puedo entrar", "Message-ID: <ana1@example.com>", "", "Ya está restablecida."))
	sent = append(sent, e.Flush()...)
	relays := daemontest.To(sent, "carla@cliente.example")
	if len(relays) != 1 {
		t.Fatalf("%d mails to carla, want the relay", len(relays))
	}
	for _, m := range append(sent, relays...) {
		p, _ := message.Parse(m.Data)
		if got := p.Header["X-Loop"]; len(got) != 1 || got[0] != "soporte@example.com" {
			t.Errorf("mail to %v has X-Loop %q", m.Rcpts, got)
		}
	}
	if ticket(t, e, 1).Status != "pendiente" {
		t.Fatalf("status after the answer: %s", ticket(t, e, 1).Status)
	}
	redirected := regexp.MustCompile(`(?m)^From: .*\r\n`).ReplaceAllString(string(relays[0].Data), "From: Carla <carla@cliente.example>\r\n")
	e.MustSend("carla@cliente.example", []string{"soporte@example.com"}, "Received: from mx.cliente.example\r\n"+redirected)
	msgs := messages(t, e, 1)
	if back := msgs[len(msgs)-1]; len(msgs) != 3 || !back.Automatic {
		t.Fatalf("our relay came back: %d messages, last automatic=%v", len(msgs), back.Automatic)
	}
	if st := ticket(t, e, 1).Status; st != "pendiente" {
		t.Fatalf("the returning copy moved the ticket to %s", st)
	}
	if again := daemontest.To(e.Flush(), "carla@cliente.example"); len(again) != 0 {
		t.Fatalf("the returning copy was answered: %d mails to carla", len(again))
	}
}

// With [security] trusted_authserv_id, an agent action also needs dkim=pass
// or spf=pass aligned with the agent's domain under that authserv-id; a
// reply that fails is kept unverified, relayed nowhere, runs no command,
// and the agent is told why.
func TestAgentActionsNeedTrustedAuthenticationResults(t *testing.T) {
	dir := t.TempDir()
	e := daemontest.Start(t, daemontest.BaseConfig(dir)+"\n[security]\ntrusted_authserv_id = \"mx.example.com\"\n")
	tk, _ := openTicket(t, e, "carla@cliente.example", "No puedo entrar")
	e.Flush()
	reply := func(ar, body string) []*daemontest.Mail {
		t.Helper()
		lines := []string{}
		if ar != "" {
			lines = append(lines, "Authentication-Results: "+ar)
		}
		lines = append(lines, "From: Ana <ana@example.com>", "To: "+agentAddress(t, e, tk), "Subject: Re: [#1] No puedo entrar", "", body)
		e.MustSend("ana@example.com", []string{agentAddress(t, e, tk)}, mail(lines...))
		return e.Flush()
	}
	for _, tc := range []struct{ name, ar string }{
		{"no Authentication-Results", ""},
		{"a pass under another authserv-id", "evil.example; dkim=pass header.d=example.com; spf=pass smtp.mailfrom=example.com"},
		{"a failure under the trusted id", "mx.example.com; dkim=fail header.d=example.com; spf=softfail smtp.mailfrom=example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sent := reply(tc.ar, "#cerrar\nHecho.")
			if got := daemontest.To(sent, "carla@cliente.example"); len(got) != 0 {
				t.Fatalf("unauthenticated reply relayed to the customer")
			}
			told := daemontest.To(sent, "ana@example.com")
			if len(told) != 1 || !strings.Contains(string(told[0].Data), "not authenticated") {
				t.Fatalf("ana was not told why (%d mails)", len(told))
			}
			if st := ticket(t, e, 1).Status; st != "nuevo" {
				t.Fatalf("#cerrar ran from an unauthenticated reply: %s", st)
			}
			msgs := messages(t, e, 1)
			if last := msgs[len(msgs)-1]; !last.Unverified || !last.Internal {
				t.Fatalf("stored as unverified=%v internal=%v", last.Unverified, last.Internal)
			}
		})
	}
	sent := reply("mx.example.com; dkim=pass header.d=example.com header.s=s1; spf=none", "Hecho, ya puede entrar.")
	if got := daemontest.To(sent, "carla@cliente.example"); len(got) != 1 {
		t.Fatalf("an authenticated reply was not relayed (%d mails to carla)", len(got))
	}
	if st := ticket(t, e, 1).Status; st != "pendiente" {
		t.Fatalf("after an authenticated answer: %s", st)
	}
}
