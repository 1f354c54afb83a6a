package sqlite

import (
	"errors"
	"strings"

	"github.com/ticketd/ticketd"
)

// Search finds tickets by number, by requester address, or by words in the
// subjects and texts of their messages (FTS4, ranked by BM25, one hit per
// ticket with the snippet of its best message). Number and address matches
// come first.
func (t *Tx) Search(q ticketd.SearchQuery) ([]ticketd.SearchHit, error) {
	hits := ticketd.NewHitList(q)
	text := strings.TrimSpace(q.Text)
	if n, ok := q.Number(); ok {
		tk, err := t.TicketByNumber(n)
		if err == nil {
			hits.Add(tk, "number", "", 0)
		} else if !errors.Is(err, ticketd.ErrNotFound) {
			return nil, err
		}
	}
	if addr, ok := q.Address(); ok {
		rows, err := t.query(`SELECT `+ticketCols+` FROM tickets WHERE requester_addr = lower(?) ORDER BY number DESC`, addr)
		if err != nil {
			return nil, wrapErr("search requester", err)
		}
		tks, err := scanTickets(rows)
		if err != nil {
			return nil, wrapErr("search requester", err)
		}
		for _, tk := range tks {
			hits.Add(tk, "requester", "", 0)
		}
	}
	match := ftsQuery(text)
	if match != "" {
		found, err := t.searchText(match, hits.Limit()*20)
		if err != nil {
			return nil, err
		}
		for _, r := range found {
			if hits.Has(r.ticket) {
				continue
			}
			tk, err := t.TicketByNumber(r.ticket)
			if err != nil {
				return nil, err
			}
			hits.Add(tk, "text", r.snippet, r.rank)
		}
	}
	for _, h := range hits.Hits() {
		if h.Ticket.Tags == nil {
			var err error
			if h.Ticket.Tags, err = t.Tags(h.Ticket.Number); err != nil {
				return nil, err
			}
		}
	}
	return hits.Hits(), nil
}

// ftsQuery turns what a user typed into an FTS4 query: every word must
// appear (as a prefix, so "factura" finds "facturas"); FTS syntax in the
// input is taken literally, never interpreted (a word is a quoted phrase,
// and quotes never survive into it).
func ftsQuery(s string) string {
	var terms []string
	for _, w := range strings.FieldsFunc(s, func(r rune) bool {
		return !(r == '@' || r == '.' || r == '-' || r == '_' || r == '\'' || isWordRune(r))
	}) {
		w = strings.Trim(w, ".-_'@")
		if w == "" {
			continue
		}
		terms = append(terms, `"`+w+`*"`)
	}
	return strings.Join(terms, " ")
}

func isWordRune(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 0x7f && r != 0xa0
}
