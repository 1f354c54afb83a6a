package threading

import (
	"crypto/rand"
	"strconv"
	"strings"
)

const msgIDPrefix = "tkd."

// NewMessageID returns "tkd.TOKEN.RANDOM@hostname" without angle brackets.
// Embedding the token lets a reply that lost its recipient token still
// thread through In-Reply-To/References.
func NewMessageID(token, hostname string) string {
	return MessageIDWith(token, NewMessageIDPart(), hostname)
}

// NewMessageIDPart returns the random part of a Message-ID, so that a
// caller can draw them before it knows the ticket (intake does, to keep
// the randomness off its write transaction).
func NewMessageIDPart() string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("threading: crypto/rand failed: " + err.Error())
	}
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	r := make([]byte, len(b))
	for i, c := range b {
		r[i] = alphabet[c%32] // 256 is a multiple of 32: no bias
	}
	return string(r)
}

// MessageIDWith is NewMessageID with a random part drawn before.
func MessageIDWith(token, part, hostname string) string {
	if hostname == "" {
		hostname = "ticketd.invalid" // an id needs a right-hand side
	}
	return msgIDPrefix + token + "." + part + "@" + hostname
}

// TokenFromMessageID extracts the ticket token from one of our Message-IDs,
// with or without <>, any domain, any case (some gateways fold case).
func TokenFromMessageID(id string) (string, bool) {
	id = strings.TrimSpace(id)
	if len(id) >= 2 && id[0] == '<' && id[len(id)-1] == '>' {
		id = strings.TrimSpace(id[1 : len(id)-1])
	}
	left, _, ok := splitAddr(id)
	if !ok || len(left) != len(msgIDPrefix)+tokenLen+1+10 {
		return "", false
	}
	left = strings.ToLower(left)
	if !strings.HasPrefix(left, msgIDPrefix) {
		return "", false
	}
	rest := left[len(msgIDPrefix):]
	tok, random := rest[:tokenLen], rest[tokenLen:]
	if !ValidToken(tok) || random[0] != '.' || !isB32(random[1:], 10) {
		return "", false
	}
	return tok, true
}

// maxReferencedIDs bounds the work a hostile References header can cause
// downstream (one lookup per id); the newest ids come first, so the ones
// that matter survive the cut.
const maxReferencedIDs = 100

// ReferencedIDs returns the ids of In-Reply-To, then References newest
// first, without brackets and deduplicated. It is lenient because real
// headers carry comments, missing brackets, commas and plain garbage.
func ReferencedIDs(inReplyTo, references string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(ids []string) {
		for _, id := range ids {
			if len(out) >= maxReferencedIDs {
				return
			}
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	add(parseIDList(inReplyTo))
	refs := parseIDList(references)
	for i, j := 0, len(refs)-1; i < j; i, j = i+1, j-1 {
		refs[i], refs[j] = refs[j], refs[i]
	}
	add(refs)
	return out
}

// parseIDList extracts msg-ids from a header value. Bracketed ids win: when
// any exist, bare words (often an address in "message from x@y") are
// ignored; otherwise bare words containing '@' are taken as ids.
func parseIDList(s string) []string {
	var bracketed, bare []string
	var word strings.Builder
	flushWord := func() {
		w := strings.Trim(word.String(), ",;\"'")
		word.Reset()
		if strings.Contains(w, "@") && !strings.ContainsAny(w, "<>()") {
			bare = append(bare, w)
		}
	}
	depth := 0 // comment nesting
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && depth > 0:
			i++ // quoted-pair inside a comment
		case c == '(':
			flushWord()
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0:
		case c == '<':
			flushWord()
			end := strings.IndexByte(s[i+1:], '>')
			if end < 0 {
				// Unterminated: treat the rest as bare words.
				continue
			}
			id := stripSpace(s[i+1 : i+1+end])
			i += end + 1
			if id != "" && !strings.ContainsAny(id, "<") {
				bracketed = append(bracketed, id)
			}
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',':
			flushWord()
		default:
			word.WriteByte(c)
		}
	}
	flushWord()
	if len(bracketed) > 0 {
		return bracketed
	}
	return bare
}

// stripSpace removes all whitespace: folding can split an id over lines.
func stripSpace(s string) string {
	if !strings.ContainsAny(s, " \t\r\n") {
		return s
	}
	return strings.Join(strings.Fields(s), "")
}

// SubjectTag finds the first "[#N]" in a subject.
func SubjectTag(subject string) (int64, bool) {
	for i := 0; i+3 < len(subject); i++ {
		if subject[i] != '[' || subject[i+1] != '#' {
			continue
		}
		j := i + 2
		for j < len(subject) && subject[j] >= '0' && subject[j] <= '9' {
			j++
		}
		if j == i+2 || j >= len(subject) || subject[j] != ']' {
			continue
		}
		n, err := strconv.ParseInt(subject[i+2:j], 10, 64)
		if err != nil || n <= 0 {
			continue
		}
		return n, true
	}
	return 0, false
}

// TagSubject prefixes "[#N] " unless the subject already carries [#N].
// CR/LF are removed because the result goes into a header.
func TagSubject(subject string, n int64) string {
	subject = oneLine(subject)
	t := "[#" + strconv.FormatInt(n, 10) + "]"
	if strings.Contains(subject, t) { // t ends in ']', so a hit is exact
		return subject
	}
	if subject == "" {
		return t
	}
	return t + " " + subject
}

// oneLine joins folded lines: each CR/LF run and the blanks after it become
// one space.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return strings.TrimSpace(s)
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\r' && c != '\n' {
			b.WriteByte(c)
			continue
		}
		for i+1 < len(s) && strings.IndexByte("\r\n \t", s[i+1]) >= 0 {
			i++
		}
		b.WriteByte(' ')
	}
	return strings.TrimSpace(b.String())
}
