package web

import (
	"mime"
	"slices"
	"strings"

	"github.com/ticketd/ticketd"

	"github.com/ticketd/ticketd/message"
	"github.com/ticketd/ticketd/richtext"
	"github.com/ticketd/ticketd/threading"
)

// imageTypes are the image types the page shows inline; they are served
// with their own type (see safeTypes). SVG, which can carry script, is not
// one of them.
var imageTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// inlineImages finds the attachments of public messages that were images
// inside the new text of the mail (a pasted screenshot, not an attached
// file, nor an image of the quoted history), by id. It reads what intake
// stored (the HTML, each part's inline mark and Content-ID); only a
// message stored before those were kept is parsed again from its raw mail.
func inlineImages(tx ticketd.Tx, msgs []*ticketd.Message) (map[int64]bool, error) {
	out := map[int64]bool{}
	for _, m := range msgs {
		if !public(m) || m.RawID == 0 || !hasSafeImage(m) {
			continue
		}
		html, kept, err := tx.MessageHTML(m.ID)
		if err != nil {
			return nil, err
		}
		subject, parts := m.Subject, m.Attachments
		if !kept {
			raw, err := tx.Raw(m.RawID)
			if err != nil {
				return nil, err
			}
			p, err := message.Parse(raw.Data)
			if err != nil {
				continue // shown as plain attachments, as before
			}
			html, subject, parts = p.HTML, p.Subject, nil
			for _, part := range p.Attachments {
				parts = append(parts, ticketd.Attachment{PartIndex: part.Index, ContentID: part.ContentID, Inline: part.Inline, ContentType: part.ContentType})
			}
		}
		// With HTML, only the images of the new text: one in the quoted
		// history stays a download under its own name.
		var shown, all []string
		if html != "" {
			// A forward's quoted part is the forwarded mail, shown whole.
			opt := richtext.Options{Commands: m.Author == ticketd.AuthorAgent, KeepQuote: threading.IsForwardSubject(subject)}
			shown = richtext.Prepare(html, opt).CIDs
			all = richtext.References(html)
		}
		inlineByIndex := map[int]bool{}
		for _, part := range parts {
			inHistory := slices.Contains(all, part.ContentID) && !slices.Contains(shown, part.ContentID)
			inlineByIndex[part.PartIndex] = part.Inline && isSafeImage(part.ContentType) && !inHistory
		}
		for _, a := range m.Attachments {
			if inlineByIndex[a.PartIndex] && isSafeImage(a.ContentType) {
				out[a.ID] = true
			}
		}
	}
	return out, nil
}

func hasSafeImage(m *ticketd.Message) bool {
	for _, a := range m.Attachments {
		if isSafeImage(a.ContentType) {
			return true
		}
	}
	return false
}

func isSafeImage(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && imageTypes[strings.ToLower(mt)]
}
