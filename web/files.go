package web

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/ticketd/ticketd"

	"github.com/ticketd/ticketd/message"
)

// safeTypes are the stored types a download may keep. Anything else,
// HTML and SVG above all, is sent as application/octet-stream.
var safeTypes = map[string]bool{
	"image/png":       true,
	"image/jpeg":      true,
	"image/gif":       true,
	"image/webp":      true,
	"application/pdf": true,
	"text/plain":      true,
}

// downloadType is the Content-Type a download is sent with.
func downloadType(stored string) string {
	mt, params, err := mime.ParseMediaType(stored)
	if err != nil || !safeTypes[mt] {
		return "application/octet-stream"
	}
	if mt == "text/plain" {
		cs := strings.ToLower(params["charset"])
		if cs != "" && len(cs) <= 40 && strings.IndexFunc(cs, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == ':')
		}) < 0 {
			return "text/plain; charset=" + cs
		}
		return "text/plain"
	}
	return mt
}

// downloadName cleans a file name for Content-Disposition: no path, no
// control characters, something left.
func downloadName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, name)
	name = strings.Trim(strings.TrimSpace(name), ".")
	if name == "" {
		return "attachment"
	}
	return name
}

func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, token, idText string) {
	// Only the canonical form of a positive id: no sign, no leading zero.
	if !isDigits(idText) || idText[0] == '0' || len(idText) > 18 {
		h.serveNotFound(w, r)
		return
	}
	id, _ := strconv.ParseInt(idText, 10, 64)
	var att *ticketd.Attachment
	var raw *ticketd.Raw
	err := h.lookup(r, token, func(tx ticketd.Tx, tk *ticketd.Ticket) error {
		a, err := tx.Attachment(id)
		if err != nil {
			return err
		}
		m, err := tx.Message(a.Message)
		if err != nil {
			return err
		}
		// A file of another ticket, or of a message the page does not
		// show, does not exist here.
		if m.Ticket != tk.Number || !public(m) || m.RawID == 0 {
			return errNotFound
		}
		att = a
		raw, err = tx.Raw(m.RawID)
		return err
	})
	if err != nil {
		h.fail(w, r, token, err)
		return
	}
	part, err := message.Attachment(raw.Data, att.PartIndex)
	if err != nil {
		h.log.Error("status page: attachment unreadable", "token", tokenPrefix(token), "attachment", att.ID, "err", err)
		h.serveError(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Security-Policy", fileCSP)
	hd.Set("Content-Type", downloadType(att.ContentType))
	hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": downloadName(att.Filename)}))
	hd.Set("Cache-Control", "private, no-store")
	hd.Set("Content-Length", strconv.Itoa(len(part.Content)))
	w.WriteHeader(http.StatusOK)
	w.Write(part.Content)
}
