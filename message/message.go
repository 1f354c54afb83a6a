// Package message reads a raw mail into what ticketd needs of it: addresses,
// threading headers, the text, and the attachments. It is lenient: anything
// that has a header section yields a Parsed, with what could not be read
// noted in Problems, because a malformed mail must still be stored and shown.
package message

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/inbucket/html2text"
	"github.com/ticketd/ticketd/richtext"

	"github.com/jhillyerd/enmime/v2"
	"github.com/jhillyerd/enmime/v2/mediatype"
)

// ErrNotMail reports input that is not a mail at all: empty, or without a
// header section.
var ErrNotMail = errors.New("input is not a mail message (no header section)")

// Address is a parsed mailbox.
type Address struct {
	Name string
	Addr string // lowercased domain, local part as sent
}

// Part is an attachment (or inline non-text part) of a message.
type Part struct {
	Index       int // the part's number, stable across parses of the same bytes (see Attachment)
	Filename    string
	ContentType string
	ContentID   string // without <>; what the HTML's "cid:" URLs name
	Inline      bool   // shown inside the body (a pasted image), not attached
	Content     []byte

	body bool // a text body marked inline: not an attachment (see isBodyPart)
}

// Parsed is what ticketd keeps of a mail.
type Parsed struct {
	From        Address
	ReplyTo     []Address
	To, Cc      []Address
	Subject     string
	MessageID   string // without <>
	InReplyTo   string // raw header value
	References  string // raw header value
	Date        time.Time
	Header      map[string][]string // canonical keys, values decoded where RFC 2047 allowed
	Text        string              // the plain text (HTML converted when there is no text part), format=flowed decoded
	HTML        string              // the HTML body as sent, "" when there is none
	Attachments []Part
	Problems    []string // what could not be read, for the record
}

// fast parses with the declared charset; detection costs most of a parse
// and is only needed where the declared one is missing or wrong.
var (
	fast = enmime.NewParser(enmime.DisableCharacterDetection(true), enmime.SetCustomParseMediaType(utf8Default))
	slow = enmime.NewParser()
)

// utf8Default reads a text part without a declared charset (or declared
// US-ASCII) as UTF-8, what
// nearly every client sends today; charset detection mistakes short UTF-8
// text for Latin-1. Bytes that are not UTF-8 send Parse to the slow path.
func utf8Default(ctype string) (string, map[string]string, []string, error) {
	mt, params, invalid, err := mediatype.Parse(ctype)
	// US-ASCII is a subset of UTF-8, and 8-bit text declared as ASCII is
	// UTF-8 in practice.
	cs := strings.ToLower(strings.Trim(params["charset"], `"' `))
	if err == nil && strings.HasPrefix(mt, "text/") && (cs == "" || cs == "us-ascii" || cs == "ascii") {
		if params == nil {
			params = map[string]string{}
		}
		params["charset"] = "utf-8"
	}
	return mt, params, invalid, err
}

var utf8BOM = []byte("\xef\xbb\xbf")

