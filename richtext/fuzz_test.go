package richtext

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// FuzzPrepare: any input gives sanitized output (no script, no event
// handler) and never panics.
func FuzzPrepare(f *testing.F) {
	for _, s := range []string{
		`<div class="gmail_quote"><blockquote>x</blockquote></div>`,
		`<div id="divRplyFwdMsg">From: a</div><p>after</p>`,
		`#close<br>hi <img src="cid:a@b" onerror="x()">`,
		`<blockquote type="cite"><blockquote type="cite">deep</blockquote></blockquote>`,
		`<p>On Mon, 2 Nov 2026, Ana &lt;a@example.com&gt; wrote:</p><p>&gt; old</p>`,
		`<scr<script>ipt>alert(1)</script>`,
	} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, src string, commands bool) {
		b := Prepare(src, Options{Commands: commands})
		doc, err := html.Parse(strings.NewReader(b.HTML))
		if err != nil {
			t.Fatal(err)
		}
		walk(doc, func(n *html.Node) bool {
			if n.Type != html.ElementNode {
				return true
			}
			switch n.DataAtom {
			case atom.Script, atom.Style, atom.Iframe, atom.Form, atom.Input, atom.Object, atom.Embed:
				t.Fatalf("output keeps <%s>: %q", n.Data, b.HTML)
			}
			for _, a := range n.Attr {
				v := strings.ToLower(strings.TrimSpace(a.Val))
				if strings.HasPrefix(a.Key, "on") || strings.HasPrefix(v, "javascript:") || a.Key == "src" && !strings.HasPrefix(v, "cid:") {
					t.Fatalf("output keeps %s=%q: %q", a.Key, a.Val, b.HTML)
				}
			}
			return true
		})
	})
}

// BenchmarkPrepare: a long Outlook-style answer with a deep quoted history.
func BenchmarkPrepare(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`<html><body><div class="WordSection1">`)
	for i := 0; i < 200; i++ {
		sb.WriteString(`<p class="MsoNormal">Line of the answer with <b>bold</b> and a <a href="https://example.com/">link</a>: 12:00.<o:p></o:p></p>`)
	}
	sb.WriteString(`<div><div style="border:none;border-top:solid #E1E1E1 1.0pt"><p><b>From:</b> a<br><b>Sent:</b> Monday 9:00<br><b>To:</b> b<br><b>Subject:</b> c</p></div></div>`)
	for i := 0; i < 2000; i++ {
		sb.WriteString(`<div><p>quoted history line 1234</p></div>`)
	}
	sb.WriteString(`</div></body></html>`)
	src := sb.String()
	b.SetBytes(int64(len(src)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Prepare(src, Options{Commands: true})
	}
}

// BenchmarkPrepareNoStructure: history that only its text marks, found by
// reading the elements' first lines.
func BenchmarkPrepareNoStructure(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`<html><body>`)
	for i := 0; i < 2000; i++ {
		sb.WriteString(`<div><span>Paragraph 12 of the answer: nothing quoted here.</span></div>`)
	}
	sb.WriteString(`<p>-----Original Message-----<br>From: a<br>Sent: Monday 9:00<br>To: b</p><p>old</p></body></html>`)
	src := sb.String()
	b.SetBytes(int64(len(src)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Prepare(src, Options{})
	}
}
