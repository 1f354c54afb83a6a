// Package threading decides which ticket a mail belongs to and what part of
// it is new: reply tokens and agent tags, our Message-IDs, subject tags,
// loop detection and quote stripping. It is pure: values in, values out.
package threading

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"strings"
)

// lowerB32 is RFC 4648 base32 in lowercase: some MTAs fold the case of
// addresses, and lowercase keeps tokens unambiguous after that.
var lowerB32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

const (
	tokenLen = 24 // 15 random bytes = 120 bits
	tagLen   = 16 // 10 HMAC bytes = 80 bits
)

// NewToken returns a fresh ticket token: 120 random bits, 24 chars [a-z2-7].
func NewToken() string {
	var b [15]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand never fails on supported platforms; a guessable
		// token would break invariant 2, so refuse to continue.
		panic("threading: crypto/rand failed: " + err.Error())
	}
	return lowerB32.EncodeToString(b[:])
}

// ValidToken reports whether s has the exact shape of a ticket token.
func ValidToken(s string) bool { return isB32(s, tokenLen) }

func validTag(s string) bool { return isB32(s, tagLen) }

func isB32(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// AgentTag binds a reply address to one agent and one ticket, so the
// agent's address cannot be derived from the customer's (invariant 3).
func AgentTag(key []byte, token, agentEmail string) string {
	return tag(key, "agent", token, agentEmail)
}

// NoteTag is AgentTag for internal-note addresses; the distinct kind keeps a
// reply tag from being reused as a note tag and vice versa.
func NoteTag(key []byte, token, agentEmail string) string {
	return tag(key, "note", token, agentEmail)
}

func tag(key []byte, kind, token, email string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(kind + "\x00" + token + "\x00" + strings.ToLower(email)))
	return lowerB32.EncodeToString(m.Sum(nil)[:10])
}

// TagEqual compares tags in constant time so a forger learns nothing from
// response timing.
func TagEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// Addr is one recognised form of a configured mailbox address.
type Addr struct {
	Mailbox string // the configured mailbox address exactly as given in mailboxes
	Token   string // lowercase; "" for plain
	Kind    string // "", "customer", "agent", "note"
	Tag     string // lowercase; "" unless agent/note
}

// Address kinds.
const (
	KindPlain    = ""
	KindCustomer = "customer"
	KindAgent    = "agent"
	KindNote     = "note"
)

// ParseRecipient matches a bare addr-spec (optionally in <>) against the
// configured mailboxes, case-insensitively, because some MTAs upper-case
// whole addresses.
func ParseRecipient(addr string, mailboxes []string) (Addr, bool) {
	addr = strings.TrimSpace(addr)
	if len(addr) >= 2 && addr[0] == '<' && addr[len(addr)-1] == '>' {
		addr = strings.TrimSpace(addr[1 : len(addr)-1])
	}
	local, domain, ok := splitAddr(addr)
	if !ok {
		return Addr{}, false
	}
	// Try every mailbox: "soporte+es@x" may be a mailbox of its own and
	// must not be rejected as a malformed token of "soporte@x".
	for _, mb := range mailboxes {
		mlocal, mdomain, ok := splitAddr(strings.TrimSpace(mb))
		if !ok || !strings.EqualFold(domain, mdomain) {
			continue
		}
		if strings.EqualFold(local, mlocal) {
			return Addr{Mailbox: mb}, true
		}
		if len(local) <= len(mlocal)+1 || !strings.EqualFold(local[:len(mlocal)], mlocal) || local[len(mlocal)] != '+' {
			continue
		}
		ext := strings.ToLower(local[len(mlocal)+1:])
		if ValidToken(ext) {
			return Addr{Mailbox: mb, Token: ext, Kind: KindCustomer}, true
		}
		if len(ext) != tokenLen+3+tagLen || !ValidToken(ext[:tokenLen]) || !validTag(ext[tokenLen+3:]) {
			continue
		}
		a := Addr{Mailbox: mb, Token: ext[:tokenLen], Tag: ext[tokenLen+3:]}
		switch ext[tokenLen : tokenLen+3] {
		case "-a-":
			a.Kind = KindAgent
		case "-n-":
			a.Kind = KindNote
		default:
			continue
		}
		return a, true
	}
	return Addr{}, false
}

// splitAddr splits at the last '@'; both sides must be non-empty.
func splitAddr(a string) (local, domain string, ok bool) {
	i := strings.LastIndexByte(a, '@')
	if i <= 0 || i == len(a)-1 {
		return "", "", false
	}
	return a[:i], a[i+1:], true
}

func extAddress(mailbox, ext string) string {
	local, domain, ok := splitAddr(mailbox)
	if !ok {
		// Not an address: return something that is still unambiguous
		// rather than panicking; config validation rejects such mailboxes.
		return mailbox + "+" + ext
	}
	return local + "+" + ext + "@" + domain
}

// CustomerAddress is the reply address a customer writes to for a ticket.
func CustomerAddress(mailbox, token string) string { return extAddress(mailbox, token) }

// AgentAddress is the reply address of one agent for one ticket.
func AgentAddress(mailbox, token, tag string) string {
	return extAddress(mailbox, token+"-a-"+tag)
}

// NoteAddress is the internal-note address of one agent for one ticket.
func NoteAddress(mailbox, token, tag string) string {
	return extAddress(mailbox, token+"-n-"+tag)
}
