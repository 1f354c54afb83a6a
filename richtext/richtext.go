// Package richtext makes the HTML body of a mail fit to pass on: the quoted
// history that mail clients append is cut by its structure (Gmail's
// gmail_quote, Outlook's divRplyFwdMsg and border-top header, Apple Mail's
// and Thunderbird's blockquote type=cite and moz-cite-prefix, Yahoo's
// yahoo_quoted), agent command lines are removed, and what is left is
// sanitized with bluemonday. The plain text alternative is derived from the
// same result, so both parts of a relayed mail say the same.
package richtext

import (
	"bytes"
	"regexp"
	"strings"

	"github.com/inbucket/html2text"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Body is an HTML body made ready to pass on.
type Body struct {
	HTML string   // a sanitized fragment: the content of the body element
	Text string   // the same content as plain text
	CIDs []string // the Content-IDs its images show, in order, without "cid:"
	Cut  bool     // a quote block of a known client was removed
}

// Options say what Prepare does beside sanitizing.
type Options struct {
	KeepQuote bool // pass the history on (a cut that was not trusted)
	Commands  bool // remove the agent command lines (#close, ...) at the top
}

// Prepare cuts, cleans and sanitizes src, a whole HTML document or a
// fragment.
func Prepare(src string, opt Options) Body {
	doc, err := html.Parse(strings.NewReader(src))
	if err != nil {
		return Body{} // x/net/html only fails on reader errors
	}
	body := findBody(doc)
	var b Body
	removeHidden(body)
	if !opt.KeepQuote {
		b.Cut = cutQuotes(body)
		removeSignature(body)
	}
	if opt.Commands {
		removeCommands(body)
	}
	trimEdges(body)
	var buf bytes.Buffer
	for c := body.FirstChild; c != nil; c = c.NextSibling {
		html.Render(&buf, c)
	}
	b.HTML = strings.TrimSpace(policy().Sanitize(buf.String()))
	if txt, err := html2text.FromString(b.HTML); err == nil {
		b.Text = strings.TrimSpace(txt)
	}
	for _, m := range reCID.FindAllStringSubmatch(b.HTML, -1) {
		b.CIDs = append(b.CIDs, html.UnescapeString(m[1]))
	}
	return b
}

var reCID = regexp.MustCompile(`<img[^>]*\ssrc="cid:([^"]+)"`)

func findBody(doc *html.Node) *html.Node {
	var found *html.Node
	walk(doc, func(n *html.Node) bool {
		if found == nil && n.Type == html.ElementNode && n.DataAtom == atom.Body {
			found = n
		}
		return found == nil
	})
	if found == nil {
		return doc
	}
	return found
}

// walk visits n and its descendants in document order while fn returns
// true for the node (false skips its children).
func walk(n *html.Node, fn func(*html.Node) bool) {
	if !fn(n) {
		return
	}
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling // fn may remove c
		walk(c, fn)
		c = next
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// hasClass tells whether n has class, also under the prefixes clients add
// when they quote another client's mail: Outlook's "x_gmail_quote",
// Yahoo's "ydp3f8e2a1cyahoo_quoted".
func hasClass(n *html.Node, class string) bool {
	for _, c := range strings.Fields(attr(n, "class")) {
		if c == class || strings.HasSuffix(c, "_"+class) || strings.HasPrefix(c, "ydp") && strings.HasSuffix(c, class) {
			return true
		}
	}
	return false
}

// textOf is the text of n with a line break at each <br> and block; line
// breaks inside text are white space, as a browser shows them.
func textOf(n *html.Node) string {
	var sb strings.Builder
	writeText(&sb, n, maxText)
	return sb.String()
}

// maxText bounds the text read to decide where history starts: markers and
// header blocks are short.
const maxText = 8 << 10

func writeText(sb *strings.Builder, n *html.Node, limit int) {
	walk(n, func(c *html.Node) bool {
		if sb.Len() > limit {
			return false
		}
		switch {
		case c.Type == html.TextNode:
			sb.WriteString(flatSpace(c.Data))
		case c.Type == html.ElementNode && (c.DataAtom == atom.Br || isBlock(c)):
			sb.WriteByte('\n')
		case c.Type == html.ElementNode && (c.DataAtom == atom.Script || c.DataAtom == atom.Style):
			return false
		}
		return true
	})
}

// textFrom is the text of n and of the siblings after it.
func textFrom(n *html.Node) string {
	var sb strings.Builder
	for c := n; c != nil && sb.Len() <= maxText; c = c.NextSibling {
		writeText(&sb, c, maxText)
	}
	return sb.String()
}

func flatSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, s)
}

