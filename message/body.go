package message

import (
	"strings"

	"github.com/jhillyerd/enmime/v2"
	"github.com/jhillyerd/enmime/v2/mediatype"
)

// This file holds what makes the body read as its client wrote it: which
// parts are the body (not attachments), format=flowed, and the Content-ID
// that ties an inline image to its place in the HTML.

// isBodyPart tells a text part that is the mail's body, marked
// `Content-Disposition: inline` as mutt, go-message and others write it,
// from a file: a body has no file name and is what enmime read as the text
// or the HTML.
func isBodyPart(env *enmime.Envelope, p *enmime.Part) bool {
	if p.Disposition == "attachment" || p.FileName != "" {
		return false
	}
	switch p.ContentType {
	case "text/plain":
		return len(p.Content) == 0 || strings.Contains(env.Text, string(p.Content))
	case "text/html":
		return len(p.Content) == 0 || strings.Contains(env.HTML, string(p.Content))
	}
	return false
}

// isInline tells a part shown inside the body (a pasted screenshot) from an
// attached file: Outlook writes no Content-Disposition at all, only a
// Content-ID inside multipart/related; Apple Mail and Thunderbird write
// "inline".
func isInline(p *enmime.Part) bool {
	return p.Disposition == "inline" || p.Disposition == "" && p.ContentID != ""
}

// textBodyPart is the part enmime read env.Text from, when there is one
// (the first text/plain that is not an attachment).
func textBodyPart(env *enmime.Envelope) *enmime.Part {
	if env.Root == nil {
		return nil
	}
	return env.Root.DepthMatchFirst(func(p *enmime.Part) bool {
		return p.ContentType == "text/plain" && p.Disposition != "attachment"
	})
}

// unflow decodes text as RFC 3676 format=flowed when its part says so, so
// that soft line breaks (Thunderbird's) are gone before quote cutting,
// storing and relaying.
func unflow(env *enmime.Envelope, text string) string {
	tp := textBodyPart(env)
	if tp == nil {
		return text
	}
	// enmime keeps the parameters only in the header.
	_, params, _, err := mediatype.Parse(tp.Header.Get("Content-Type"))
	if err != nil || !strings.EqualFold(params["format"], "flowed") {
		return text
	}
	return DecodeFlowed(text, strings.EqualFold(params["delsp"], "yes"))
}

// DecodeFlowed joins the soft line breaks of RFC 3676 text: a line that
// ends in a space continues on the next line of the same quote depth. With
// delsp, that space is deleted (it was added only to mark the break).
// Space-stuffing is undone, and the signature separator "-- " is never a
// soft break.
func DecodeFlowed(text string, delsp bool) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")
	var out []string
	var para strings.Builder
	open := false // para holds a flowed line waiting for its continuation
	depth := 0
	flush := func() {
		if open {
			out = append(out, strings.TrimRight(para.String(), " "))
			para.Reset()
			open = false
		}
	}
	for _, l := range lines {
		d := 0
		for d < len(l) && l[d] == '>' {
			d++
		}
		body := l[d:]
		if strings.HasPrefix(body, " ") {
			body = body[1:] // space-stuffed, or the space after the quote marks
		}
		sig := body == "-- "
		if open && (d != depth || sig) {
			// A change of quote depth ends a paragraph (RFC 3676 4.5), and
			// a signature separator always starts its own line.
			flush()
		}
		prefix := ""
		if d > 0 {
			prefix = strings.Repeat(">", d) + " "
		}
		if !open {
			para.WriteString(prefix)
		}
		flowed := strings.HasSuffix(body, " ") && !sig
		if flowed && delsp {
			body = body[:len(body)-1]
		}
		para.WriteString(body)
		if flowed {
			open, depth = true, d
			continue
		}
		if sig {
			out = append(out, para.String())
		} else {
			out = append(out, strings.TrimRight(para.String(), " "))
		}
		para.Reset()
		open = false
	}
	flush()
	return strings.Join(out, "\n")
}

// bodyText is the text of the mail. enmime joins the text parts of a
// multipart/mixed mail (Apple Mail writes one before and one after each
// attachment placed inside the text) with a "--" line, which reads as a
// signature separator and would cut the rest of the text away; they are
// joined as paragraphs instead.
func bodyText(env *enmime.Envelope) string {
	parts := textParts(env, "text/plain")
	if len(parts) < 2 {
		return env.Text
	}
	var out []string
	for _, p := range parts {
		out = append(out, strings.TrimRight(string(p.Content), "\r\n"))
	}
	return strings.Join(out, "\n\n")
}

// bodyHTML is the HTML of the mail: every HTML body part of Apple Mail's
// multipart/mixed, in order (enmime keeps the first only).
func bodyHTML(env *enmime.Envelope) string {
	parts := textParts(env, "text/html")
	if len(parts) < 2 {
		return env.HTML
	}
	var sb strings.Builder
	for _, p := range parts {
		sb.Write(p.Content)
		sb.WriteByte('\n')
	}
	return sb.String()
}

// textParts are the body parts of type ct when there are several side by
// side in one multipart/mixed (Apple Mail's text, attachment, text), at the
// top of the mail or as the HTML alternative; nil otherwise, when enmime's
// choice stands.
func textParts(env *enmime.Envelope, ct string) []*enmime.Part {
	if env.Root == nil {
		return nil
	}
	parts := env.Root.DepthMatchAll(func(p *enmime.Part) bool {
		return p.ContentType == ct && p.Disposition != "attachment" && p.FileName == ""
	})
	if len(parts) < 2 {
		return nil
	}
	parent := parts[0].Parent
	for _, p := range parts {
		if p.Parent == nil || p.Parent != parent || parent.ContentType != "multipart/mixed" {
			return nil
		}
	}
	return parts
}
