package daemon_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/emersion/go-message"

	"github.com/ticketd/ticketd/daemon/daemontest"
)

// textParts lists each text part of a sent mail as its
// Content-Transfer-Encoding and its decoded body.
func textParts(t *testing.T, m *daemontest.Mail) (encodings, bodies []string) {
	t.Helper()
	e, err := message.Read(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatalf("sent mail does not parse: %v", err)
	}
	err = e.Walk(func(_ []int, p *message.Entity, err error) error {
		if err != nil {
			return err
		}
		if ct, _, _ := p.Header.ContentType(); strings.HasPrefix(ct, "text/") {
			b, err := io.ReadAll(p.Body)
			if err != nil {
				return err
			}
			encodings = append(encodings, p.Header.Get("Content-Transfer-Encoding"))
			bodies = append(bodies, string(b))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk sent mail: %v", err)
	}
	return encodings, bodies
}

// Once the outbox has met a smarthost that offers 8BITMIME, text that is
// not ASCII goes as it is (8bit) instead of quoted-printable, and reads
// the same: what the customer wrote, accents and all.
func TestMailGoesEightBitToASmarthostThatTakesIt(t *testing.T) {
	e := daemontest.Start(t, "")
	line := "Desde ayer no puedo entrar: ¿qué hago? Ñandú, acción, pingüino."
	send := func(n string) []*daemontest.Mail {
		e.MustSend("carla@cliente.example", []string{"soporte@example.com"}, mail("From: Carla <carla@cliente.example>", "To: soporte@example.com",
			"Subject: Consulta "+n, "Message-ID: <enc-"+n+"@cliente.example>", "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "", line))
		return e.Flush()
	}
	send("1") // the outbox meets the smarthost
	sent := send("2")
	if len(sent) != 3 {
		t.Fatalf("got %d mails, want the acknowledgement and two notifications", len(sent))
	}
	for _, m := range sent {
		if lf, crlf := bytes.Count(m.Data, []byte("\n")), bytes.Count(m.Data, []byte("\r\n")); lf != crlf {
			t.Errorf("mail to %v has %d line ends, %d of them CRLF: SMTP carries CRLF only", m.Rcpts, lf, crlf)
		}
		encs, bodies := textParts(t, m)
		if len(encs) != 2 {
			t.Fatalf("mail to %v has %d text parts, want text and HTML", m.Rcpts, len(encs))
		}
		for i, enc := range encs {
			if enc != "8bit" {
				t.Errorf("mail to %v: text part %d is %q, want 8bit", m.Rcpts, i, enc)
			}
		}
		if m.Rcpts[0] == "carla@cliente.example" {
			continue // the acknowledgement does not repeat her mail
		}
		if !strings.Contains(bodies[0], line) || !bytes.Contains(m.Data, []byte(line)) {
			t.Errorf("notification to %v does not carry her line as she wrote it:\n%s", m.Rcpts, bodies[0])
		}
		if !strings.Contains(bodies[1], "¿qué hago? Ñandú, acción, pingüino.") {
			t.Errorf("notification to %v: the HTML part lost her line:\n%s", m.Rcpts, bodies[1])
		}
	}
}
