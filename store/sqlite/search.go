package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ticketd/ticketd"
)

// Search finds tickets by number, by requester address, or by words in the
// subjects and texts of their messages (FTS5, ranked by bm25, one hit per
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
		type row struct {
			ticket  int64
			rank    float64
			snippet string
		}
		rows, err := t.query(`SELECT m.ticket, s.rank, snippet(message_search, -1, '[', ']', '…', 12)
			 FROM message_search s JOIN messages m ON m.id = s.rowid
			 WHERE message_search MATCH ? ORDER BY s.rank LIMIT ?`, match, q.Limit*20)
		if err != nil {
			return nil, wrapErr("search text", err)
		}
		var found []row
		for rows.Next() {
			var r row
			var snip sql.NullString
			if err := rows.Scan(&r.ticket, &r.rank, &snip); err != nil {
				rows.Close()
				return nil, wrapErr("search text", err)
			}
			r.snippet = strings.Join(strings.Fields(snip.String), " ")
			found = append(found, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, wrapErr("search text", err)
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

// ftsQuery turns what a user typed into an FTS5 query: every word must
// appear (as a prefix, so "factura" finds "facturas"); FTS5 syntax in the
// input is taken literally, never interpreted.
func ftsQuery(s string) string {
	var terms []string
	for _, w := range strings.FieldsFunc(s, func(r rune) bool {
		return !(r == '@' || r == '.' || r == '-' || r == '_' || r == '\'' || isWordRune(r))
	}) {
		w = strings.Trim(w, ".-_'@")
		if w == "" {
			continue
		}
		terms = append(terms, fmt.Sprintf(`"%s"*`, strings.ReplaceAll(w, `"`, `""`)))
	}
	return strings.Join(terms, " ")
}

func isWordRune(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 0x7f && r != 0xa0
}
