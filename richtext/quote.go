package richtext

import (
	"regexp"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/ticketd/ticketd/threading"
)

// How each client marks the history it appends to a reply. Two shapes:
// a container that holds the quote (removed alone, so a bottom-posted
// answer below it stays), and a header that starts the history (removed
// with everything after it: Outlook puts the quoted mail after its header,
// not inside it).
const (
	notQuote = iota
	quoteBlock
	historyStart
)

// reHeaderFrom is the first line of Outlook's header block ("From:",
// "De:", "Von:", "Da:", "Van:" ... in bold).
var reHeaderFrom = regexp.MustCompile(`(?i)^(from|de|von|da|van|od|fra|från|expéditeur)\s*:`)

func quoteKind(n *html.Node) int {
	if n.Type != html.ElementNode {
		return notQuote
	}
	id := attr(n, "id")
	switch {
	// Gmail (and Gmail-like webmails): the attribution and the quote.
	case hasClass(n, "gmail_quote") || hasClass(n, "gmail_quote_container"):
		return quoteBlock
	// Thunderbird: the attribution above its blockquote.
	case hasClass(n, "moz-cite-prefix"):
		return quoteBlock
	// Apple Mail, Thunderbird, and most clients since: <blockquote type=cite>.
	case n.DataAtom == atom.Blockquote && strings.EqualFold(attr(n, "type"), "cite"):
		return quoteBlock
	// Yahoo: <div id="yahoo_quoted_123" class="yahoo_quoted">, or with a
	// "ydp..." prefix.
	case hasClass(n, "yahoo_quoted") || strings.HasPrefix(id, "yahoo_quoted"):
		return quoteBlock
	// Proton Mail and Zoho.
	case hasClass(n, "protonmail_quote") || hasClass(n, "zmail_extra"):
		return quoteBlock
	// Outlook for Mac, and Outlook Express's header.
	case id == "mail-editor-reference-message-container" || hasClass(n, "OutlookMessageHeader"):
		return historyStart
	// Outlook on the web and the new Outlook: the header after <hr>.
	case id == "divRplyFwdMsg" || id == "appendonsend" || strings.HasSuffix(id, "_divRplyFwdMsg") || strings.HasSuffix(id, "_appendonsend"):
		return historyStart
	// Outlook for Windows and Mac: a top border over "From: ... Sent: ...".
	case n.DataAtom == atom.Div && strings.Contains(strings.ToLower(attr(n, "style")), "border-top") &&
		reHeaderFrom.MatchString(firstLine(n)):
		return historyStart
	}
	return notQuote
}

// cutQuotes removes the quoted history from body and reports whether it
// found any. A forwarded mail is content, not history: it stays.
func cutQuotes(body *html.Node) bool {
	var blocks []*html.Node
	var start *html.Node
	walk(body, func(n *html.Node) bool {
		if start != nil {
			return false
		}
		switch quoteKind(n) {
		case quoteBlock:
			forward := threading.IsForwardMarker(firstLine(n)) || forwardAbove(n)
			if !forward || attributionAbove(n) {
				blocks = append(blocks, n) // a reply's quote, even of a forward
			}
			return false
		case historyStart:
			start = n
			return false
		}
		return true
	})
	if len(blocks) == 0 && start == nil {
		start = historyByText(body)
	}
	for _, n := range blocks {
		removeAttributionBefore(n)
		remove(n)
	}
	if start != nil {
		cutFrom(body, start)
	}
	return len(blocks) > 0 || start != nil
}

// historyByText finds history that a client marks with no structure of
// its own (Hotmail, Outlook 2003, Windows Mail, AOL, Zimbra, Yandex,
// Mail.ru): the first element or text whose text starts with what the
// text cut knows as history (an attribution, "-----Original Message-----",
// a "From: ... Sent: ..." block), or "> " quoted lines that run to the end.
func historyByText(body *html.Node) *html.Node {
	var found *html.Node
	seen := 0
	stop := false // below a forward marker all is the forwarded mail
	walk(body, func(n *html.Node) bool {
		if found != nil || stop || seen > 5000 {
			return false
		}
		seen++
		switch {
		case n == body:
			return true
		case n.Type == html.TextNode:
			t := strings.TrimSpace(n.Data)
			switch {
			case t == "":
			case threading.IsForwardMarker(t):
				stop = true
			case startsHistory(lineFrom(n), n):
				found = n
			case strings.HasPrefix(t, ">") && onlyQuotesAfter(body, n):
				found = n
			}
			return false
		case n.Type != html.ElementNode || n.DataAtom == atom.Script || n.DataAtom == atom.Style || n.DataAtom == atom.Head:
			return false
		}
		l := firstLine(n)
		if !isBlock(n) {
			l = lineFrom(n) // "<b>From:</b> a@example.com<br>" is one line
		}
		if l != "" && threading.IsForwardMarker(l) {
			stop = true
			return false
		}
		if l != "" && startsHistory(l, n) {
			found = n
			return false
		}
		return true
	})
	return found
}

