package mailer

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ticketd/ticketd"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"

	"github.com/ticketd/ticketd/mailer/templates"
	"github.com/ticketd/ticketd/message"
	"github.com/ticketd/ticketd/richtext"
	"github.com/ticketd/ticketd/threading"
)

// mailBody is everything below the header of one outgoing mail.
type mailBody struct {
	templates.Mail
	msg         *ticketd.Message // the message the mail carries, if any
	cids        []string         // Content-IDs the HTML shows
	inline      []message.Part   // images the HTML shows, by Content-ID
	attachments []message.Part
	// eightBit: the mail may go 8bit (RFC 6152), its transport carries it.
	eightBit bool
}

// richKinds show the message they are about as HTML, with its inline
// images: the agent's answer to the customer, the customer's mail (or a
// note) to the agents.
var richKinds = map[ticketd.OutboxKind]bool{
	ticketd.KindRelay: true, ticketd.KindAgentNew: true, ticketd.KindAgentReply: true, ticketd.KindAgentReopened: true, ticketd.KindNote: true,
}

// parsed gives what intake decoded of the message: its HTML and its files
// with their bytes, read from the store. Only a message stored before the
// store kept them is parsed again from its raw mail.
func (c *Composer) parsed(tx ticketd.Tx, m *ticketd.Message) (*message.Parsed, error) {
	html, kept, err := tx.MessageHTML(m.ID)
	if err != nil {
		return nil, fmt.Errorf("mailer: html of message %d: %w", m.ID, err)
	}
	if !kept {
		return c.reparse(tx, m)
	}
	p := &message.Parsed{Subject: m.Subject, Text: m.Text, HTML: html}
	for _, a := range m.Attachments {
		data, kept, err := tx.AttachmentContent(a.ID)
		if err != nil {
			return nil, fmt.Errorf("mailer: attachment %d of message %d: %w", a.ID, m.ID, err)
		}
		if !kept {
			return c.reparse(tx, m)
		}
		p.Attachments = append(p.Attachments, message.Part{Index: a.PartIndex, Filename: a.Filename, ContentType: a.ContentType,
			ContentID: a.ContentID, Inline: a.Inline, Content: data})
	}
	return p, nil
}

// reparse reads a message stored before its decoded parts were kept.
func (c *Composer) reparse(tx ticketd.Tx, m *ticketd.Message) (*message.Parsed, error) {
	raw, err := tx.Raw(m.RawID)
	if err != nil {
		return nil, fmt.Errorf("mailer: raw of message %d: %w", m.ID, err)
	}
	p, err := message.Parse(raw.Data)
	if err != nil {
		return nil, fmt.Errorf("mailer: parse message %d: %w", m.ID, err)
	}
	return p, nil
}

// richBody prepares the message's HTML for kind. A customer gets the
// agent's answer without the quoted history and without command lines;
// agents get the customer's new text, or all of it when the cut was not
// trusted. ok is false when the text is what should go: no HTML, nothing
// left, or history the HTML cut could not find although the text cut did.
func richBody(p *message.Parsed, m *ticketd.Message, kind ticketd.OutboxKind) (richtext.Body, bool) {
	if p == nil || strings.TrimSpace(p.HTML) == "" {
		return richtext.Body{}, false
	}
	// A forward's history is the forwarded mail: it is the content.
	keep := m.CutFlagged && !kind.ToCustomer() || threading.IsForwardSubject(p.Subject)
	b := richtext.Prepare(p.HTML, richtext.Options{KeepQuote: keep, Commands: m.Author == ticketd.AuthorAgent})
	if b.Text == "" && len(b.CIDs) == 0 {
		return b, false
	}
	if !keep && showsRemoved(b.Text, threading.CutQuoteSubject(p.Text, p.Subject).Removed) {
		return b, false
	}
	return b, true
}

// showsRemoved says the HTML still shows a line that the text cut removed
// (a quoted line, a signature): its history is marked in a way the HTML cut
// did not find, and the text, cut by the text's own rules, goes instead.
func showsRemoved(htmlText, removed string) bool {
	flat := func(s string) string {
		return strings.Join(strings.Fields(strings.NewReplacer("*", " ", "\u00a0", " ").Replace(s)), " ")
	}
	shown := flat(htmlText)
	for i, l := range strings.Split(removed, "\n") {
		if i >= 200 {
			break
		}
		l = flat(strings.TrimLeft(l, " \t>"))
		if len(l) >= 12 && strings.Contains(shown, l) {
			return true
		}
	}
	return false
}

// splitParts sorts the message's stored attachments into images its HTML
// shows (sent inline, by Content-ID) and files (attached). With HTML, an
// image the mail's HTML showed but the cut HTML no longer shows was in the
// history that was cut, and goes no further; any other file is attached.
func splitParts(p *message.Parsed, m *ticketd.Message, cids []string, rich bool) (inline, files []message.Part) {
	var inHistory []string
	if rich {
		inHistory = richtext.References(p.HTML)
	}
	byIndex := map[int]message.Part{}
	for _, part := range p.Attachments {
		byIndex[part.Index] = part
	}
	for _, a := range m.Attachments {
		part, ok := byIndex[a.PartIndex]
		if !ok {
			continue
		}
		shown := validCID(part.ContentID) && slices.Contains(cids, part.ContentID)
		switch {
		case rich && shown:
			inline = append(inline, part)
		case rich && part.ContentID != "" && slices.Contains(inHistory, part.ContentID):
			// An image of the quoted history.
		default:
			files = append(files, part)
		}
	}
	return inline, files
}

// validCID accepts a Content-ID that can go back into a header as it is:
// visible ASCII, no brackets.
func validCID(id string) bool {
	if id == "" || len(id) > 250 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' || c == '<' || c == '>' {
			return false
		}
	}
	return true
}

