package threading

import "regexp"

// tokenPattern finds a reply token where ticketd puts one: after '+' in an
// address, and after "tkd." in a Message-ID.
var tokenPattern = regexp.MustCompile(`(?i)(\+|tkd\.)[a-z2-7]{24}[a-z0-9.-]*@`)

// Redact removes reply tokens (and the tags after them) from s, for log
// lines: a token is the key to a ticket and its tracking page.
func Redact(s string) string {
	return tokenPattern.ReplaceAllString(s, "${1}…@")
}
