package threading

import (
	"strings"
	"unicode/utf8"
)

// Cheap tests that run before the line patterns of classify. Each one is a
// necessary condition for its pattern: false means the pattern cannot
// match, true means "run the pattern". They look at bytes only, so they
// must stay sound under the patterns' (?i) case folding. Go folds with
// Unicode simple folding, where the only non-ASCII runes equivalent to an
// ASCII letter are U+017F (ſ, like s) and U+212A (K, like k); the tests
// below never rule a line out because of a non-ASCII byte, so those runes
// (and every other non-ASCII spelling) always reach the pattern.
// TestPrefiltersAreSound checks each test against its pattern.

// byteFlags says which bytes of interest a line holds; one table-driven
// pass replaces a search per byte.
type byteFlags uint8

const (
	flagDigit   byteFlags = 1 << iota // 0-9
	flagAt                            // @
	flagAmp                           // & ("&lt;")
	flagColon                         // :
	flagEF                            // 0xEF, the first byte of '：'
	flagBracket                       // ] ("](")
	flagDash                          // -
	flagY                             // y or Y ("you")
)

var byteFlagTable = func() (t [256]byteFlags) {
	for c := '0'; c <= '9'; c++ {
		t[c] = flagDigit
	}
	t['@'], t['&'], t[':'], t[0xEF], t[']'], t['-'], t['y'], t['Y'] = flagAt, flagAmp, flagColon, flagEF, flagBracket, flagDash, flagY, flagY
	return t
}()

func flagsOf(s string) byteFlags {
	var f byteFlags
	for i := 0; i < len(s); i++ {
		f |= byteFlagTable[s[i]]
	}
	return f
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func isASCIIWord(c byte) bool {
	return isASCIILetter(c) || c >= '0' && c <= '9' || c == '_'
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		c += 'a' - 'A'
	}
	return c
}

// asciiEqualFold compares s with the lowercase ASCII word w, folding only
// ASCII letters.
func asciiEqualFold(s, w string) bool {
	if len(s) != len(w) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isASCIILetter(c) {
			c |= 0x20
		}
		if c != w[i] {
			return false
		}
	}
	return true
}

// asciiWordIn says whether s is one of the lowercase ASCII words ws.
func asciiWordIn(s string, ws []string) bool {
	for _, w := range ws {
		if asciiEqualFold(s, w) {
			return true
		}
	}
	return false
}

// containsYou is strings.Contains(strings.ToLower(s), "you"): no rune but
// Y, O and U lowercases to y, o or u, so only ASCII bytes can form it.
func containsYou(s string) bool {
	lo, up := strings.IndexByte(s, 'y'), strings.IndexByte(s, 'Y')
	for lo >= 0 || up >= 0 {
		var i int
		if up < 0 || lo >= 0 && lo < up {
			i = lo
			if lo = strings.IndexByte(s[i+1:], 'y'); lo >= 0 {
				lo += i + 1
			}
		} else {
			i = up
			if up = strings.IndexByte(s[i+1:], 'Y'); up >= 0 {
				up += i + 1
			}
		}
		if i+2 < len(s) && s[i+1]|0x20 == 'o' && s[i+2]|0x20 == 'u' {
			return true
		}
	}
	return false
}

// trimLeftQuote is strings.TrimLeft(s, " \t>*-") without building a
// cutset on every call.
func trimLeftQuote(s string) string {
	i := 0
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '>', '*', '-':
			i++
			continue
		}
		break
	}
	return s[i:]
}

// trimRightBlank is strings.TrimRight(s, " \t").
func trimRightBlank(s string) string {
	i := len(s)
	for i > 0 && (s[i-1] == ' ' || s[i-1] == '\t') {
		i--
	}
	return s[:i]
}

// endsWithColon is strings.HasSuffix(strings.TrimRight(s, " \t\u00a0"), ":").
func endsWithColon(s string) bool {
	for {
		switch {
		case strings.HasSuffix(s, " ") || strings.HasSuffix(s, "\t"):
			s = s[:len(s)-1]
		case strings.HasSuffix(s, "\u00a0"):
			s = s[:len(s)-len("\u00a0")]
		default:
			return strings.HasSuffix(s, ":")
		}
	}
}

// digitAt reports whether s (with flags f) holds an ASCII digit, and an
// '@' or "&lt;".
func digitAt(s string, f byteFlags) (digit, at bool) {
	return f&flagDigit != 0, f&flagAt != 0 || f&flagAmp != 0 && strings.Contains(s, "&lt;")
}

// isQuoteLine is reQuote (`^[ \t]*([A-Za-z]{1,3})?>`) by hand: blanks, at
// most three ASCII letters (Supercite initials), then '>'.
func isQuoteLine(l string) bool {
	i := 0
	for i < len(l) && (l[i] == ' ' || l[i] == '\t') {
		i++
	}
	j := i
	for j < len(l) && j-i < 3 && isASCIILetter(l[j]) {
		j++
	}
	return j < len(l) && l[j] == '>'
}

// mayBeSigSep: reSigSep starts with '-', '—' or '–' (both 0xE2 0x80 ..).
func mayBeSigSep(l string) bool {
	return l != "" && (l[0] == '-' || l[0] == 0xE2)
}

