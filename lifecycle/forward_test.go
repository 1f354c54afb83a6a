package lifecycle_test

import (
	"strings"
	"testing"

	"github.com/ticketd/ticketd"
)

// Forwards as the common mail clients write them, sent by Ana to the
// support address over SMTP: each opens one ticket for Carla, who is
// acknowledged; Ana's words are an internal note and the ticket is hers.
func TestForwardAsCustomer(t *testing.T) {
	attached := "Content-Type: multipart/mixed; boundary=\"b1\"\r\n" +
		"\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nCarla llamó también; es urgente.\r\n" +
		"\r\n--b1\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"No puedo entrar.eml\"\r\n\r\n" +
		"From: Carla Ruiz <carla@cliente.example>\r\nTo: ana@example.com\r\nSubject: No puedo entrar\r\nMessage-ID: <orig1@cliente.example>\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nHola, desde ayer no puedo entrar.\r\n" +
		"\r\n--b1--\r\n"
	inline := map[string]string{
		"gmail": "Carla llamó también; es urgente.\r\n\r\n---------- Forwarded message ---------\r\nFrom: Carla Ruiz <carla@cliente.example>\r\n" +
			"Date: Mon, 2 Nov 2026 at 09:00\r\nSubject: No puedo entrar\r\nTo: <ana@example.com>\r\n\r\n\r\nHola, desde ayer no puedo entrar.\r\n",
		"outlook": "Carla llamó también; es urgente.\r\n\r\n________________________________\r\nFrom: Carla Ruiz <carla@cliente.example>\r\n" +
			"Sent: Monday, November 2, 2026 9:00 AM\r\nTo: Ana Pérez <ana@example.com>\r\nSubject: No puedo entrar\r\n\r\nHola, desde ayer no puedo entrar.\r\n",
		"apple": "Carla llamó también; es urgente.\r\n\r\nBegin forwarded message:\r\n\r\nFrom: Carla Ruiz <carla@cliente.example>\r\n" +
			"Subject: No puedo entrar\r\nDate: 2 November 2026 at 09:00:00 CET\r\nTo: ana@example.com\r\n\r\nHola, desde ayer no puedo entrar.\r\n",
		"thunderbird": "Carla llamó también; es urgente.\r\n\r\n-------- Forwarded Message --------\r\nSubject: \tNo puedo entrar\r\n" +
			"Date: \tMon, 2 Nov 2026 09:00:00 +0100\r\nFrom: \tCarla Ruiz <carla@cliente.example>\r\nTo: \tana@example.com\r\n\r\nHola, desde ayer no puedo entrar.\r\n",
	}
	cases := map[string]string{"rfc822": attached}
	for k, v := range inline {
		cases[k] = "Content-Type: text/plain; charset=utf-8\r\n\r\n" + v
	}
	for name, tail := range cases {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, "")
			w.MustSend(ana, []string{"soporte@example.com"}, "From: Ana Pérez <ana@example.com>\r\nTo: soporte@example.com\r\n"+
				"Subject: Fwd: No puedo entrar\r\nMessage-ID: "+w.msgid()+"\r\nMIME-Version: 1.0\r\n"+tail)
			if n := w.ticketCount(); n != 1 {
				t.Fatalf("%d tickets", n)
			}
			tk := w.ticket(1)
			if tk.RequesterAddr != carla || tk.RequesterName != "Carla Ruiz" || tk.Subject != "No puedo entrar" || tk.Assignee != ana {
				t.Fatalf("ticket %+v", tk)
			}
			ms := w.messages(1)
			if len(ms) != 2 || ms[0].Author != ticketd.AuthorCustomer || ms[0].FromAddr != carla || !strings.Contains(ms[0].NewText, "desde ayer no puedo entrar") ||
				!ms[1].Internal || ms[1].FromAddr != ana || !strings.Contains(ms[1].NewText, "es urgente") {
				t.Fatalf("messages %+v", ms)
			}
			if name == "rfc822" && (len(ms[0].Attachments) != 1 || ms[0].Attachments[0].ContentType != "message/rfc822") {
				t.Errorf("the forwarded mail is not kept with the customer's message: %+v", ms[0].Attachments)
			}
			mails := w.flush()
			ack := to(mails, carla)
			if len(mails) != 1 || len(ack) != 1 || !strings.Contains(ack[0].subject, "[#1]") {
				t.Fatalf("mails:%s", summary(mails))
			}
			if !hasEvent(w.events(1), "assigned", ana) || !hasEvent(w.events(1), "note", ana) {
				t.Fatalf("events %v", eventTypes(w.events(1)))
			}
		})
	}
}

// Any other mail from an agent to the support address opens nothing and
// gets a short answer saying how to open a ticket for a customer.
func TestAgentMailToSupportAddressIsAnswered(t *testing.T) {
	w := newWorld(t, "")
	w.MustSend(ana, []string{"soporte@example.com"}, rawMail([]string{
		"From: Ana Pérez <ana@example.com>", "To: soporte@example.com", "Subject: pregunta", "Message-ID: " + w.msgid(),
	}, "¿El portal va lento para vosotros?"))
	if n := w.ticketCount(); n != 0 {
		t.Fatalf("an agent's mail opened %d tickets", n)
	}
	mails := w.flush()
	if len(mails) != 1 || len(to(mails, ana)) != 1 || !strings.Contains(mails[0].text, "reenvíe su correo a soporte@example.com") ||
		mails[0].env.GetHeader("Auto-Submitted") != "auto-generated" {
		t.Fatalf("answer:%s\n%v", summary(mails), mails)
	}
}

// A rule that bounces an agent's mail back to the support address makes no
// loop: she gets at most autoreply_limit_per_hour answers in an hour.
func TestAgentHelpIsLimited(t *testing.T) {
	w := newWorld(t, "")
	for range 7 {
		w.MustSend(ana, []string{"soporte@example.com"}, rawMail([]string{
			"From: ana@example.com", "To: soporte@example.com", "Subject: Re: Su correo", "Message-ID: " + w.msgid(),
		}, "reenviado por una regla"))
	}
	if mails := w.flush(); len(mails) != 5 || len(to(mails, ana)) != 5 {
		t.Fatalf("%d answers to 7 mails, want the limit of 5:%s", len(mails), summary(mails))
	}
}