// onlyQuotesAfter says that from text node n to the end of body every line
// is quoted ("> ...") or blank: plain-text quoting inside HTML (Hotmail).
func onlyQuotesAfter(body, n *html.Node) bool {
	var sb strings.Builder
	started := false
	walk(body, func(c *html.Node) bool {
		if c == n {
			started = true
		}
		if !started {
			return true
		}
		switch {
		case c.Type == html.TextNode:
			sb.WriteString(flatSpace(c.Data))
		case c.Type == html.ElementNode && (c.DataAtom == atom.Br || isBlock(c)):
			sb.WriteByte('\n')
		case c.Type == html.ElementNode && c.DataAtom == atom.Img:
			sb.WriteString("[image]") // an image below the quote is not quoted
		}
		return true
	})
	for _, l := range strings.Split(sb.String(), "\n") {
		if l = strings.TrimSpace(strings.ReplaceAll(l, "\u00a0", " ")); l != "" && !strings.HasPrefix(l, ">") {
			return false
		}
	}
	return true
}

// lineFrom is the line that starts at n, a text or an inline element: its
// text and that of the inline nodes after it, up to a line break or a
// block.
func lineFrom(n *html.Node) string {
	var sb strings.Builder
	for c := n; c != nil && sb.Len() < maxPatternLine; c = c.NextSibling {
		if c.Type == html.ElementNode && (c.DataAtom == atom.Br || isBlock(c)) {
			break
		}
		if c.Type == html.TextNode {
			sb.WriteString(flatSpace(c.Data))
		} else {
			sb.WriteString(firstLine(c))
		}
	}
	return strings.TrimSpace(sb.String())
}

// maxPatternLine is as long as a line that opens history gets.
const maxPatternLine = 400

// startsHistory says the text from n on, whose first line is line, is
// history. The line alone decides, unless it may open a header block.
func startsHistory(line string, n *html.Node) bool {
	marker, header := threading.HistoryLine(line)
	return marker || header && threading.StartsHistory(textFrom(n))
}

// removeSignature removes the writer's signature, as the text cut does
// below "-- ": Gmail's gmail_signature (and its "-- " prefix), Thunderbird's
// moz-signature, Outlook mobile's, or everything from a "-- " line on.
func removeSignature(body *html.Node) bool {
	var blocks []*html.Node
	var sep *html.Node
	walk(body, func(n *html.Node) bool {
		if sep != nil {
			return false
		}
		switch {
		case n.Type == html.ElementNode && (hasClass(n, "gmail_signature") || hasClass(n, "gmail_signature_prefix") ||
			hasClass(n, "moz-signature") || attr(n, "id") == "ms-outlook-mobile-signature"):
			blocks = append(blocks, n)
			return false
		case n.Type == html.TextNode && isSigSep(n):
			sep = n
		}
		return true
	})
	for _, n := range blocks {
		remove(n)
	}
	if sep != nil {
		cutFrom(body, sep)
	}
	return len(blocks) > 0 || sep != nil
}

// isSigSep tells a "-- " line: a text of its own between line breaks.
func isSigSep(n *html.Node) bool {
	t := strings.TrimRight(strings.ReplaceAll(n.Data, "\u00a0", " "), " \t\r\n")
	t = strings.TrimLeft(t, " \t\r\n")
	if t != "--" && t != "—" && t != "–" {
		return false
	}
	edge := func(s *html.Node) bool {
		return s == nil || s.Type == html.ElementNode && (s.DataAtom == atom.Br || isBlock(s))
	}
	return edge(n.PrevSibling) && edge(n.NextSibling)
}

