package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ticketd/ticketd"
)

// Search finds tickets by number, by requester address, or by words in the
// subjects and texts of their messages (full text over a GIN index, accents
// ignored, ranked by ts_rank, one hit per ticket with the snippet of its
// best message). Number and address matches come first, as on SQLite.
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
		rows, err := t.query(`SELECT `+ticketCols+` FROM tickets WHERE requester_addr = lower($1) ORDER BY number DESC`, addr)
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
	if query := tsQuery(text); query != "" {
		// The best message of each ticket, best tickets first; the status
		// filter is applied in SQL so that a limit counts matching tickets.
		// Only ids and ranks go through the sorts; the texts are read, and
		// the snippets made, for the rows returned only.
		rows, err := t.query(`
			WITH q AS (SELECT to_tsquery('ticketd_search', $1) AS q),
			m AS (
				SELECT m.id, m.ticket, ts_rank(m.search, q.q) AS rank
				FROM messages m, q
				WHERE m.search @@ to_tsquery('ticketd_search', $1) -- a constant: the GIN index
				  AND ($2 = '' OR EXISTS (SELECT 1 FROM tickets tk WHERE tk.number = m.ticket AND tk.status = $2))),
			best AS (
				SELECT DISTINCT ON (ticket) id, ticket, rank FROM m ORDER BY ticket, rank DESC, id),
			top AS (
				SELECT id, ticket, rank FROM best ORDER BY rank DESC, ticket DESC LIMIT $3)
			SELECT top.ticket, top.rank,
				ts_headline('ticketd_search', msg.subject || ' ' || msg.new_text, q.q,
					'StartSel=[, StopSel=], MaxWords=12, MinWords=4, ShortWord=1, MaxFragments=1, FragmentDelimiter=…')
			FROM top JOIN messages msg ON msg.id = top.id, q
			ORDER BY top.rank DESC, top.ticket DESC`, query, string(q.Status), hits.Limit())
		if err != nil {
			return nil, wrapErr("search text", err)
		}
		type row struct {
			ticket  int64
			rank    float64
			snippet string
		}
		var found []row
		for rows.Next() {
			var r row
			var rank float32
			if err := rows.Scan(&r.ticket, &rank, &r.snippet); err != nil {
				rows.Close()
				return nil, wrapErr("search text", err)
			}
			// Lower is better, as with SQLite's bm25.
			r.rank = -float64(rank)
			r.snippet = strings.Join(strings.Fields(r.snippet), " ")
			found = append(found, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, wrapErr("search text", err)
		}
		nums := make([]int64, 0, len(found))
		for _, r := range found {
			if !hits.Has(r.ticket) {
				nums = append(nums, r.ticket)
			}
		}
		byNum, err := t.ticketsByNumber(nums)
		if err != nil {
			return nil, err
		}
		for _, r := range found {
			if tk := byNum[r.ticket]; tk != nil {
				hits.Add(tk, "text", r.snippet, r.rank)
			}
		}
	}
	return hits.Hits(), nil
}

// tsQuery turns what a user typed into a tsquery: every word must appear
// (as a prefix, so "factura" finds "facturas"). Words are split as on
// SQLite (an address stays one word) and each is quoted as a literal, so
// query syntax in the input is never interpreted.
func tsQuery(s string) string {
	var terms []string
	for _, w := range strings.FieldsFunc(s, func(r rune) bool {
		return !(r == '@' || r == '.' || r == '-' || r == '_' || isWordRune(r))
	}) {
		w = strings.Trim(w, ".-_@")
		if w == "" {
			continue
		}
		terms = append(terms, "'"+w+"':*")
	}
	return strings.Join(terms, " & ")
}

// ticketsByNumber reads many tickets, with their tags, in two queries.
func (t *Tx) ticketsByNumber(nums []int64) (map[int64]*ticketd.Ticket, error) {
	out := map[int64]*ticketd.Ticket{}
	if len(nums) == 0 {
		return out, nil
	}
	rows, err := t.query(`SELECT `+ticketCols+` FROM tickets WHERE number = ANY($1)`, nums)
	if err != nil {
		return nil, wrapErr("search tickets", err)
	}
	tks, err := scanTickets(rows)
	if err != nil {
		return nil, wrapErr("search tickets", err)
	}
	if err := t.fillTags(tks); err != nil {
		return nil, err
	}
	for _, tk := range tks {
		out[tk.Number] = tk
	}
	return out, nil
}

func isWordRune(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 0x7f && r != 0xa0
}

// searchBatch bounds the messages indexed in one transaction.
const searchBatch = 500

// IndexSearch indexes the messages stored since the last call, in batches,
// and returns how many it indexed. Several processes may run it at once:
// each takes rows the others are not working on.
func (s *Store) IndexSearch(ctx context.Context) (int, error) {
	total := 0
	for {
		var n int64
		err := s.runIndex(ctx, &n)
		total += int(n)
		if err != nil || n < searchBatch {
			return total, err
		}
	}
}

// runIndex indexes one batch. READ COMMITTED, not serializable: the batch
// only fills a column derived from the row itself, and SKIP LOCKED keeps
// concurrent indexers on different rows.
func (s *Store) runIndex(ctx context.Context, n *int64) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE messages SET search =
				setweight(to_tsvector('ticketd_search', subject), 'A') || to_tsvector('ticketd_search', new_text)
			WHERE id IN (SELECT id FROM messages WHERE search IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)`, searchBatch)
		if err != nil {
			return wrapErr("index messages", err)
		}
		*n = tag.RowsAffected()
		return nil
	})
}

// searchIndexInterval is how long a new message may wait to be searchable
// while a daemon runs.
const searchIndexInterval = time.Second

// indexIfPending keeps the index current in the background; an idle
// daemon only reads.
func (s *Store) indexIfPending() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var pending bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM messages WHERE search IS NULL)`).Scan(&pending); err != nil || !pending {
		return
	}
	s.IndexSearch(ctx)
}
