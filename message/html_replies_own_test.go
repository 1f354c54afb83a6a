package message_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ticketd/ticketd/message"
	"github.com/ticketd/ticketd/threading"
)

// ownHTMLFlagged names the HTML replies whose cut must be flagged.
var ownHTMLFlagged = map[string]string{
	"yahoo-it": "Yahoo's history has no quote marks once turned into text",
}

// ownHTMLKnown lists HTML replies that the parser and CutQuote get wrong
// today, with the reason; a listed reply that starts to pass fails the test.
var ownHTMLKnown = map[string]string{
	"outlook-es":     "Outlook's header block with Para: <addr> read as an untrusted attribution: right text, flagged",
	"outlook-web-en": "Outlook's header block with To: <addr> read as an untrusted attribution: right text, flagged",
}

// TestHTMLOwnRepliesKeepOnlyTheNewText: replies that carry only HTML, in
// the markup Gmail, Outlook (desktop and web), Apple Mail, Thunderbird,
// Yahoo and Zimbra write, go through the real parser (HTML to text) and
// CutQuote; the agent must get NAME.want (compared without white space,
// which the HTML conversion decides) and Flagged where it matters.
func TestHTMLOwnRepliesKeepOnlyTheNewText(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "html-replies", "*.eml"))
	if len(files) < 8 {
		t.Fatalf("only %d HTML replies in testdata/html-replies", len(files))
	}
	strip := func(s string) string { return strings.Join(strings.Fields(s), "") }
	seen := map[string]bool{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".eml")
		seen[name] = true
		want, err := os.ReadFile(strings.TrimSuffix(f, ".eml") + ".want")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p, err := message.Parse([]byte(readOwn(t, f)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if strings.Contains(p.Text, "<div") || strings.Contains(p.Text, "&nbsp;") {
			t.Errorf("%s: markup left in the text: %q", name, p.Text)
		}
		got := threading.CutQuote(p.Text)
		_, wantFlagged := ownHTMLFlagged[name]
		ok := strip(got.New) == strip(string(want)) && got.Flagged == wantFlagged
		switch why, known := ownHTMLKnown[name]; {
		case known && ok:
			t.Errorf("%s: listed as a known difference (%s) but now passes: remove it from the list", name, why)
		case !known && !ok:
			t.Errorf("%s: new text %q (flagged %v), want %q (flagged %v)", name, got.New, got.Flagged, strings.TrimSpace(string(want)), wantFlagged)
		}
	}
	for _, m := range []map[string]string{ownHTMLFlagged, ownHTMLKnown} {
		for name := range m {
			if !seen[name] {
				t.Errorf("%s is listed but not in testdata/html-replies", name)
			}
		}
	}
}