// forwardAbove says the last line written just above n is a forward
// marker: Apple Mail's "Begin forwarded message:" above the
// <blockquote type=cite> that holds the forwarded mail.
func forwardAbove(n *html.Node) bool {
	p := n.PrevSibling
	for p != nil && blank(p) {
		p = p.PrevSibling
	}
	if p == nil {
		if n.Parent == nil || n.Parent.PrevSibling == nil {
			return false
		}
		return forwardAbove(n.Parent) // <div><br><blockquote ...> in Apple's markup
	}
	lines := strings.Split(strings.TrimSpace(textOf(p)), "\n")
	return threading.IsForwardMarker(lines[len(lines)-1])
}

// attributionAbove says an attribution is written just above n
// (Thunderbird's moz-cite-prefix, or a line such as "On ... wrote:").
func attributionAbove(n *html.Node) bool {
	p := n.PrevSibling
	for p != nil && blank(p) {
		p = p.PrevSibling
	}
	if p == nil {
		return false
	}
	return hasClass(p, "moz-cite-prefix") || threading.IsAttribution(strings.Join(strings.Fields(textOf(p)), " "))
}

// removeAttributionBefore removes an attribution written just above a
// quote instead of inside it (Apple Mail's <div>On ..., X wrote:</div>), so
// none is left without its quote.
func removeAttributionBefore(n *html.Node) {
	p := n.PrevSibling
	for p != nil && blank(p) {
		p = p.PrevSibling
	}
	if p == nil || quoteKind(p) != notQuote {
		return
	}
	if threading.IsAttribution(strings.Join(strings.Fields(textOf(p)), " ")) {
		for q := n.PrevSibling; q != p; {
			prev := q.PrevSibling
			remove(q)
			q = prev
		}
		remove(p)
	}
}

// cutFrom removes n and everything after it in document order, with the
// rule Outlook draws above it.
func cutFrom(body, n *html.Node) {
	for a := n; a != nil && a != body; a = a.Parent {
		for s := a.NextSibling; s != nil; s = a.NextSibling {
			remove(s)
		}
	}
	p := n.PrevSibling
	for p != nil && blank(p) && p.DataAtom != atom.Hr {
		p = p.PrevSibling
	}
	if p != nil && p.DataAtom == atom.Hr {
		remove(p)
	}
	remove(n)
}

// removeCommands removes the agent command lines at the top of the body:
// each first text that starts with "#", up to its line break.
func removeCommands(body *html.Node) {
	for i := 0; i < 64; i++ {
		n := firstText(body)
		if n == nil {
			return
		}
		t := strings.TrimLeft(n.Data, " \t\r\n\u00a0")
		if !strings.HasPrefix(t, "#") {
			return
		}
		if nl := strings.IndexByte(t, '\n'); nl >= 0 && strings.TrimSpace(t[nl:]) != "" {
			n.Data = t[nl+1:] // a <pre> or plain text run: only the line goes
			continue
		}
		next := n.NextSibling
		parent := n.Parent
		remove(n)
		if next != nil && next.DataAtom == atom.Br {
			remove(next)
		}
		// Elements the line leaves empty go too, so no blank line stays.
		for parent != nil && parent != body && blank(parent) {
			up := parent.Parent
			remove(parent)
			parent = up
		}
	}
}

// firstText is the first text node that shows something.
func firstText(n *html.Node) *html.Node {
	var found *html.Node
	walk(n, func(c *html.Node) bool {
		if found != nil {
			return false
		}
		if c.Type == html.ElementNode && (c.DataAtom == atom.Script || c.DataAtom == atom.Style || c.DataAtom == atom.Head) {
			return false
		}
		if c.Type == html.TextNode && !blank(c) {
			found = c
		}
		return found == nil
	})
	return found
}

// reHidden matches inline styles that hide an element.
var reHidden = regexp.MustCompile(`(?i)(^|;)\s*(display\s*:\s*none|visibility\s*:\s*hidden|mso-hide\s*:\s*all)`)

// removeHidden removes what the writer's client did not show (hidden
// preheaders, tracking spans): sanitizing drops the style, which would make
// it appear to the reader.
func removeHidden(body *html.Node) {
	walk(body, func(n *html.Node) bool {
		if n.Type != html.ElementNode {
			return true
		}
		_, hidden := attrOK(n, "hidden")
		if hidden || reHidden.MatchString(attr(n, "style")) {
			remove(n)
			return false
		}
		return true
	})
}

func attrOK(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}