// firstLine is the first line of n's text that is not blank.
// It stops reading at the end of that line, so asking it of every element
// of a long mail stays cheap.
func firstLine(n *html.Node) string {
	var sb strings.Builder
	done := false
	clean := func() string { return strings.TrimSpace(strings.Trim(sb.String(), " \t\u00a0>")) }
	walk(n, func(c *html.Node) bool {
		if done {
			return false
		}
		switch {
		case c.Type == html.TextNode:
			sb.WriteString(flatSpace(c.Data))
		case c.Type == html.ElementNode && (c.DataAtom == atom.Br || isBlock(c)):
			if clean() != "" {
				done = true
				return false
			}
			sb.Reset()
		case c.Type == html.ElementNode && (c.DataAtom == atom.Script || c.DataAtom == atom.Style):
			return false
		}
		return true
	})
	return clean()
}

func isBlock(n *html.Node) bool {
	switch n.DataAtom {
	case atom.P, atom.Div, atom.Blockquote, atom.Li, atom.Ul, atom.Ol, atom.Table, atom.Tr,
		atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Pre, atom.Hr:
		return true
	}
	return false
}

func remove(n *html.Node) {
	if n.Parent != nil {
		n.Parent.RemoveChild(n)
	}
}

// blank tells a node that shows nothing: white space, <br>, and elements
// holding only those (an image is something).
func blank(n *html.Node) bool {
	switch n.Type {
	case html.TextNode:
		return strings.TrimSpace(strings.ReplaceAll(n.Data, "\u00a0", " ")) == ""
	case html.CommentNode:
		return true
	case html.ElementNode:
		switch n.DataAtom {
		case atom.Img, atom.Hr, atom.Table:
			return false
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if !blank(c) {
				return false
			}
		}
		return true
	}
	return false
}

// trimEdges removes blank nodes at the start and end of n, where a cut or
// removed commands leave empty lines behind.
func trimEdges(n *html.Node) {
	trimStart(n)
	trimEnd(n)
}

func trimStart(n *html.Node) {
	for c := n.FirstChild; c != nil && blank(c); c = n.FirstChild {
		remove(c)
	}
	if c := n.FirstChild; c != nil && c.Type == html.ElementNode && isBlock(c) {
		trimStart(c)
	}
}

func trimEnd(n *html.Node) {
	for c := n.LastChild; c != nil && blank(c); c = n.LastChild {
		remove(c)
	}
	if c := n.LastChild; c != nil && c.Type == html.ElementNode && isBlock(c) {
		trimEnd(c)
	}
}

// reAnyCID finds the cid: references of an HTML source before any cut.
var reAnyCID = regexp.MustCompile(`(?i)src\s*=\s*["']?cid:([^"'\s>]+)`)

// References lists the Content-IDs src shows anywhere, the quoted history
// included: an inline image that src shows but Prepare's result does not
// was in the history that was cut.
func References(src string) []string {
	var out []string
	for _, m := range reAnyCID.FindAllStringSubmatch(src, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// Visible returns src without what its writer's client did not show
// (elements hidden by their style or the hidden attribute), unsanitized:
// the text a reader saw is read from it (agent commands must come only
// from what the agent saw).
func Visible(src string) string {
	doc, err := html.Parse(strings.NewReader(src))
	if err != nil {
		return src
	}
	removeHidden(findBody(doc))
	var buf bytes.Buffer
	if err := html.Render(&buf, doc); err != nil {
		return src
	}
	return buf.String()
}
