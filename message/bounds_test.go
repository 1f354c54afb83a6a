package message

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/jhillyerd/enmime/v2"
)

// nestedBomb is depth multiparts, each inside the one before, around a
// small text, padded to size bytes.
func nestedBomb(depth, size int) []byte {
	var b strings.Builder
	b.WriteString("From: Mallory <m@evil.example>\r\nSubject: bomba\r\nMessage-ID: <bomb@evil.example>\r\n")
	for i := range depth {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\r\n\r\nhola\r\n")
	for b.Len() < size {
		b.WriteString(strings.Repeat("z", 76) + "\r\n")
	}
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return []byte(b.String())
}

// manyParts is one multipart/mixed with n one-byte attachments.
func manyParts(n int) []byte {
	var b strings.Builder
	b.WriteString("From: m@evil.example\r\nSubject: partes\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n")
	b.WriteString("--XX\r\nContent-Type: text/plain\r\n\r\ntexto\r\n")
	for i := range n {
		fmt.Fprintf(&b, "--XX\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"f%d\"\r\n\r\nx\r\n", i)
	}
	b.WriteString("--XX--\r\n")
	return []byte(b.String())
}

func TestNestedBombIsTooComplexNotParsed(t *testing.T) {
	p, err := Parse(nestedBomb(3000, 200<<10))
	if err != nil {
		t.Fatal(err)
	}
	if p.Text != TooComplexText || len(p.Attachments) != 0 {
		t.Fatalf("bomb parsed: text %.60q, %d attachments", p.Text, len(p.Attachments))
	}
	// What identifies and threads the mail is still read.
	if p.Subject != "bomba" || p.From.Addr != "m@evil.example" || p.MessageID != "bomb@evil.example" {
		t.Fatalf("headers of a too complex mail: %q %q %q", p.Subject, p.From.Addr, p.MessageID)
	}
	if len(p.Problems) == 0 || !strings.Contains(p.Problems[0], "nested more than 10 deep") {
		t.Fatalf("problems %q", p.Problems)
	}
}

func TestTenThousandPartsAreTooComplex(t *testing.T) {
	p, _ := Parse(manyParts(10000))
	if p.Text != TooComplexText || len(p.Attachments) != 0 {
		t.Fatalf("10,000 parts: text %.40q, %d attachments", p.Text, len(p.Attachments))
	}
	if !strings.Contains(strings.Join(p.Problems, ";"), "more than 500 parts") {
		t.Fatalf("problems %q", p.Problems)
	}
	// Within the bound, every part is an attachment as before.
	p, _ = Parse(manyParts(400))
	if p.Text == TooComplexText || len(p.Attachments) != 400 {
		t.Fatalf("400 parts: %d attachments, too complex %v", len(p.Attachments), p.Text == TooComplexText)
	}
}

// The bounds must not catch ordinary mail: a mail with its attachments and
// an alternative, inside a forwarded mail, a few levels deep.
func TestOrdinaryNestingIsParsed(t *testing.T) {
	raw := "From: carla@cliente.example\r\nSubject: reenvío\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n" +
		"preamble --outer is not a delimiter here\r\n" +
		"--outer\r\nContent-Type: multipart/related; boundary=\"rel ated\"\r\n\r\n" +
		"--rel ated\r\nContent-Type: multipart/alternative; boundary=alt-\r\n\r\n" +
		"--alt-\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHola, adjunto la factura.\r\n" +
		"--alt-\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hola, adjunto la factura.</p>\r\n" +
		"--alt---\r\n" +
		"--rel ated\r\nContent-Type: image/png\r\nContent-Disposition: inline; filename=logo.png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n" +
		"--rel ated--\r\n" +
		"--outer\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=factura.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n" +
		"--outer--\r\n"
	if why := tooComplex([]byte(raw)); why != "" {
		t.Fatalf("ordinary mail called too complex: %s", why)
	}
	p, _ := Parse([]byte(raw))
	if !strings.Contains(p.Text, "adjunto la factura") || len(p.Attachments) != 2 {
		t.Fatalf("text %q, %d attachments", p.Text, len(p.Attachments))
	}
}

// The pre-scan measures what enmime would build, also when delimiters are
// written the way enmime still accepts (trailing white space, a boundary
// with spaces or dashes, LF line ends).
func TestPreScanCountsLenientDelimiters(t *testing.T) {
	for _, tc := range []struct{ name, ctype, delim string }{
		{"trailing space", `multipart/mixed; boundary="b"`, "--b  \n"},
		{"spaces inside", `multipart/mixed; boundary="a b"`, "--a b\n"},
		{"dashes at the end", `multipart/mixed; boundary="x--"`, "--x--\t\n"},
		{"long", `multipart/mixed; boundary="=_NextPart_0123456789abcdef"`, "--=_NextPart_0123456789abcdef\r\n"},
		{"RFC 2231 continuations", "multipart/mixed;\n boundary*0=\"ab\";\n boundary*1=\"cd\"", "--abcd\n"},
		{"RFC 2231 encoded", `multipart/mixed; boundary*=utf-8''q%41z`, "--qAz\n"},
		{"escaped quote", `multipart/mixed; boundary="a\"b"`, "--a\"b\n"},
		{"upper-case parameter", `multipart/mixed; BOUNDARY=zz`, "--zz\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if b := mediaBoundary(strings.ReplaceAll(tc.ctype, "\n", "")); b == "" {
				t.Fatalf("enmime finds no boundary in %q", tc.ctype)
			}
			var b strings.Builder
			b.WriteString("Subject: x\nContent-Type: " + tc.ctype + "\n\n")
			for range MaxParts + 1 {
				b.WriteString(tc.delim + "\ny\n")
			}
			if why := tooComplex([]byte(b.String())); !strings.Contains(why, "parts") {
				t.Fatalf("%d delimiters %q not counted: %q", MaxParts+1, tc.delim, why)
			}
		})
	}
}

