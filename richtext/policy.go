package richtext

import (
	"regexp"
	"sync"

	"github.com/microcosm-cc/bluemonday"
)

// policy is what a relayed HTML body may hold: formatting, lists, links,
// tables and images shown from the mail itself (cid:). Scripts, event
// handlers, forms, styles that can hide text and anything loaded from
// elsewhere go.
var policy = sync.OnceValue(func() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowStandardURLs()      // http, https, mailto; parseable
	p.AllowRelativeURLs(false) // nothing to be relative to in a mail
	p.AllowURLSchemes("cid")
	p.RequireNoFollowOnLinks(false)
	p.AllowAttrs("href").OnElements("a")
	p.AllowAttrs("title").OnElements("a", "abbr")
	p.AllowElements("p", "div", "span", "br", "hr", "b", "strong", "i", "em", "u", "s", "strike", "del", "ins",
		"sub", "sup", "small", "big", "mark", "code", "pre", "kbd", "samp", "tt", "blockquote", "q", "cite",
		"h1", "h2", "h3", "h4", "h5", "h6", "abbr", "center", "font", "caption", "colgroup", "col")
	p.AllowLists()
	p.AllowTables()
	p.AllowAttrs("align").OnElements("p", "div", "td", "th", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6")
	p.AllowAttrs("color").Matching(reColor).OnElements("font")
	// Styles that format; display, visibility, position, opacity and
	// font sizes (which can all hide text) are not among them.
	p.AllowStyles("color", "background-color", "font-weight", "font-style", "text-decoration", "text-align").Globally()
	// Images only from the mail's own parts: a remote image is a tracker.
	p.AllowAttrs("src").Matching(reCIDURL).OnElements("img")
	p.AllowAttrs("alt", "title").OnElements("img")
	p.AllowAttrs("width", "height").Matching(bluemonday.NumberOrPercent).OnElements("img", "td", "th", "table", "col")
	return p
})

var (
	reCIDURL = regexp.MustCompile(`^cid:[^\s"'<>]+$`)
	reColor  = regexp.MustCompile(`^(#[0-9a-fA-F]{3,6}|[a-zA-Z]{3,20})$`)
)
