package message

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/jhillyerd/enmime/v2/mediatype"
)

// enmime's boundary reader costs time in proportion to the bytes of a mail
// times how deeply they are nested (each level re-reads what is inside
// it), and it builds a part, with its own buffers, for every delimiter it
// meets. A mail of 14,500 nested multiparts in 1 MB took it 88 s and half
// a gigabyte. So before enmime sees a mail, one linear pass over its lines
// measures the structure enmime would build, and a mail past these bounds
// is not parsed: it is stored as received and shown as too complex.
//
// Transfer decoding never grows a part (base64, quoted-printable and TNEF
// all decode to fewer bytes than they take) and conversion to UTF-8 at
// most triples it (UTF-16 text), so the decoded size of all parts is
// bounded by the size of the mail, which MaxDecodedBytes bounds too.
const (
	// MaxDepth is the deepest nesting of multiparts parsed. Real mail
	// rarely goes past 4 (mixed > related > alternative > text).
	MaxDepth = 10
	// MaxParts is the most MIME parts (and declared boundaries) parsed.
	MaxParts = 500
	// MaxNestedBytes bounds the parse's work: each line's bytes times its
	// nesting depth, summed: a 25 MB attachment two levels deep is 50 M.
	MaxNestedBytes = 64 << 20
	// MaxDecodedBytes bounds the total size of what is parsed.
	MaxDecodedBytes = 64 << 20
	// MaxTNEFRecords and MaxTNEFFiles bound what is read of one TNEF
	// container (winmail.dat); past them the container itself is kept as
	// an attachment beside the files read so far, so nothing is lost.
	MaxTNEFRecords = 5000
	MaxTNEFFiles   = 100
)

var errTNEFTooLarge = fmt.Errorf("TNEF container has more than %d records or %d files; the rest is only in the container itself", MaxTNEFRecords, MaxTNEFFiles)

// withContent drops TNEF entries with neither a name nor bytes: a record
// that starts an attachment and nothing else is no file.
func withContent(files []tnefFile) []tnefFile {
	out := files[:0]
	for _, f := range files {
		if f.name != "" || len(f.data) > 0 {
			out = append(out, f)
		}
	}
	return out
}

// TooComplexText is what a mail past the bounds shows instead of its text.
const TooComplexText = "[This message is too complex to display (its MIME structure is beyond ticketd's limits). The original is kept unchanged.]"

// structure is what the pre-scan measured.
type structure struct {
	depth, parts, boundaries int
	nested                   int64
}

// tooComplex returns why raw is beyond the bounds, or "" when enmime may
// parse it. It never fails: anything it cannot read is enmime's to judge.
//
// It over-counts rather than under-counts: a delimiter line is any line
// that starts with "--" and a boundary declared anywhere before it (enmime
// matches boundaries the same way), and a boundary met for the first time
// opens a level.
func tooComplex(raw []byte) string {
	if len(raw) > MaxDecodedBytes {
		return fmt.Sprintf("%d bytes, more than %d", len(raw), MaxDecodedBytes)
	}
	var st structure
	// Boundaries by their first word, so a line is checked against the
	// few that could match it.
	known := map[string][]string{}
	declare := func(b string) bool {
		k := firstWord(b)
		if contains(known[k], b) {
			return true
		}
		known[k] = append(known[k], b)
		st.boundaries++
		return st.boundaries <= MaxParts
	}
	// A Content-Type field (with its folded lines) is read by enmime's own
	// media type parser, with all its repairs and RFC 2231 continuations,
	// so that no spelling of a boundary enmime understands is missed; a
	// "boundary=" anywhere else counts too.
	var ctype []byte
	ctypes := 0
	var stack []string
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i+1], raw[i+1:]
		} else {
			raw = nil
		}
		st.nested += int64(len(line)) * int64(max(len(stack), 1))
		if st.nested > MaxNestedBytes {
			return fmt.Sprintf("nested size over %d bytes", MaxNestedBytes)
		}
		if ctype != nil && len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			ctype = append(ctype, bytes.TrimRight(line, "\r\n")...)
			continue
		}
		if ctype != nil {
			if b := mediaBoundary(string(ctype)); b != "" && !declare(b) {
				return fmt.Sprintf("more than %d boundaries", MaxParts)
			}
			ctype = nil
		}
		if v, ok := contentTypeField(line); ok {
			if ctypes++; ctypes > 2*MaxParts {
				return fmt.Sprintf("more than %d Content-Type fields", 2*MaxParts)
			}
			ctype = append([]byte{}, bytes.TrimRight(v, "\r\n")...)
		}
		if b, ok := declaredBoundary(line); ok && !declare(b) {
			return fmt.Sprintf("more than %d boundaries", MaxParts)
		}
		if !bytes.HasPrefix(line, []byte("--")) || len(known) == 0 {
			continue
		}
		rest := string(line[2:])
		b, closing := matchBoundary(known[firstWord(rest)], rest)
		if b == "" {
			continue
		}
		at := -1
		for i := len(stack) - 1; i >= 0; i-- {
			if stack[i] == b {
				at = i
				break
			}
		}
		switch {
		case closing && at >= 0:
			stack = stack[:at]
		case closing:
		case at >= 0:
			stack = stack[:at+1]
			st.parts++
		default:
			stack = append(stack, b)
			st.parts++
			st.depth = max(st.depth, len(stack))
		}
		if st.depth > MaxDepth {
			return fmt.Sprintf("multiparts nested more than %d deep", MaxDepth)
		}
		if st.parts > MaxParts {
			return fmt.Sprintf("more than %d parts", MaxParts)
		}
	}
	return ""
}