// mayBeRule: after blanks, reRule needs one of -_=*~+# or '—' (0xE2 ..)
// or 'ᐧ' (0xE1 ..).
func mayBeRule(l string) bool {
	i := 0
	for i < len(l) && (l[i] == ' ' || l[i] == '\t') {
		i++
	}
	if i == len(l) {
		return false
	}
	switch l[i] {
	case '-', '_', '=', '*', '~', '+', '#', 0xE1, 0xE2:
		return true
	}
	return false
}

// mayBeForward: reForward, after [ \t>*], starts with "--" or with a
// phrase (begin, début, inicio, início, inizio, anfang) that ends in ':'.
func mayBeForward(l string, f byteFlags) bool {
	if f&flagColon == 0 && (f&flagDash == 0 || !strings.Contains(l, "--")) {
		return false
	}
	i := 0
	for i < len(l) && (l[i] == ' ' || l[i] == '\t' || l[i] == '>' || l[i] == '*') {
		i++
	}
	if i == len(l) {
		return false
	}
	switch c := l[i]; {
	case c == '-':
		return true
	case isASCIILetter(c):
		switch c | 0x20 {
		case 'b', 'd', 'i', 'a':
			return true
		}
	}
	return false
}

// mayBeOneLineHeader: reOneLineHeader, after [ \t*], starts with from,
// de, von, da or van and holds three ASCII colons.
func mayBeOneLineHeader(l string, f byteFlags) bool {
	if f&flagColon == 0 {
		return false
	}
	i := 0
	for i < len(l) && (l[i] == ' ' || l[i] == '\t' || l[i] == '*') {
		i++
	}
	if i == len(l) {
		return false
	}
	switch c := l[i]; {
	case isASCIILetter(c):
		switch c | 0x20 {
		case 'f', 'd', 'v':
			// Three headers, three colons.
			return strings.Count(l[i:], ":") >= 3
		}
	}
	return false
}

// maxHeaderName bounds the bytes of a header name reHeader can match: its
// longest name ("beantwoorden - aan") has 18 runes of at most
// utf8.UTFMax bytes.
const maxHeaderName = 18 * utf8.UTFMax

// mayBeHeader: reHeader is `^[ \t*>]*NAME[ \t*]*[:：]...` and no NAME
// holds a colon, so its colon is the first one of the line and what
// precedes it, trimmed, is the NAME.
func mayBeHeader(l string, f byteFlags) bool {
	if f&(flagColon|flagEF) == 0 {
		return false
	}
	c := strings.IndexByte(l, ':')
	w := -1
	if c < 0 {
		w = strings.Index(l, "：")
	} else {
		w = strings.Index(l[:c], "：")
	}
	if w >= 0 {
		c = w
	}
	if c < 0 {
		return false
	}
	name := strings.TrimRight(strings.TrimLeft(l[:c], " \t*>"), " \t*")
	return name != "" && len(name) <= maxHeaderName
}

// mayBeMobileSig: reMobile is anchored after [ \t]*[(<]*[ \t]* and each
// of its phrases starts with one word followed by a space ("sent ",
// "from ", "<word> from my mobile", ...) or with a non-ASCII rune. A
// Markdown link ("](") can move text to the start, so it always passes.
func mayBeMobileSig(l string, f byteFlags) bool {
	if f&flagBracket != 0 && strings.Contains(l, "](") {
		return true
	}
	i := 0
	for i < len(l) && (l[i] == ' ' || l[i] == '\t' || l[i] == '(' || l[i] == '<') {
		i++
	}
	t := l[i:]
	j := 0
	for j < len(t) && isASCIIWord(t[j]) {
		j++
	}
	if j == len(t) {
		return false // nothing, or one ASCII word and no space
	}
	if t[j] >= utf8.RuneSelf {
		return true // é, ł, ſ, Cyrillic, CJK...: let the pattern decide
	}
	if j == 0 || t[j] != ' ' {
		return false
	}
	if asciiWordIn(t[:j], mobileFirstWords) {
		return true
	}
	// `\w+ from (my )?mobile`
	r := t[j:]
	return len(r) >= 6 && asciiEqualFold(r[1:5], "from") && r[5] == ' '
}

// mobileFirstWords are the ASCII first words of reMobile's phrases.
var mobileFirstWords = []string{"sent", "get", "from", "envoye", "enviado", "inviato", "von", "gesendet",
	"diese", "verzonden", "verstuurd", "sendt", "skickat"}

// attrOpenerWords are the ASCII first words of reAttrOpener's openers.
var attrOpenerWords = []string{"on", "at", "el", "le", "em", "il", "am", "op", "den", "dnia", "w", "in", "a"}

// isAttrOpener is reAttrOpener.MatchString(s), asked only when the first
// word of s is one of its openers (or not plain ASCII).
func isAttrOpener(s string) bool {
	if s == "" {
		return false
	}
	if s[0] < utf8.RuneSelf {
		j := 0
		for j < len(s) && isASCIILetter(s[j]) {
			j++
		}
		if j == 0 {
			return false
		}
		if (j == len(s) || s[j] < utf8.RuneSelf) && !asciiWordIn(s[:j], attrOpenerWords) {
			return false
		}
	}
	return reAttrOpener.MatchString(s)
}
