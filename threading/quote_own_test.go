package threading

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ownReplyFlagged names the replies of testdata/replies whose cut agents
// must not trust, with the reason; every other reply must come out
// unflagged.
var ownReplyFlagged = map[string]string{
	// A forward keeps the forwarded mail as new text (it is what the
	// customer wants us to read), so its cut needs no flag.
	// Nothing but a quote: there is no new text to trust.
	"only-quote-en":            "the reply is only the quote",
	"mobile-signature-only-es": "a phone signature above the quote, nothing written",
	// The customer typed the request below the "-- " line.
	"signature-dashes-request-below-es": "the request sits below the signature separator",
	// History without ">" (HTML turned to text): prose under an
	// attribution may be the customer's own words.
	"yahoo-en-no-quote-marks": "Yahoo's unquoted history below the attribution",
	"apple-mail-es":           "Apple Mail's unquoted history below the attribution",
}

// knownDifferences lists replies of testdata/replies where CutQuote's New
// differs from the .want file, with the reason. A listed case that starts
// to pass fails the test, so the list can only shrink.
var knownDifferences = knownDiffs{
	// The From/Sent/To lines of Outlook's header block, joined, read as a
	// wrapped attribution (a year, then a final <addr> in "To:"). A marker
	// without ">" below it is not trusted, so the quoted prose makes the
	// cut suspicious: the right New, flagged for nothing.
	"outlook-desktop-de": "header block with To: <addr> taken for an untrusted attribution: flagged",
	"outlook-desktop-es": "header block with To: <addr> taken for an untrusted attribution: flagged",
	"outlook-desktop-fr": "header block with To: <addr> taken for an untrusted attribution: flagged",
	"outlook-desktop-it": "header block with To: <addr> taken for an untrusted attribution: flagged",
	"outlook-desktop-pt": "header block with To: <addr> taken for an untrusted attribution: flagged",
	"outlook-mac-es":     "header block with To: <addr> taken for an untrusted attribution: flagged",
	"outlook-web-en":     "header block with To: <addr> taken for an untrusted attribution: flagged",
	"outlook-ios-en":     "header block with To: <addr> taken for an untrusted attribution: flagged",
	// Outlook mobile's signature is known only in English ("Get Outlook
	// for"); these also have the header-block flag above.
	"outlook-web-es":     "\"Obtener Outlook para iOS\" kept in New; header block flagged",
	"outlook-android-fr": "\"Obtenir Outlook pour Android\" kept in New; header block flagged",
	// Thunderbird's German default puts the verb before a bare name
	// ("Am ... schrieb Ana Pérez:"); without an address reAttrMid does not
	// match and the line stays in New.
	// A phone signature above the quote counts as written text: New is the
	// signature plus the quote, and the mail is not flagged.
	"mobile-signature-only-es": "phone signature kept as new text; not flagged",
}

// TestCutQuoteOwnReplies runs CutQuote on replies written the way Gmail,
// Outlook (desktop, web, mobile), Apple Mail, Thunderbird, Yahoo, GMX and
// phone clients write them, in Spanish, English, French, Portuguese,
// Italian and German. Each NAME.txt is a reply's text part; NAME.want is
// the new text the agent must see. It needs nothing outside the
// repository.
func TestCutQuoteOwnReplies(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "replies", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 40 {
		t.Fatalf("only %d replies in testdata/replies", len(files))
	}
	seen := map[string]bool{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		seen[name] = true
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(strings.TrimSuffix(f, ".txt") + ".want")
		if err != nil {
			t.Errorf("%s: no .want file: %v", name, err)
			continue
		}
		got := CutQuote(string(in))
		w := strings.TrimSpace(normalizeNL(string(want)))
		_, wantFlagged := ownReplyFlagged[name]
		ok := got.New == w && got.Flagged == wantFlagged
		knownDifferences.check(t, name, ok, func() string {
			return "New =\n" + got.New + "\n--- want ---\n" + w + "\n--- flagged " + boolStr(got.Flagged) + ", want " + boolStr(wantFlagged)
		})
		// Whatever the cut, no line is lost: New and Removed hold them all.
		for _, l := range strings.Split(normalizeNL(string(in)), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.Contains(got.New, l) && !strings.Contains(got.Removed, l) {
				t.Errorf("%s: line %q is neither in New nor in Removed", name, l)
			}
		}
	}
	knownDifferences.assertAllSeen(t, seen)
	for name := range ownReplyFlagged {
		if !seen[name] {
			t.Errorf("ownReplyFlagged names %s, which has no .txt file", name)
		}
	}
	wants, _ := filepath.Glob(filepath.Join("testdata", "replies", "*.want"))
	for _, w := range wants {
		if name := strings.TrimSuffix(filepath.Base(w), ".want"); !seen[name] {
			t.Errorf("%s has no .txt beside it", w)
		}
	}
}

// BenchmarkCutQuoteOwnReplies cuts every reply of testdata/replies once
// per iteration: the cost of ordinary replies, as a clone can measure it.
func BenchmarkCutQuoteOwnReplies(b *testing.B) {
	files, err := filepath.Glob(filepath.Join("testdata", "replies", "*.txt"))
	if err != nil || len(files) == 0 {
		b.Fatalf("no replies in testdata/replies: %v", err)
	}
	var texts []string
	size := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		texts = append(texts, string(raw))
		size += len(raw)
	}
	b.SetBytes(int64(size))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, s := range texts {
			CutQuote(s)
		}
	}
}