// contentTypeField returns the value of a Content-Type header line.
func contentTypeField(line []byte) ([]byte, bool) {
	if !hasPrefixFold(line, "content-type") {
		return nil, false
	}
	rest := bytes.TrimLeft(line[len("content-type"):], " \t")
	if len(rest) == 0 || rest[0] != ':' {
		return nil, false
	}
	return rest[1:], true
}

// mediaBoundary is the boundary enmime finds in a Content-Type value.
func mediaBoundary(v string) string {
	_, params, _, _ := mediatype.Parse(strings.TrimSpace(v))
	return params["boundary"]
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && bytes.EqualFold(b[:len(prefix)], []byte(prefix))
}

// declaredBoundary finds a boundary parameter on a header line (or a
// folded continuation of one).
func declaredBoundary(line []byte) (string, bool) {
	i := indexFold(line, "boundary")
	if i < 0 {
		return "", false
	}
	v := bytes.TrimLeft(line[i+len("boundary"):], " \t")
	if len(v) == 0 || v[0] != '=' {
		return "", false
	}
	v = bytes.TrimLeft(v[1:], " \t")
	if len(v) > 0 && v[0] == '"' {
		v = v[1:]
		if j := bytes.IndexByte(v, '"'); j >= 0 {
			v = v[:j]
		}
	} else if j := bytes.IndexAny(v, "; \t\r\n"); j >= 0 {
		v = v[:j]
	}
	v = bytes.TrimRight(v, " \t\r\n")
	if len(v) == 0 {
		return "", false
	}
	return string(v), true
}

// matchBoundary tells which of cands starts rest as a delimiter (followed
// by white space) or a close delimiter (followed by "--").
func matchBoundary(cands []string, rest string) (b string, closing bool) {
	for _, c := range cands {
		after, ok := strings.CutPrefix(rest, c)
		if !ok {
			continue
		}
		if strings.HasPrefix(after, "--") {
			return c, true
		}
		if after == "" || after[0] == ' ' || after[0] == '\t' || after[0] == '\r' || after[0] == '\n' {
			return c, false
		}
	}
	return "", false
}

func firstWord(s string) string {
	if i := strings.IndexAny(s, " \t\r\n"); i >= 0 {
		s = s[:i]
	}
	// A close delimiter's "--" is not part of the word to look up, and a
	// boundary may end in "-" itself: the key is at most 8 bytes without
	// trailing dashes, the same for a boundary and its delimiters.
	if len(s) > 8 {
		s = s[:8]
	}
	return strings.TrimRight(s, "-")
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// indexFold is bytes.Index ignoring ASCII case, for a lowercase needle.
func indexFold(s []byte, needle string) int {
	n := len(needle)
	for i := 0; i+n <= len(s); i++ {
		c := s[i] | 0x20
		if c != needle[0] {
			continue
		}
		j := 1
		for ; j < n; j++ {
			if s[i+j]|0x20 != needle[j] {
				break
			}
		}
		if j == n {
			return i
		}
	}
	return -1
}

// parseTooComplex is what Parse returns for a mail past the bounds: its
// header fields as net/mail reads them, no attachments, and a text that
// says so. The raw bytes are stored unchanged by the caller.
func parseTooComplex(raw []byte, why string) *Parsed {
	p := &Parsed{Header: map[string][]string{}}
	head := raw
	if i := bytes.Index(raw, []byte("\n\n")); i >= 0 {
		head = raw[:i+2]
	}
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 && i+4 <= len(head) {
		head = raw[:i+4]
	}
	fallback(p, head)
	p.Text = TooComplexText
	p.Problems = append(p.Problems, "MIME structure too complex to display: "+why)
	return p
}
