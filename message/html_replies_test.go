package message_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corpusdir "github.com/ticketd/ticketd/internal/corpus"

	"github.com/ticketd/ticketd/message"
	"github.com/ticketd/ticketd/threading"
)

// Replies from the clients in mailgun/talon's corpus, HTML-only ones and
// whole .eml files, through the real parser: CutQuote must find the new
// text talon expects (compared without white space, as upstream does).
func TestHTMLRepliesKeepOnlyTheNewText(t *testing.T) {
	root := corpusdir.Dir(t, "mailgun-talon")
	b, err := os.ReadFile(filepath.Join(root, "EXPECTED.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	// Known differences, each a reason and not a way to hide a failure.
	known := map[string]string{
		// talon keeps Sparrow's signature in the new text; we cut "-- " signatures.
		"tests/fixtures/standard_replies/sparrow.eml": "signature kept by talon",
		// talon also drops "Bob", the line just above the <hr>; we keep it
		// and cut at the header block below the rule.
		"tests/fixtures/reply-separated-by-hr.html": "talon cuts the line above an <hr>",
	}
	strip := func(s string) string { return strings.Join(strings.Fields(s), "") }
	checked := 0
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Split(line, "\t")
		if len(f) < 2 || !strings.HasSuffix(f[0], ".html") && !strings.HasSuffix(f[0], ".eml") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(root, f[0]))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f[0], ".html") {
			raw = append([]byte("From: alex@example.com\r\nSubject: Re: hi\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"), raw...)
		}
		p, err := message.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", f[0], err)
		}
		got := threading.CutQuote(p.Text).New
		ok := strip(got) == strip(strings.ReplaceAll(f[1], `\n`, "\n"))
		switch _, isKnown := known[f[0]]; {
		case isKnown && ok:
			t.Errorf("%s now matches: take it off the known list", f[0])
		case !isKnown && !ok:
			t.Errorf("%s: new text %q, want %q", f[0], got, f[1])
		}
		checked++
	}
	if checked < 16 {
		t.Fatalf("only %d replies checked", checked)
	}
}
