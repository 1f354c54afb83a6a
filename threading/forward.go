package threading

import "strings"

// forwardPrefixes open the subject of a forward in the clients' languages:
// Gmail's "Fwd:", Outlook's "FW:" (en), "RV:" (es), "TR:" (fr), "ENC:" (pt),
// "I:" (it), "WG:" (de).
var forwardPrefixes = []string{"fwd:", "fw:", "rv:", "tr:", "enc:", "i:", "wg:"}

// IsForwardSubject tells whether subject marks a forward: its first prefix
// is a forward's, not a reply's ("RE: FW: ..." is a reply).
func IsForwardSubject(subject string) bool {
	s := strings.ToLower(strings.TrimSpace(subject))
	s = strings.TrimLeft(s, "[")
	for _, p := range forwardPrefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// CutQuoteSubject is CutQuote for a mail with this subject. A forward
// whose client writes no forward marker (Outlook writes the forwarded
// mail's header block exactly as in a reply) keeps the forwarded mail when
// its subject says it is a forward.
func CutQuoteSubject(text, subject string) Cut {
	return cutQuote(text, IsForwardSubject(subject))
}
