package desk

import (
	"bufio"
	"bytes"
	"strings"
	"time"
	"unicode"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
	"golang.org/x/text/unicode/norm"
)

func envelope(data []byte) *imap.Envelope {
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(data)))
	if err != nil {
		return nil
	}
	return imapserver.ExtractEnvelope(h)
}

// fold lowers s and takes its accents off, so that "contrasena" finds
// "contraseña" as agents expect of a search box.
func fold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// searchable is a desk message as SEARCH reads it.
type searchable struct {
	seq, uid uint32
	seen     bool
	date     time.Time
	size     int64
	header   mail.Header
	text     string // the body, folded
}

func (s *session) Search(kind imapserver.NumKind, criteria *imap.SearchCriteria, options *imap.SearchOptions) (*imap.SearchData, error) {
	sel := s.sel
	data := &imap.SearchData{}
	var seqs imap.SeqSet
	var uids imap.UIDSet
	last := uint32(len(sel.entries))
	var top uint32
	if last > 0 {
		top = sel.entries[last-1].UID
	}
	for i, e := range sel.entries {
		r, err := s.message(e)
		if err != nil {
			s.srv.opt.Log.Error("desk: search", "from", s.agent, "ticket", e.Ticket, "err", err)
			return nil, no(imap.ResponseCodeUnavailable, "Try again later")
		}
		if r == nil {
			continue
		}
		m := &searchable{seq: uint32(i + 1), uid: e.UID, seen: sel.seen[e.UID], date: r.ticket.UpdatedAt, size: int64(len(r.data))}
		if h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(r.data))); err == nil {
			m.header = mail.Header{Header: message.Header{Header: h}}
		}
		m.text = fold(r.text)
		if !matches(m, criteria, last, top, sel.searchRes) {
			continue
		}
		uids.AddNum(imap.UID(e.UID))
		num := m.seq
		if kind == imapserver.NumKindUID {
			num = e.UID
		}
		seqs.AddNum(m.seq)
		if data.Min == 0 || num < data.Min {
			data.Min = num
		}
		data.Max = max(data.Max, num)
		data.Count++
	}
	if kind == imapserver.NumKindUID {
		data.All = uids
	} else {
		data.All = seqs
	}
	if options.ReturnSave {
		sel.searchRes = uids
	}
	return data, nil
}

// matches evaluates SEARCH criteria on one message. Words match the
// conversation without regard to case or accents.
func matches(m *searchable, c *imap.SearchCriteria, last, top uint32, saved imap.UIDSet) bool {
	for _, set := range c.SeqNum {
		if imap.IsSearchRes(set) {
			if !saved.Contains(imap.UID(m.uid)) {
				return false
			}
			continue
		}
		if !containsSeq(set, m.seq, last) {
			return false
		}
	}
	for _, set := range c.UID {
		if imap.IsSearchRes(set) {
			if !saved.Contains(imap.UID(m.uid)) {
				return false
			}
			continue
		}
		if !containsUID(set, m.uid, top) {
			return false
		}
	}
	if !inDates(m.date, c.Since, c.Before) || !inDates(m.date, c.SentSince, c.SentBefore) {
		return false
	}
	for _, f := range c.Flag {
		if !hasFlag(m, f) {
			return false
		}
	}
	for _, f := range c.NotFlag {
		if hasFlag(m, f) {
			return false
		}
	}
	if c.Larger != 0 && m.size <= c.Larger {
		return false
	}
	if c.Smaller != 0 && m.size >= c.Smaller {
		return false
	}
	for _, hf := range c.Header {
		if !headerHas(m.header, hf.Key, hf.Value) {
			return false
		}
	}
	for _, w := range c.Body {
		if !strings.Contains(m.text, fold(w)) {
			return false
		}
	}
	for _, w := range c.Text {
		if !strings.Contains(m.text, fold(w)) && !anyHeaderHas(m.header, w) {
			return false
		}
	}
	for i := range c.Not {
		if matches(m, &c.Not[i], last, top, saved) {
			return false
		}
	}
	for _, or := range c.Or {
		if !matches(m, &or[0], last, top, saved) && !matches(m, &or[1], last, top, saved) {
			return false
		}
	}
	return true
}

func hasFlag(m *searchable, f imap.Flag) bool {
	return strings.EqualFold(string(f), string(imap.FlagSeen)) && m.seen
}

func inDates(t, since, before time.Time) bool {
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	if !since.IsZero() && d.Before(since) {
		return false
	}
	return before.IsZero() || d.Before(before)
}

// headerHas matches a header field's decoded text (addresses with their
// names) against a word.
func headerHas(h mail.Header, key, word string) bool {
	fields := h.FieldsByKey(key)
	if word == "" {
		return fields.Len() > 0
	}
	w := fold(word)
	for fields.Next() {
		v, err := fields.Text()
		if err != nil {
			v = fields.Value()
		}
		if strings.Contains(fold(v), w) {
			return true
		}
	}
	return false
}

func anyHeaderHas(h mail.Header, word string) bool {
	w := fold(word)
	fields := h.Fields()
	for fields.Next() {
		v, err := fields.Text()
		if err != nil {
			v = fields.Value()
		}
		if strings.Contains(fold(v), w) {
			return true
		}
	}
	return false
}
