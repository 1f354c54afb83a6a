package sqlite

import (
	"errors"
	"strconv"
	"strings"

	"github.com/ticketd/ticketd"
)

// Search finds tickets by number, by requester address, or by words in the
// subjects and texts of their messages (FTS4, ranked by BM25, one hit per
// ticket with the snippet of its best message). Number and address matches
// come first.
func (t *Tx) Search(q ticketd.SearchQuery) ([]ticketd.SearchHit, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	text := strings.TrimSpace(q.Text)
	var hits []ticketd.SearchHit
	seen := map[int64]bool{}
	add := func(tk *ticketd.Ticket, match, snippet string, rank float64) {
		if seen[tk.Number] || len(hits) >= q.Limit || (q.Status != "" && tk.Status != q.Status) {
			return
		}
		seen[tk.Number] = true
		hits = append(hits, ticketd.SearchHit{Ticket: tk, Match: match, Snippet: snippet, Rank: rank})
	}
	if n, err := strconv.ParseInt(strings.TrimPrefix(text, "#"), 10, 64); err == nil && n > 0 {
		tk, err := t.TicketByNumber(n)
		if err == nil {
			add(tk, "number", "", 0)
		} else if !errors.Is(err, ticketd.ErrNotFound) {
			return nil, err
		}
	}
	if strings.Contains(text, "@") && !strings.ContainsAny(text, " \t") {
		rows, err := t.query(`SELECT `+ticketCols+` FROM tickets WHERE requester_addr = lower(?) ORDER BY number DESC`, text)
		if err != nil {
			return nil, wrapErr("search requester", err)
		}
		tks, err := scanTickets(rows)
		if err != nil {
			return nil, wrapErr("search requester", err)
		}
		for _, tk := range tks {
			add(tk, "requester", "", 0)
		}
	}
	match := ftsQuery(text)
	if match != "" {
		found, err := t.searchText(match, q.Limit*20)
		if err != nil {
			return nil, err
		}
		for _, r := range found {
			if seen[r.ticket] {
				continue
			}
			tk, err := t.TicketByNumber(r.ticket)
			if err != nil {
				return nil, err
			}
			add(tk, "text", r.snippet, r.rank)
		}
	}
	for _, h := range hits {
		if h.Ticket.Tags == nil {
			var err error
			if h.Ticket.Tags, err = t.Tags(h.Ticket.Number); err != nil {
				return nil, err
			}
		}
	}
	return hits, nil
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
