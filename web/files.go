package web

import (
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
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

// maxDownloadsPerToken is how many downloads of one ticket's files may
// run at once; more wait for none and get 429. A browser loads at most six
// images of a page at once from one host, so a page with many pasted
// screenshots never meets the limit.
const maxDownloadsPerToken = 8

// downloadSlots counts the downloads in flight per token.
type downloadSlots struct {
	mu sync.Mutex
	n  map[string]int
}

// take reserves a slot for token, or reports that all are in use.
func (d *downloadSlots) take(token string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.n == nil {
		d.n = map[string]int{}
	}
	if d.n[token] >= maxDownloadsPerToken {
		return false
	}
	d.n[token]++
	return true
}

func (d *downloadSlots) release(token string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.n[token]--; d.n[token] <= 0 {
		delete(d.n, token)
	}
}

func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, token, idText string) {
	// Only the canonical form of a positive id: no sign, no leading zero.
	if !isDigits(idText) || idText[0] == '0' || len(idText) > 18 {
		h.serveNotFound(w, r)
		return
	}
	// Counted by the token as written, before it is looked up: a token
	// that does not exist is limited the same way, so the answer tells
	// nothing about which ones do.
	if !h.downloads.take(token) {
		w.Header().Set("Retry-After", "5")
		http.Error(w, "Too many downloads at once from this ticket; try again in a few seconds.", http.StatusTooManyRequests)
		return
	}
	defer h.downloads.release(token)
	id, _ := strconv.ParseInt(idText, 10, 64)
	var att *ticketd.Attachment
	var data []byte
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
		var kept bool
		if data, kept, err = tx.AttachmentContent(a.ID); err != nil || kept {
			return err
		}
		// Stored before the decoded bytes were kept: read the raw mail.
		raw, err := tx.Raw(m.RawID)
		if err != nil {
			return err
		}
		part, err := message.Attachment(raw.Data, att.PartIndex)
		if err != nil {
			return fmt.Errorf("attachment unreadable: %w", err)
		}
		data = part.Content
		return nil
	})
	if err != nil {
		h.fail(w, r, token, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Security-Policy", fileCSP)
	hd.Set("Content-Type", downloadType(att.ContentType))
	hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": downloadName(att.Filename)}))
	hd.Set("Cache-Control", "private, no-store")
	hd.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	w.Write(data)
}
