package templates

import (
	htmltemplate "html/template"
	"strings"
	"testing"
)

// With Data.HTML the relay and the agents' mails show that HTML as it is
// (it was sanitized before), in every language; the text part keeps Text.
func TestBodyHTMLIsShownAsItIs(t *testing.T) {
	s, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"es", "en", "fr", "pt", "it"} {
		for _, k := range []Kind{Relay, AgentNew, AgentReply, AgentReopened, Note} {
			d := sampleData(lang)
			d.Text = "Hola *Carla*"
			d.HTML = htmltemplate.HTML(`<p>Hola <b>Carla</b></p><img src="cid:shot@x">`)
			m, err := s.Render(k, d)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(m.HTML, `<p>Hola <b>Carla</b></p><img src="cid:shot@x">`) {
				t.Errorf("%s/%s: HTML part lacks the body:\n%s", lang, k, m.HTML)
			}
			if !strings.Contains(m.Text, "Hola *Carla*") || strings.Contains(m.Text, "<b>") {
				t.Errorf("%s/%s: text part:\n%s", lang, k, m.Text)
			}
			d.HTML = ""
			if m, _ := s.Render(k, d); !strings.Contains(m.HTML, "Hola *Carla*") {
				t.Errorf("%s/%s: without HTML the text is shown:\n%s", lang, k, m.HTML)
			}
		}
	}
}

// User text in the HTML part keeps its line breaks as <br> and has every
// character HTML gives meaning to escaped, whatever its line ends.
func TestBrLines(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Hola\nCarla", "Hola<br>\nCarla"},
		{"a\r\nb\rc\n\n", "a<br>\nb<br>\nc"},
		{"<script>&\"x\" 'y'</script>\n", "&lt;script&gt;&amp;&#34;x&#34; &#39;y&#39;&lt;/script&gt;"},
		{"\n\nfirst", "<br>\n<br>\nfirst"},
		{"", ""},
	} {
		if got := string(brLines(c.in)); got != c.want {
			t.Errorf("brLines(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
