package web

import (
	"bytes"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ticketd/ticketd"

	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/lifecycle"
	"github.com/ticketd/ticketd/locale"
)

// ticketPage is what templates/ticket.html shows.
type ticketPage struct {
	Lang          string
	L             *labels
	CSS           string
	Brand         string // the mailbox's name
	Number        int64
	Subject       string
	Status        string // the key, for the badge's class
	StatusName    string
	StatusMeaning string
	Opened        dateView
	Updated       dateView
	Messages      []messageView
}

type dateView struct {
	Text    string // in the mailbox's language and the server's time zone
	Machine string // RFC 3339, for <time datetime>
}

type messageView struct {
	Agent       bool
	Name        string
	Role        string
	At          dateView
	Text        string
	Quoted      string // folded away in <details>
	Attachments []attachmentView
	Images      []attachmentView // inline images, shown where the page can (safe types only)
}

type attachmentView struct {
	Name string
	Size string
	URL  string
}

// public reports whether the customer may see m on the page: their own and
// the agents' public mails, never notes, unverified or automatic mail, or
// anything the system wrote.
func public(m *ticketd.Message) bool {
	if m.Internal || m.Unverified || m.Automatic {
		return false
	}
	return m.Author == ticketd.AuthorCustomer || m.Author == ticketd.AuthorAgent
}

func (h *Handler) serveTicket(w http.ResponseWriter, r *http.Request, cfg *config.Config, token string) {
	var tk *ticketd.Ticket
	var msgs []*ticketd.Message
	var inline map[int64]bool
	err := h.lookup(r, token, func(tx ticketd.Tx, t *ticketd.Ticket) error {
		tk = t
		var err error
		if msgs, err = tx.Messages(t.Number); err != nil {
			return err
		}
		inline, err = inlineImages(tx, msgs)
		return err
	})
	if err != nil {
		h.fail(w, r, token, err)
		return
	}
	page := h.buildPage(cfg, tk, msgs, inline)
	var buf bytes.Buffer
	if err := h.tpl.ExecuteTemplate(&buf, "ticket.html", page); err != nil {
		h.log.Error("render status page", "ticket", tk.Number, "err", err)
		h.serveError(w, r)
		return
	}
	writeHTML(w, http.StatusOK, buf.Bytes())
}

// buildPage turns a ticket into what the customer sees.
// inline names the attachments (by id) to show as images.
func (h *Handler) buildPage(cfg *config.Config, tk *ticketd.Ticket, msgs []*ticketd.Message, inline map[int64]bool) *ticketPage {
	mb := cfg.Mailbox(tk.Mailbox)
	lang := cfg.Server.Language
	closeDays, reminderDays := cfg.Lifecycle.PendingCloseDays, cfg.Lifecycle.ReminderDaysBeforeClose
	brand := ""
	if mb != nil {
		if mb.Language != "" {
			lang = mb.Language
		}
		closeDays, reminderDays = mb.CloseDays(cfg), mb.ReminderDays(cfg)
		brand = mb.Name
	}
	l, lang := labelsFor(lang)
	loc := cfg.Server.Location
	if brand == "" {
		brand = l.Support
	}
	date := func(t time.Time) dateView {
		if t.IsZero() {
			return dateView{}
		}
		return dateView{Text: locale.FormatDateTime(t, lang, loc) + " " + zoneName(t, loc), Machine: t.UTC().Format(time.RFC3339)}
	}

	var closeDate time.Time
	if tk.Status == ticketd.StatusPendiente {
		closeDate = lifecycle.CloseAt(tk.PendingSince, tk.ReminderSentAt, closeDays, reminderDays)
		// A date already past (the daemon was down) would be a broken
		// promise; the sentence without a date is still true.
		if closeDate.Before(h.now()) {
			closeDate = time.Time{}
		}
	}
	p := &ticketPage{
		Lang: lang, L: l, CSS: h.cssURL(cfg), Brand: brand,
		Number: tk.Number, Subject: tk.Subject,
		Status: string(tk.Status), StatusName: locale.StatusName(string(tk.Status), lang),
		StatusMeaning: locale.StatusMeaning(string(tk.Status), lang, closeDate, loc),
		Opened:        date(tk.CreatedAt), Updated: date(tk.UpdatedAt),
	}
	base := basePath(cfg) + "/t/" + tk.Token + "/files/"
	for _, m := range msgs {
		if !public(m) {
			continue
		}
		v := messageView{At: date(m.CreatedAt)}
		if m.Author == ticketd.AuthorAgent {
			v.Agent, v.Role = true, l.Team
			v.Name = brand
			// The configured name only: an agent's address never shows.
			if a := cfg.Agent(m.FromAddr); a != nil && strings.TrimSpace(a.Name) != "" {
				v.Name = a.Name
			}
			// What was relayed to the customer, nothing of what the agent
			// quoted (our notification to agents, with its addresses).
			v.Text = strings.TrimSpace(m.NewText)
		} else {
			v.Name = strings.TrimSpace(m.FromName)
			if v.Name == "" {
				v.Name = l.You
			}
			v.Text, v.Quoted = splitQuote(m)
		}
		if v.Text == "" && v.Quoted == "" {
			v.Text = l.NoText
		}
		for _, a := range m.Attachments {
			av := attachmentView{Name: a.Filename, Size: l.size(a.Size), URL: base + strconv.FormatInt(a.ID, 10)}
			if inline[a.ID] {
				v.Images = append(v.Images, av)
			} else {
				v.Attachments = append(v.Attachments, av)
			}
		}
		if len(v.Images) > 0 {
			// Outlook marks the place of a pasted image in its text with
			// "[cid:...]"; the page shows the image itself.
			v.Text = strings.TrimSpace(reCIDPlaceholder.ReplaceAllString(v.Text, ""))
		}
		p.Messages = append(p.Messages, v)
	}
	return p
}

var reCIDPlaceholder = regexp.MustCompile(`[ \t]*\[cid:[^\]\s]{1,200}\][ \t]*\n?`)

// splitQuote returns the new text of a customer's mail and the rest of it
// (quotes, signature), which the page folds away. When the cut was unsure
// the whole text is shown: it is the customer's own mail.
func splitQuote(m *ticketd.Message) (text, quoted string) {
	full := strings.TrimSpace(m.Text)
	if m.CutFlagged {
		return full, ""
	}
	text = strings.TrimSpace(m.NewText)
	if text == "" || text == full {
		return full, ""
	}
	if rest, ok := strings.CutPrefix(full, text); ok {
		return text, strings.TrimSpace(rest)
	}
	return text, full
}

// zoneName says which time zone a shown time is in: its abbreviation where
// the zone has one ("CET", "UTC"), else its offset from UTC ("UTC-03:00"),
// since the customer may live elsewhere.
func zoneName(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	abbr, off := t.Zone()
	if abbr != "" && strings.Trim(abbr, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" {
		return abbr
	}
	if off == 0 {
		return "UTC"
	}
	return "UTC" + t.Format("-07:00")
}
