package message

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	corpusdir "github.com/ticketd/ticketd/internal/corpus"
)

// corpus finds the public mail corpus (see internal/corpus).
func corpus(t testing.TB) string {
	t.Helper()
	return corpusdir.Dir(t)
}

// Every real or broken mail of the MIME corpora parses without panic,
// yields valid UTF-8 text, and never loses the sender.
func TestCorpusParses(t *testing.T) {
	root := corpus(t)
	var files []string
	for _, pattern := range []string{
		"jhillyerd-enmime/testdata/*/*.raw",
		"jhillyerd-enmime/dsn/testdata/*",
		"jstedfast-MimeKit/UnitTests/TestData/messages/*",
		"jstedfast-MimeKit/UnitTests/TestData/tnef/*.eml",
		"mailgun-talon/*/*.eml",
	} {
		m, _ := filepath.Glob(filepath.Join(root, pattern))
		files = append(files, m...)
	}
	if len(files) < 80 {
		t.Fatalf("only %d corpus files found", len(files))
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Parse(raw)
		if err != nil {
			if LooksLikeMail(raw) {
				t.Errorf("%s: %v", f, err)
			}
			continue
		}
		if !utf8.ValidString(p.Text) {
			t.Errorf("%s: text is not valid UTF-8", f)
		}
		for _, a := range p.Attachments {
			if a.Filename == "" || a.ContentType == "" {
				t.Errorf("%s: attachment without name or type: %+v", f, a.Filename)
			}
		}
	}
}

func TestParseExpectations(t *testing.T) {
	root := corpus(t)
	read := func(rel string) *Parsed {
		t.Helper()
		raw, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		p, err := Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		return p
	}
	p := read("jhillyerd-enmime/testdata/mail/attachment.raw")
	if !strings.Contains(p.Text, "A text section") || len(p.Attachments) != 1 || p.Attachments[0].Filename != "test.html" {
		t.Errorf("attachment.raw: text %q attachments %d", p.Text, len(p.Attachments))
	}
	if p.From.Addr != "james@makita.skynet" || p.MessageID != "07B7061D-2676-487E-942E-C341CE4D13DC@makita.skynet" {
		t.Errorf("attachment.raw: from %q msgid %q", p.From.Addr, p.MessageID)
	}
	// HTML-only mail is shown as text, not markup.
	p = read("jhillyerd-enmime/testdata/mail/html-only-inline.raw")
	if strings.Contains(p.Text, "<html") || strings.Contains(p.Text, "<p>") {
		t.Errorf("html-only mail shown as markup: %q", p.Text)
	}
	// RFC 2047 subjects are decoded.
	p = read("jhillyerd-enmime/testdata/mail/qp-utf8-header.raw")
	if strings.Contains(p.Subject, "=?") {
		t.Errorf("subject not decoded: %q", p.Subject)
	}
	// A deeply nested message (MimeKit's stack-overflow sample) is survived.
	read("jstedfast-MimeKit/UnitTests/TestData/messages/stack-overflow.txt")
}

func TestCharsets(t *testing.T) {
	cases := []struct{ name, raw, want string }{
		{"undeclared UTF-8", "From: a@b.example\r\nSubject: x\r\n\r\nHola, ya le hemos restablecido la contraseña y todo está bien, ¿le funciona ahora? Gracias por su paciencia, que sé que es mucha.\r\n", "contraseña y todo está"},
		{"declared latin-1", "From: a@b.example\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nEspa\xf1a y Portugal\r\n", "España y Portugal"},
		{"undeclared latin-1", "From: a@b.example\r\nSubject: x\r\n\r\nEspa\xf1a y Portugal, el ca\xf1\xf3n y la ni\xf1a, con muchas m\xe1s palabras para que se pueda detectar bien el juego de caracteres de este texto largo.\r\n", "España y Portugal"},
		{"declared us-ascii, sent UTF-8", "From: a@b.example\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nNiño pequeño, año nuevo, señal, mañana, otoño: ¿qué tal está usted en este día tan señalado de fiesta y alegría?\r\n", "Niño pequeño"},
	}
	for _, c := range cases {
		p, err := Parse([]byte(c.raw))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !strings.Contains(p.Text, c.want) {
			t.Errorf("%s: text %q lacks %q", c.name, p.Text, c.want)
		}
	}
}

func TestNotMail(t *testing.T) {
	for _, raw := range []string{"", "\r\n\r\n", "hello world\n", ": no name\n\nbody"} {
		if _, err := Parse([]byte(raw)); err != ErrNotMail {
			t.Errorf("Parse(%q) = %v, want ErrNotMail", raw, err)
		}
	}
	for _, raw := range []string{"Subject: only a header\r\n", "From sender@x Mon Jan 1 00:00:00 2026\nSubject: mbox\n\nbody",
		" From: a@b.example\r\nSubject: a space before the first field\r\n\r\nbody\r\n", "\xef\xbb\xbfFrom: a@b.example\r\n\r\nBOM\r\n"} {
		if _, err := Parse([]byte(raw)); err != nil {
			t.Errorf("Parse(%q) = %v, want a message", raw, err)
		}
	}
}

