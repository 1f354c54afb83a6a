package threading

// CutQuote placeholder: replaced by the real implementation below in the
// next commit; returns the whole text so no content is ever lost.

import "strings"

// Cut is the result of CutQuote.
type Cut struct {
	New     string // the new text, trimmed
	Removed string // what was cut (quote, attribution line, signature)
	Flagged bool   // the cut is not trustworthy: agents must get the full text
}

// CutQuote separates the new text of a reply from quoted history.
func CutQuote(text string) Cut {
	n := strings.TrimSpace(text)
	return Cut{New: n, Flagged: n == ""}
}
