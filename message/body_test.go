package message_test

import (
	"strings"
	"testing"

	"github.com/ticketd/ticketd/message"
)

func crlf(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n") }

// mutt (and go-message) mark text bodies "Content-Disposition: inline":
// they are the body, and the files after them keep the number they had
// when bodies were still counted as attachments, so stored rows still
// name the same bytes.
func TestInlineTextBodiesAreTheBody(t *testing.T) {
	raw := crlf(
		"From: Carla <carla@cliente.example>", "To: soporte@example.com", "Subject: x", "MIME-Version: 1.0",
		`Content-Type: multipart/mixed; boundary="m"`, "",
		"--m", `Content-Type: multipart/alternative; boundary="a"`, "Content-Disposition: inline", "",
		"--a", "Content-Type: text/plain; charset=utf-8", "Content-Disposition: inline", "", "Hola, la factura no llega.",
		"--a", "Content-Type: text/html; charset=utf-8", "Content-Disposition: inline", "", "<p>Hola, la factura <em>no</em> llega.</p>",
		"--a--",
		"--m", "Content-Type: image/png", "Content-Disposition: inline; filename=pantalla.png", "Content-ID: <shot@mutt>",
		"Content-Transfer-Encoding: base64", "", "iVBORw0KGgo=",
		"--m", "Content-Type: application/octet-stream", "Content-Disposition: attachment", "", "bytes",
		"--m--")
	p, err := message.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if p.Text != "Hola, la factura no llega." || !strings.Contains(p.HTML, "<em>no</em>") {
		t.Errorf("text %q html %q", p.Text, p.HTML)
	}
	if len(p.Attachments) != 2 {
		t.Fatalf("attachments: %+v", p.Attachments)
	}
	img, file := p.Attachments[1], p.Attachments[0]
	if img.Filename != "pantalla.png" || !img.Inline || img.ContentID != "shot@mutt" {
		t.Errorf("image: %+v", img)
	}
	if file.Filename != "part-1" || file.Inline {
		t.Errorf("unnamed file: %+v", file)
	}
	for _, a := range p.Attachments {
		got, err := message.Attachment(raw, a.Index)
		if err != nil || got.Filename != a.Filename {
			t.Errorf("Attachment(%d) = %v, %v; want %s", a.Index, got, err, a.Filename)
		}
	}
}

// A body marked inline before a pasted image: the image keeps number 1,
// the number rows stored before bodies were told apart hold.
func TestAttachmentNumbersSurviveDroppedBodies(t *testing.T) {
	raw := crlf(
		"From: Carla <carla@cliente.example>", "To: soporte@example.com", "Subject: x", "MIME-Version: 1.0",
		`Content-Type: multipart/mixed; boundary="m"`, "",
		"--m", "Content-Type: text/plain; charset=utf-8", "Content-Disposition: inline", "", "Mire la captura.",
		"--m", "Content-Type: image/png", "Content-Disposition: inline; filename=captura.png",
		"Content-Transfer-Encoding: base64", "", "iVBORw0KGgo=",
		"--m--")
	p, err := message.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Attachments) != 1 || p.Attachments[0].Index != 1 || p.Attachments[0].Filename != "captura.png" {
		t.Fatalf("attachments: %+v", p.Attachments)
	}
	if a, err := message.Attachment(raw, 1); err != nil || a.Filename != "captura.png" {
		t.Errorf("Attachment(1) = %v, %v", a, err)
	}
	if _, err := message.Attachment(raw, 0); err == nil {
		t.Errorf("Attachment(0), the text body, is still an attachment")
	}
}

// Outlook pastes an image with a Content-ID and no Content-Disposition:
// it is inline, and named by that Content-ID.
func TestOutlookInlineImageHasItsContentID(t *testing.T) {
	raw := crlf(
		"From: Carla <carla@cliente.example>", "To: soporte@example.com", "Subject: x", "MIME-Version: 1.0",
		`Content-Type: multipart/related; boundary="r"; type="text/html"`, "",
		"--r", "Content-Type: text/html; charset=utf-8", "", `<p>Error:<img src="cid:image001.png@01DB4F2A.ABCDEF00"></p>`,
		"--r", `Content-Type: image/png; name="image001.png"`, "Content-ID: <image001.png@01DB4F2A.ABCDEF00>",
		"Content-Transfer-Encoding: base64", "", "iVBORw0KGgo=",
		"--r--")
	p, err := message.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Attachments) != 1 || !p.Attachments[0].Inline || p.Attachments[0].ContentID != "image001.png@01DB4F2A.ABCDEF00" {
		t.Fatalf("attachments: %+v", p.Attachments)
	}
}

// Thunderbird's format=flowed with DelSp is decoded when the mail is read.
func TestFlowedIsDecodedWhenParsed(t *testing.T) {
	raw := crlf("From: Carla <carla@cliente.example>", "Subject: x",
		"Content-Type: text/plain; charset=UTF-8; format=flowed; delsp=yes", "",
		"Die Rechnungsnummer ist 2026-0042, bezahlt am 28. Okto ", "ber.", "", "> Bitte senden Sie uns die  ", "> Nummer.")
	p, err := message.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := "Die Rechnungsnummer ist 2026-0042, bezahlt am 28. Oktober.\n\n> Bitte senden Sie uns die Nummer.\n"
	if p.Text != want {
		t.Errorf("text = %q, want %q", p.Text, want)
	}
	// Without format=flowed the same lines stay as written.
	p, _ = message.Parse(crlf("From: Carla <carla@cliente.example>", "Subject: x", "Content-Type: text/plain; charset=UTF-8", "", "Okto ", "ber."))
	if p.Text != "Okto \nber.\n" {
		t.Errorf("fixed text = %q", p.Text)
	}
}