// LooksLikeMail tells whether raw has a header section: the first line is a
// header field (or a mbox "From " line).
func LooksLikeMail(raw []byte) bool {
	// Stray white space before the first field is a broken mail, still a mail.
	raw = bytes.TrimLeft(bytes.TrimPrefix(raw, utf8BOM), " \t\r\n")
	if len(raw) == 0 {
		return false
	}
	line := raw
	if i := bytes.IndexByte(raw, '\n'); i >= 0 {
		line = raw[:i]
	}
	if bytes.HasPrefix(line, []byte("From ")) {
		return true
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return false
	}
	for _, c := range line[:colon] {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// Parse reads raw. It fails only with ErrNotMail.
func Parse(raw []byte) (*Parsed, error) {
	if !LooksLikeMail(raw) {
		return nil, ErrNotMail
	}
	// A file saved by an editor may start with a byte order mark, a
	// broken one with white space before its first field.
	raw = withLineFeeds(bytes.TrimLeft(bytes.TrimPrefix(raw, utf8BOM), " \t"))
	if why := tooComplex(raw); why != "" {
		return parseTooComplex(raw, why), nil
	}
	env, err := fast.ReadEnvelope(bytes.NewReader(withDefaultCharset(raw)))
	if err == nil && needsDetection(env) {
		if env2, err2 := slow.ReadEnvelope(bytes.NewReader(raw)); err2 == nil {
			env = env2
		}
	}
	p := &Parsed{Header: map[string][]string{}}
	if err != nil {
		// enmime gave up: keep what net/mail can read and show the body as text.
		p.Problems = append(p.Problems, "MIME structure unreadable: "+err.Error())
		fallback(p, raw)
		return p, nil
	}
	for _, k := range env.GetHeaderKeys() {
		p.Header[k] = env.GetHeaderValues(k)
	}
	p.Subject = oneLine(env.GetHeader("Subject"))
	p.MessageID = strings.Trim(strings.TrimSpace(env.GetHeader("Message-Id")), "<>")
	p.InReplyTo = env.GetHeader("In-Reply-To")
	p.References = env.GetHeader("References")
	if d, err := mail.ParseDate(env.GetHeader("Date")); err == nil {
		p.Date = d
	}
	p.From = first(addrs(env, "From"))
	p.ReplyTo = addrs(env, "Reply-To")
	p.To = addrs(env, "To")
	p.Cc = addrs(env, "Cc")
	// enmime converts HTML to text itself when a mail has no text part;
	// then the text is read again from what the writer's client showed, so
	// nothing hidden (display:none, say) counts as written.
	p.Text = bodyText(env)
	if textBodyPart(env) == nil && env.HTML != "" {
		if txt, err := html2text.FromString(richtext.Visible(env.HTML)); err == nil {
			p.Text = txt
		}
	}
	if strings.TrimSpace(p.Text) == "" && len(attachmentParts(env)) == 0 {
		// A broken structure (a boundary that never appears) hides the
		// body from the MIME parser; show the body as it was sent.
		p.Text = rawBody(raw)
		if p.Text != "" {
			p.Problems = append(p.Problems, "body shown as received: no readable MIME part")
		}
	}
	p.Text = strings.ToValidUTF8(unflow(env, strings.ReplaceAll(p.Text, "\r\n", "\n")), "\uFFFD")
	p.HTML = strings.ToValidUTF8(bodyHTML(env), "\uFFFD")
	files := 0 // parts that are not bodies, for names
	for i, part := range attachmentParts(env) {
		ct := part.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		body := isBodyPart(env, part)
		if !body {
			files++
		}
		name := part.FileName
		if name == "" {
			name = fmt.Sprintf("part-%d", files)
		}
		p.Attachments = append(p.Attachments, Part{Index: i, Filename: name, ContentType: ct, Content: part.Content,
			ContentID: strings.Trim(strings.TrimSpace(part.ContentID), "<>"), Inline: isInline(part), body: body})
	}
	var tnefProblems []string
	p.Attachments, tnefProblems = unpackTNEF(p.Attachments)
	p.Problems = append(p.Problems, tnefProblems...)
	p.Attachments = withoutBodies(p.Attachments)
	for _, e := range env.Errors {
		p.Problems = append(p.Problems, e.Error())
	}
	return p, nil
}

// attachmentParts is the one definition of which parts are attachments and
// in which order, shared by intake (metadata) and readers of the bytes.
func attachmentParts(env *enmime.Envelope) []*enmime.Part {
	var out []*enmime.Part
	out = append(out, env.Attachments...)
	out = append(out, env.Inlines...)
	for _, p := range env.OtherParts {
		if !strings.HasPrefix(p.ContentType, "multipart/") && len(p.Content) > 0 {
			out = append(out, p)
		}
	}
	return out
}

// Attachment returns attachment idx of raw, as Parse numbered it.
func Attachment(raw []byte, idx int) (*Part, error) {
	p, err := Parse(raw)
	if err != nil {
		return nil, err
	}
	for i := range p.Attachments {
		if p.Attachments[i].Index == idx {
			return &p.Attachments[i], nil
		}
	}
	return nil, fmt.Errorf("message: no attachment %d", idx)
}

// withoutBodies drops the text bodies from the attachments. The others keep
// their Index, so attachments stored before bodies were told apart still
// name the same bytes.
func withoutBodies(parts []Part) []Part {
	out := parts[:0]
	for _, p := range parts {
		if !p.body {
			out = append(out, p)
		}
	}
	return out
}

// replacementChar is U+FFFD as UTF-8: bytes.Contains finds it with the
// vectorised substring search, where ContainsRune walks a text with many
// accented letters byte by byte.
var replacementChar = []byte(string(utf8.RuneError))

func needsDetection(env *enmime.Envelope) bool {
	var check func(p *enmime.Part) bool
	check = func(p *enmime.Part) bool {
		if p == nil {
			return false
		}
		if (strings.HasPrefix(p.ContentType, "text/") || p.ContentType == "") &&
			(!utf8.Valid(p.Content) || bytes.Contains(p.Content, replacementChar)) {
			return true
		}
		return check(p.FirstChild) || check(p.NextSibling)
	}
	return check(env.Root)
}

func addrs(env *enmime.Envelope, key string) []Address {
	list, err := env.AddressList(key)
	if err != nil || len(list) == 0 {
		// A broken list still often holds one usable address.
		v := env.GetHeader(key)
		if a, err := mail.ParseAddress(v); err == nil {
			list = []*mail.Address{a}
		} else {
			return nil
		}
	}
	out := make([]Address, 0, len(list))
	for _, a := range list {
		out = append(out, Address{Name: oneLine(a.Name), Addr: normAddr(a.Address)})
	}
	return out
}

func first(as []Address) Address {
	if len(as) == 0 {
		return Address{}
	}
	return as[0]
}

// normAddr lowercases the domain; local parts are case-sensitive in theory,
// but ticketd compares them case-insensitively everywhere.
func normAddr(a string) string {
	a = strings.TrimSpace(strings.Trim(strings.TrimSpace(a), "<>"))
	return strings.ToLower(a)
}

// oneLine removes line breaks, so a header value can never carry another header.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

func fallback(p *Parsed, raw []byte) {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		p.Text = strings.ToValidUTF8(string(raw), "\uFFFD")
		return
	}
	dec := new(mime.WordDecoder)
	for k, v := range m.Header {
		p.Header[k] = v
	}
	p.Subject = oneLine(decodeHeader(dec, m.Header.Get("Subject")))
	p.MessageID = strings.Trim(strings.TrimSpace(m.Header.Get("Message-Id")), "<>")
	p.InReplyTo = m.Header.Get("In-Reply-To")
	p.References = m.Header.Get("References")
	if d, err := m.Header.Date(); err == nil {
		p.Date = d
	}
	conv := func(l []*mail.Address) []Address {
		var out []Address
		for _, a := range l {
			out = append(out, Address{Name: oneLine(a.Name), Addr: normAddr(a.Address)})
		}
		return out
	}
	if l, err := m.Header.AddressList("From"); err == nil {
		p.From = first(conv(l))
	}
	if l, err := m.Header.AddressList("To"); err == nil {
		p.To = conv(l)
	}
	if l, err := m.Header.AddressList("Cc"); err == nil {
		p.Cc = conv(l)
	}
	if l, err := m.Header.AddressList("Reply-To"); err == nil {
		p.ReplyTo = conv(l)
	}
	var body bytes.Buffer
	body.ReadFrom(m.Body)
	p.Text = strings.ToValidUTF8(strings.ReplaceAll(body.String(), "\r\n", "\n"), "\uFFFD")
}

func decodeHeader(dec *mime.WordDecoder, v string) string {
	if d, err := dec.DecodeHeader(v); err == nil {
		return d
	}
	return v
}

// rawBody is everything after the header section, as text.
func rawBody(raw []byte) string {
	i := bytes.Index(raw, []byte("\r\n\r\n"))
	j := bytes.Index(raw, []byte("\n\n"))
	switch {
	case i >= 0 && (j < 0 || i < j):
		raw = raw[i+4:]
	case j >= 0:
		raw = raw[j+2:]
	default:
		return ""
	}
	return strings.TrimSpace(strings.ToValidUTF8(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\uFFFD"))
}

// withDefaultCharset gives a mail without any Content-Type (RFC 2045 says
// US-ASCII, but 8-bit bodies of such mails are UTF-8 today) an explicit
// UTF-8 one for parsing, when its body is valid UTF-8. The stored raw
// bytes are not changed.
func withDefaultCharset(raw []byte) []byte {
	end := bytes.Index(raw, []byte("\n\n"))
	if e2 := bytes.Index(raw, []byte("\r\n\r\n")); e2 >= 0 && (end < 0 || e2 < end) {
		end = e2
	}
	if end < 0 {
		return raw
	}
	head := bytes.ToLower(raw[:end])
	if bytes.HasPrefix(head, []byte("content-type:")) || bytes.Contains(head, []byte("\ncontent-type:")) {
		return raw
	}
	if !utf8.Valid(raw[end:]) {
		return raw
	}
	out := make([]byte, 0, len(raw)+48)
	out = append(out, "Content-Type: text/plain; charset=utf-8\r\n"...)
	return append(out, raw...)
}

// withLineFeeds turns bare CRs (old Mac line endings, seen in real bounces
// and auto-replies) into CRLF for parsing; a parser that sees one endless
// line would miss the headers that mark a mail as automatic. The stored raw
// bytes are not changed.
func withLineFeeds(raw []byte) []byte {
	bare := 0
	for i, c := range raw {
		if c == '\r' && (i+1 == len(raw) || raw[i+1] != '\n') {
			bare++
		}
	}
	if bare == 0 {
		return raw
	}
	out := make([]byte, 0, len(raw)+bare)
	for i, c := range raw {
		out = append(out, c)
		if c == '\r' && (i+1 == len(raw) || raw[i+1] != '\n') {
			out = append(out, '\n')
		}
	}
	return out
}
