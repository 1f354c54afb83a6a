package desk

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/ticketd/ticketd"
	"github.com/ticketd/ticketd/config"
	"github.com/ticketd/ticketd/locale"
	"github.com/ticketd/ticketd/threading"
)

// labels are the words of a desk message, in the mailbox's language.
var labels = map[string]map[string]string{
	"es": {"status": "Estado", "assignee": "Asignado a", "nobody": "nadie", "priority": "Prioridad", "tags": "Etiquetas",
		"ticket": "Ticket", "opened": "abierto el", "note": "NOTA INTERNA", "auto": "automático", "unverified": "no verificado",
		"attachments": "Adjuntos", "customer": "cliente"},
	"en": {"status": "Status", "assignee": "Assignee", "nobody": "nobody", "priority": "Priority", "tags": "Tags",
		"ticket": "Ticket", "opened": "opened", "note": "INTERNAL NOTE", "auto": "automatic", "unverified": "unverified",
		"attachments": "Attachments", "customer": "customer"},
	"fr": {"status": "Statut", "assignee": "Assigné à", "nobody": "personne", "priority": "Priorité", "tags": "Étiquettes",
		"ticket": "Ticket", "opened": "ouvert le", "note": "NOTE INTERNE", "auto": "automatique", "unverified": "non vérifié",
		"attachments": "Pièces jointes", "customer": "client"},
	"pt": {"status": "Estado", "assignee": "Atribuído a", "nobody": "ninguém", "priority": "Prioridade", "tags": "Etiquetas",
		"ticket": "Ticket", "opened": "aberto em", "note": "NOTA INTERNA", "auto": "automático", "unverified": "não verificado",
		"attachments": "Anexos", "customer": "cliente"},
	"it": {"status": "Stato", "assignee": "Assegnato a", "nobody": "nessuno", "priority": "Priorità", "tags": "Etichette",
		"ticket": "Ticket", "opened": "aperto il", "note": "NOTA INTERNA", "auto": "automatico", "unverified": "non verificato",
		"attachments": "Allegati", "customer": "cliente"},
}

func label(lang, key string) string {
	if m, ok := labels[lang]; ok {
		return m[key]
	}
	return labels["en"][key]
}

// view is what one desk message shows: a ticket as it stands under one
// desk UID, for one agent.
type view struct {
	UID      uint32
	Ticket   *ticketd.Ticket
	Messages []*ticketd.Message
	Thread   ticketd.Thread
}

// deskIDPart is the part of a desk message's Message-ID that stands for its
// UID: ten base32 letters like every ticketd Message-ID part, so replies to
// it thread into the ticket through the token it carries.
func deskIDPart(uid uint32) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	b := []byte("dk00000000")
	v := uid
	for i := len(b) - 1; i >= 2; i-- {
		b[i] = alphabet[v%32]
		v /= 32
	}
	return string(b)
}

// render writes the desk message of v for agent. The same view gives the
// same bytes: nothing in it depends on the moment it is rendered, so a
// client may cache it under its UID.
func render(cfg *config.Config, key []byte, agent string, v *view) ([]byte, string, error) {
	tk := v.Ticket
	mbAddr, mbName, lang := tk.Mailbox, tk.Mailbox, cfg.Server.Language
	if mb := cfg.Mailbox(tk.Mailbox); mb != nil {
		mbAddr, mbName, lang = mb.Address, mb.Name, mb.Lang(cfg)
	}
	loc := cfg.Server.Location
	var h mail.Header
	h.SetDate(tk.UpdatedAt.In(locOr(loc)))
	h.SetSubject(threading.TagSubject(tk.Subject, tk.Number))
	h.SetAddressList("From", []*mail.Address{{Name: tk.RequesterName, Address: tk.RequesterAddr}})
	to := &mail.Address{Address: agent}
	if a := cfg.Agent(agent); a != nil {
		to.Name = a.Name
	}
	h.SetAddressList("To", []*mail.Address{to})
	reply := threading.AgentAddress(mbAddr, tk.Token, threading.AgentTag(key, tk.Token, agent))
	h.SetAddressList("Reply-To", []*mail.Address{{Name: mbName, Address: reply}})
	h.SetMessageID(threading.MessageIDWith(tk.Token, deskIDPart(v.UID), cfg.Server.Hostname))
	if v.Thread.Last != "" {
		h.SetMsgIDList("In-Reply-To", []string{v.Thread.Last})
	}
	// The agent's root for this ticket first, as in every notification
	// she gets about it: her client shows the desk's message in that thread.
	refs := []string{threading.AgentRootID(key, tk.Token, agent, cfg.Server.Hostname)}
	for _, id := range []string{v.Thread.Root, v.Thread.Last} {
		if id != "" && refs[len(refs)-1] != id {
			refs = append(refs, id)
		}
	}
	h.SetMsgIDList("References", refs)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	var buf bytes.Buffer
	w, err := mail.CreateSingleInlineWriter(&buf, h)
	if err != nil {
		return nil, "", fmt.Errorf("desk: render #%d: %w", tk.Number, err)
	}
	text := body(cfg, lang, v)
	if _, err := w.Write([]byte(text)); err != nil {
		return nil, "", err
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), text, nil
}

