package web

import (
	"net/url"
	"regexp"
	"strings"
)

// segment is a piece of a message's text: plain, or a web address shown as
// a link.
type segment struct {
	Text string
	URL  string // "" for plain text
}

// webAddr matches http and https addresses in running text; nothing else
// ever becomes a link.
var webAddr = regexp.MustCompile(`https?://[^\s<>"'` + "`" + `]+`)

// linkify splits text into plain runs and http(s) links. Punctuation that
// ends a sentence is left out of the link.
func linkify(text string) []segment {
	var out []segment
	last := 0
	for _, m := range webAddr.FindAllStringIndex(text, -1) {
		start, end := m[0], trimURLEnd(text[m[0]:m[1]])+m[0]
		u, err := url.Parse(text[start:end])
		if err != nil || u.Hostname() == "" || (u.Scheme != "http" && u.Scheme != "https") {
			continue
		}
		if start > last {
			out = append(out, segment{Text: text[last:start]})
		}
		out = append(out, segment{Text: text[start:end], URL: u.String()})
		last = end
	}
	if last < len(text) {
		out = append(out, segment{Text: text[last:]})
	}
	return out
}

// trimURLEnd returns the length of s without trailing punctuation; a closing
// parenthesis stays when the address opened one (Wikipedia-style links).
func trimURLEnd(s string) int {
	for len(s) > 0 {
		c := s[len(s)-1]
		switch {
		case strings.IndexByte(".,;:!?»]}", c) >= 0:
		case c == ')' && strings.Count(s, "(") < strings.Count(s, ")"):
		default:
			return len(s)
		}
		s = s[:len(s)-1]
	}
	return 0
}
