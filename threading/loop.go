package threading

import "strings"

// LoopHeader is the header field on every mail ticketd sends (the
// procmail and Sieve convention, RFC 5230 §4.6's spirit): its value is the
// sending mailbox's address. A mail that comes back with it — an agent's
// mailbox redirecting everything to the support address, a responder
// that copies the original's header — is ticketd's own mail returning.
const LoopHeader = "X-Loop"

// ownMailBack tells why a mail is ticketd's own mail coming back, or "".
// Our X-Ticketd-Ticket field is never copied into a person's reply, only
// kept by redirects and resends, so it counts as well.
func ownMailBack(get func(string) (string, bool), ourAddresses []string) string {
	if v, ok := get(LoopHeader); ok {
		for _, a := range headerAddresses(v) {
			if isOurs(a, ourAddresses) {
				return LoopHeader + ": " + a + " (our own mail came back)"
			}
		}
	}
	if _, ok := get("X-Ticketd-Ticket"); ok {
		return "X-Ticketd-Ticket present (our own mail came back)"
	}
	return ""
}

// replyPrefixes are the "Re:" of the languages mail clients speak,
// lowercased. Forward prefixes are not among them: a person forwarding a
// bounce ("Fwd: Returned mail") is a person.
var replyPrefixes = []string{"re", "aw", "sv", "vs", "rv", "ref", "antw", "odp", "r", "res"}

// cutReplyPrefix removes one reply prefix ("re:", "RE[2]:", "Re :") from
// a lowercased subject.
func cutReplyPrefix(s string) (string, bool) {
	for _, p := range replyPrefixes {
		rest, ok := strings.CutPrefix(s, p)
		if !ok {
			continue
		}
		if strings.HasPrefix(rest, "[") {
			i := strings.IndexByte(rest, ']')
			if i < 0 || i > 5 {
				continue
			}
			rest = rest[i+1:]
		}
		rest = strings.TrimLeft(rest, " ")
		if r, ok := strings.CutPrefix(rest, ":"); ok {
			return strings.TrimSpace(r), true
		}
	}
	return s, false
}