// body is the text of a desk message: where the ticket stands, then the
// conversation, newest first, internal notes marked as such.
func body(cfg *config.Config, lang string, v *view) string {
	tk := v.Ticket
	loc := cfg.Server.Location
	var b strings.Builder
	assignee := label(lang, "nobody")
	if tk.Assignee != "" {
		assignee = agentName(cfg, tk.Assignee)
	}
	prio := string(tk.Priority)
	if prio == "" {
		prio = string(ticketd.DefaultPriority)
	}
	fmt.Fprintf(&b, "%s: %s · %s: %s · %s: %s\n", label(lang, "status"), locale.StatusName(string(tk.Status), lang),
		label(lang, "assignee"), assignee, label(lang, "priority"), locale.PriorityName(prio, lang))
	if len(tk.Tags) > 0 {
		fmt.Fprintf(&b, "%s: %s\n", label(lang, "tags"), strings.Join(tk.Tags, ", "))
	}
	fmt.Fprintf(&b, "%s #%d · %s · %s %s\n", label(lang, "ticket"), tk.Number, tk.Mailbox, label(lang, "opened"),
		locale.FormatDateTime(tk.CreatedAt, lang, loc))
	for i := len(v.Messages) - 1; i >= 0; i-- {
		m := v.Messages[i]
		who := m.FromAddr
		if m.FromName != "" {
			who = m.FromName + " <" + m.FromAddr + ">"
		}
		if m.Author == ticketd.AuthorAgent {
			who = agentName(cfg, m.FromAddr)
		}
		var marks []string
		if m.Author == ticketd.AuthorCustomer && strings.EqualFold(m.FromAddr, tk.RequesterAddr) {
			marks = append(marks, label(lang, "customer"))
		}
		if m.Internal {
			marks = append(marks, label(lang, "note"))
		}
		if m.Automatic {
			marks = append(marks, label(lang, "auto"))
		}
		if m.Unverified {
			marks = append(marks, label(lang, "unverified"))
		}
		head := locale.FormatDateTime(m.CreatedAt, lang, loc) + " · " + who
		if len(marks) > 0 {
			head += " (" + strings.Join(marks, ", ") + ")"
		}
		fmt.Fprintf(&b, "\n── %s ──\n", head)
		text := m.NewText
		if m.CutFlagged || strings.TrimSpace(text) == "" {
			text = m.Text
		}
		b.WriteString(strings.TrimRight(strings.ReplaceAll(text, "\r\n", "\n"), "\n"))
		b.WriteString("\n")
		if len(m.Attachments) > 0 {
			var names []string
			for _, a := range m.Attachments {
				num, unit := locale.SizeParts(a.Size, lang)
				names = append(names, a.Filename+" ("+num+" "+[]string{"B", "KB", "MB", "GB"}[unit]+")")
			}
			fmt.Fprintf(&b, "[%s: %s]\n", label(lang, "attachments"), strings.Join(names, ", "))
		}
	}
	return b.String()
}

func agentName(cfg *config.Config, addr string) string {
	if a := cfg.Agent(addr); a != nil && a.Name != "" {
		return a.Name
	}
	return addr
}

func locOr(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}