// writeBody writes text and HTML as alternatives, the images the HTML
// shows beside them (multipart/related), and attachments after them;
// go-message does all the encoding, so no text can forge a header. It
// says whether a part went 8bit, which only a smarthost that offers
// 8BITMIME may be given.
func writeBody(buf *bytes.Buffer, h mail.Header, b mailBody) (eightBit bool, err error) {
	switch {
	case len(b.attachments) > 0:
		h.SetContentType("multipart/mixed", nil)
	case len(b.inline) > 0:
		h.SetContentType("multipart/related", map[string]string{"type": "multipart/alternative"})
	default:
		h.SetContentType("multipart/alternative", nil)
	}
	w, err := gomessage.CreateWriter(buf, h.Header)
	if err != nil {
		return false, err
	}
	if len(b.attachments) > 0 && len(b.inline) > 0 {
		var rh gomessage.Header
		rh.SetContentType("multipart/related", map[string]string{"type": "multipart/alternative"})
		rw, err := w.CreatePart(rh)
		if err != nil {
			return false, err
		}
		if eightBit, err = writeRelated(rw, b); err != nil {
			return false, err
		}
		if err := rw.Close(); err != nil {
			return false, err
		}
	} else if eightBit, err = writeRelated(w, b); err != nil {
		return false, err
	}
	for _, p := range b.attachments {
		if err := writePart(w, p, "attachment"); err != nil {
			return false, err
		}
	}
	return eightBit, w.Close()
}

// writeRelated writes the alternatives into w, then the inline images
// (when w is the multipart/related writer).
func writeRelated(w *gomessage.Writer, b mailBody) (eightBit bool, err error) {
	aw := w
	if len(b.inline) > 0 || len(b.attachments) > 0 {
		var ah gomessage.Header
		ah.SetContentType("multipart/alternative", nil)
		if aw, err = w.CreatePart(ah); err != nil {
			return false, err
		}
	}
	for _, alt := range []struct{ ct, body string }{{"text/plain", b.Text}, {"text/html", b.HTML}} {
		if alt.body == "" {
			continue
		}
		var ih gomessage.Header
		ih.SetContentType(alt.ct, map[string]string{"charset": "utf-8"})
		cte := transferEncoding(alt.body, b.eightBit)
		ih.Set("Content-Transfer-Encoding", cte)
		pw, err := aw.CreatePart(ih)
		if err != nil {
			return false, err
		}
		eightBit = eightBit || cte == "8bit"
		if err := writeString(pw, alt.body); err != nil {
			return false, err
		}
		if err := pw.Close(); err != nil {
			return false, err
		}
	}
	if aw != w {
		if err := aw.Close(); err != nil {
			return false, err
		}
	}
	for _, p := range b.inline {
		if err := writePart(w, p, "inline"); err != nil {
			return false, err
		}
	}
	return eightBit, nil
}

// maxLine is the longest line SMTP carries, in octets without its CRLF
// (RFC 5321 §4.5.3.1.6).
const maxLine = 998

// transferEncoding picks how a text part travels. As it is when it can:
// 7bit when it is ASCII, 8bit when it is UTF-8 and the transport takes
// 8bit (RFC 6152), in both cases only when no line is longer than SMTP
// carries and it holds no NUL or lone CR (go-message gives a lone LF its
// CR). Quoted-printable otherwise. Encoding nothing costs less than half
// of what quoted-printable did, the largest part of composing a
// notification.
func transferEncoding(s string, eightBit bool) string {
	const qp = "quoted-printable"
	if strings.IndexByte(s, 0) >= 0 {
		return qp
	}
	for rest := s; rest != ""; {
		line := rest
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		line = strings.TrimSuffix(line, "\r")
		if len(line) > maxLine || strings.IndexByte(line, '\r') >= 0 {
			return qp
		}
	}
	switch {
	case isASCII(s):
		return "7bit"
	case eightBit && utf8.ValidString(s):
		return "8bit"
	}
	return qp
}

// writeString writes s through a buffer of at most 4 KB instead of
// copying all of it into a []byte first: a notification's body is as long
// as the mail it is about.
func writeString(w io.Writer, s string) error {
	chunk := make([]byte, min(len(s), 4096))
	for len(s) > 0 {
		n := copy(chunk, s)
		if _, err := w.Write(chunk[:n]); err != nil {
			return err
		}
		s = s[n:]
	}
	return nil
}

// composedSize guesses the size of the mail writeBody writes, so its
// buffer is allocated once instead of doubling through a long mail:
// quoted-printable adds up to a third to text, base64 a third to files.
func composedSize(b mailBody) int {
	n := 4096 + (len(b.Text)+len(b.HTML))*4/3
	for _, p := range b.inline {
		n += len(p.Content)*137/100 + 512
	}
	for _, p := range b.attachments {
		n += len(p.Content)*137/100 + 512
	}
	return n
}

// writePart writes one file: an attachment, or an inline image with the
// Content-ID its HTML names.
func writePart(w *gomessage.Writer, p message.Part, disposition string) error {
	var ph gomessage.Header
	ct := p.ContentType
	if _, _, err := mime.ParseMediaType(ct); err != nil || ct == "" {
		ct = "application/octet-stream"
	}
	ph.SetContentType(ct, nil)
	ph.SetContentDisposition(disposition, map[string]string{"filename": p.Filename})
	if disposition == "inline" {
		ph.Set("Content-Id", "<"+p.ContentID+">")
	}
	ph.Set("Content-Transfer-Encoding", "base64")
	pw, err := w.CreatePart(ph)
	if err != nil {
		return err
	}
	if _, err := pw.Write(p.Content); err != nil {
		return err
	}
	return pw.Close()
}