func BenchmarkParseNestedBomb(b *testing.B) {
	// The bomb: 14,500 levels in 1 MB (88 s before the bounds).
	raw := nestedBomb(14500, 1<<20)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		Parse(raw)
	}
}

func BenchmarkParseTenThousandParts(b *testing.B) {
	raw := manyParts(10000)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		Parse(raw)
	}
}

// Work just under the bounds: the most a mail can cost enmime.
func BenchmarkParseAtTheBounds(b *testing.B) {
	raw := nestedBomb(MaxDepth, MaxNestedBytes/MaxDepth-4096)
	if why := tooComplex(raw); why != "" {
		b.Fatalf("not within the bounds: %s", why)
	}
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		Parse(raw)
	}
}

// FuzzBoundsHoldForEnmime checks the pre-scan against what enmime really
// builds: whenever tooComplex lets a mail through, enmime's tree has no
// more parts and no deeper nesting than the bounds allow. A mail that
// could hide its structure from the pre-scan would fail here.
func FuzzBoundsHoldForEnmime(f *testing.F) {
	f.Add(nestedBomb(12, 2000))
	f.Add(manyParts(20))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n--a--\n"))
	f.Add([]byte("Content-Type: multipart/mixed;\n boundary=\"x y\"\r\n\r\nxx--x y \r\n--x y\r\n\r\n--x y--"))
	f.Add(nestedBomb(MaxDepth, 500))
	f.Add([]byte("Content-Type: multipart/mixed; boundary*0=\"a\"; boundary*1=\"b\"\n\n--ab\nContent-Type: multipart/mixed; boundary=\"c\\\"d\"\n\n--c\"d\n\nx\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) > 64<<10 || tooComplex(raw) != "" {
			return
		}
		env, err := fast.ReadEnvelope(bytes.NewReader(raw))
		if err != nil || env.Root == nil {
			return
		}
		parts, depth := 0, 0
		var walk func(p *enmime.Part, d int)
		walk = func(p *enmime.Part, d int) {
			for ; p != nil; p = p.NextSibling {
				parts++
				if strings.HasPrefix(p.ContentType, "multipart/") {
					depth = max(depth, d+1)
				}
				walk(p.FirstChild, d+1)
			}
		}
		walk(env.Root, 0)
		if parts > MaxParts+1 || depth > MaxDepth+1 {
			t.Fatalf("pre-scan let through %d parts, %d levels: %q", parts, depth, raw)
		}
	})
}
