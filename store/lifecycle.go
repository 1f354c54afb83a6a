package store

import (
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"
)

// DueReminders returns the pending tickets of a mailbox that turned pending
// at or before pendingBefore and have not been reminded in this pending
// period. It reads the tickets_remind_due index, so its cost is the number
// of tickets it returns.
func (t *Tx) DueReminders(mailbox string, pendingBefore time.Time) ([]int64, error) {
	return t.numbers("due reminders",
		`SELECT number FROM tickets INDEXED BY tickets_remind_due
		 WHERE lower(mailbox) = lower(?) AND status = 'pendiente' AND reminder_sent_at IS NULL AND pending_since <= ?
		 ORDER BY pending_since, number`,
		mailbox, ms(pendingBefore))
}

// DueCloses returns the pending tickets of a mailbox reminded at or before
// remindedBefore that turned pending at or before pendingBefore. It reads the
// tickets_close_due index.
func (t *Tx) DueCloses(mailbox string, remindedBefore, pendingBefore time.Time) ([]int64, error) {
	return t.numbers("due closes",
		`SELECT number FROM tickets INDEXED BY tickets_close_due
		 WHERE lower(mailbox) = lower(?) AND status = 'pendiente' AND reminder_sent_at IS NOT NULL
		   AND reminder_sent_at <= ? AND pending_since <= ?
		 ORDER BY reminder_sent_at, number`,
		mailbox, ms(remindedBefore), ms(pendingBefore))
}

func (t *Tx) numbers(what, q string, args ...any) ([]int64, error) {
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, wrapErr(what, err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return nil, wrapErr(what, err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr(what, err)
	}
	return out, nil
}

// LastCustomerMessage returns the id of the customer's latest public
// message on a ticket (0 if none).
func (t *Tx) LastCustomerMessage(ticket int64) (int64, error) {
	var id int64
	err := t.queryRow(`SELECT id FROM messages WHERE ticket = ? AND author = 'customer' AND internal = 0 ORDER BY id DESC LIMIT 1`, ticket).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, wrapErr("last customer message", err)
	}
	return id, nil
}

// SearchQuery selects tickets for Search.
type SearchQuery struct {
	Text   string // words, a requester address, or a ticket number ("12", "#12")
	Status string // "" for all
	Limit  int    // 0 for 50
}

// SearchHit is one ticket found, best first.
type SearchHit struct {
	Ticket  *Ticket
	Match   string  // number, requester, text
	Snippet string  // the matching words in context, marked with [ ]
	Rank    float64 // BM25 of the best matching message, negated: lower is better
}

// Search finds tickets by number, by requester address, or by words in the
// subjects and texts of their messages (FTS4, ranked by BM25, one hit per
// ticket with the snippet of its best message). Number and address matches
// come first.
func (t *Tx) Search(q SearchQuery) ([]SearchHit, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	text := strings.TrimSpace(q.Text)
	var hits []SearchHit
	seen := map[int64]bool{}
	add := func(tk *Ticket, match, snippet string, rank float64) {
		if seen[tk.Number] || len(hits) >= q.Limit || (q.Status != "" && tk.Status != q.Status) {
			return
		}
		seen[tk.Number] = true
		hits = append(hits, SearchHit{Ticket: tk, Match: match, Snippet: snippet, Rank: rank})
	}
	if n, err := strconv.ParseInt(strings.TrimPrefix(text, "#"), 10, 64); err == nil && n > 0 {
		tk, err := t.TicketByNumber(n)
		if err == nil {
			add(tk, "number", "", 0)
		} else if !errors.Is(err, ErrNotFound) {
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

func scanTickets(rows *sql.Rows) ([]*Ticket, error) {
	defer rows.Close()
	var out []*Ticket
	for rows.Next() {
		tk, err := scanTicket(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, tk)
	}
	return out, rows.Err()
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
