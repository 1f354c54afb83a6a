package threading

import (
	"regexp"
	"strings"
)

// tokenPattern finds a reply token where ticketd puts one: after '+' in an
// address, and after "tkd." in a Message-ID.
var tokenPattern = regexp.MustCompile(`(?i)(\+|tkd\.)[a-z2-7]{24}[a-z0-9.-]*@`)

// Redact removes reply tokens (and the tags after them) from s, for log
// lines: a token is the key to a ticket and its tracking page.
func Redact(s string) string {
	// Most log values hold no address at all: skip the regexp for them.
	if !strings.Contains(s, "@") || (!strings.Contains(s, "+") && !containsFoldASCII(s, "tkd.")) {
		return s
	}
	return tokenPattern.ReplaceAllString(s, "${1}…@")
}

// containsFoldASCII reports whether s contains the lower-case ASCII word w
// in any case.
func containsFoldASCII(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		if asciiEqualFold(s[i:i+len(w)], w) {
			return true
		}
	}
	return false
}