func TestHeaderValuesCannotCarryLineBreaks(t *testing.T) {
	p, err := Parse([]byte("From: \"Eve\r\n Bcc: x\" <eve@evil.example>\r\nSubject: =?utf-8?q?hi=0D=0ABcc:_victim@x.example?=\r\n\r\nbody\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(p.Subject, "\r\n") || strings.ContainsAny(p.From.Name, "\r\n") {
		t.Fatalf("line break survived: subject %q name %q", p.Subject, p.From.Name)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("From: a@b.example\r\nSubject: x\r\n\r\nbody\r\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x--\r\n"))
	f.Add([]byte("Subject: =?utf-8?B?roto\r\nContent-Type: text/plain; charset=bogus\r\n\r\n\xff\xfe"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := Parse(raw)
		if err != nil {
			if err != ErrNotMail {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if !utf8.ValidString(p.Text) {
			t.Fatalf("invalid UTF-8 text")
		}
		if strings.ContainsAny(p.Subject, "\r\n") {
			t.Fatalf("subject with a line break")
		}
	})
}

// Outlook's winmail.dat is unpacked: agents get the files inside, byte for
// byte as MimeKit extracts them.
func TestTNEFAttachmentsAreUnpacked(t *testing.T) {
	root := filepath.Join(corpus(t), "jstedfast-MimeKit", "UnitTests", "TestData", "tnef")
	stream, err := os.ReadFile(filepath.Join(root, "winmail.tnef"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := readTNEF(stream)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join(root, "winmail.list"))
	names := strings.Fields(strings.ReplaceAll(string(want), "Untitled Attachment", "Untitled_Attachment"))
	if len(files) != len(names) {
		t.Fatalf("winmail.tnef: %d files, want %d (%v)", len(files), len(names), names)
	}
	for i, f := range files {
		exp, err := os.ReadFile(filepath.Join(root, "winmail", fmt.Sprintf("Untitled Attachment.%d", i+1)))
		if err != nil {
			t.Fatal(err)
		}
		if f.name != "Untitled Attachment" || !bytes.Equal(f.data, exp) {
			t.Errorf("file %d: name %q, %d bytes; want %d bytes as MimeKit extracts", i, f.name, len(f.data), len(exp))
		}
	}
	stream, _ = os.ReadFile(filepath.Join(root, "christmas.tnef"))
	files, err = readTNEF(stream)
	if err != nil || len(files) == 0 {
		t.Fatalf("christmas.tnef: %d files, %v", len(files), err)
	}
	want, _ = os.ReadFile(filepath.Join(root, "christmas.list"))
	if !strings.Contains(string(want), files[0].name) || files[0].name == "" {
		t.Errorf("christmas.tnef first file %q not in %q", files[0].name, want)
	}

	// Through Parse, a real Outlook mail shows the files, not winmail.dat.
	raw, err := os.ReadFile(filepath.Join(root, "rich-text.eml"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range p.Attachments {
		if strings.EqualFold(a.Filename, "winmail.dat") || a.Index != i {
			t.Errorf("attachment %d: %q (index %d)", i, a.Filename, a.Index)
		}
	}
	// A broken container stays as it was.
	out, problems := unpackTNEF([]Part{{Filename: "winmail.dat", ContentType: "application/ms-tnef", Content: []byte("\x78\x9f\x3e\x22\x00\x00\x01\x02")}})
	if len(out) != 1 || out[0].Filename != "winmail.dat" || len(problems) != 1 {
		t.Fatalf("broken TNEF: %+v %v", out, problems)
	}
}

func FuzzReadTNEF(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join(os.Getenv(corpusdir.Env), "jstedfast-MimeKit", "UnitTests", "TestData", "tnef", "christmas.tnef")); err == nil {
		f.Add(b)
	}
	f.Add([]byte("\x78\x9f\x3e\x22\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		files, _ := readTNEF(b)
		for _, x := range files {
			if len(x.data) > len(b) {
				t.Fatalf("file larger than its container")
			}
		}
	})
}

func TestTNEFNamesInTheSendersCodePage(t *testing.T) {
	// A Ukrainian file name as Outlook writes it in code page 1251.
	if got := decodeString8([]byte("\xc7\xe2\xb3\xf2.docx"), 1251); got != "Звіт.docx" {
		t.Fatalf("cp1251 name = %q", got)
	}
	if got := decodeString8([]byte("Espa\xf1a.pdf"), 1252); got != "España.pdf" {
		t.Fatalf("cp1252 name = %q", got)
	}
	if got := decodeString8([]byte("plain.txt"), 1251); got != "plain.txt" {
		t.Fatalf("ASCII name = %q", got)
	}
}

func TestBrokenStartStillYieldsTheSender(t *testing.T) {
	p, err := Parse([]byte(" From: James <james@makita.example>\r\nSubject: plain text\r\n\r\nbody\r\n"))
	if err != nil || p.From.Addr != "james@makita.example" || p.Subject != "plain text" {
		t.Fatalf("Parse = %+v, %v", p, err)
	}
}
