package sqlite

import (
	"database/sql"
	"encoding/binary"
	"errors"
	"math"
	"strings"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// registerSearchFuncs adds the SQL functions search needs to a new
// connection.
func registerSearchFuncs(c *sqlite3.SQLiteConn) error {
	return c.RegisterFunc("bm25", bm25, true)
}

// BM25's usual constants, as in SQLite's FTS5.
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// bm25 scores one FTS4 row from matchinfo(table, 'pcnalx') the way FTS5's
// bm25() does: every phrase's BM25 term summed over the row's columns, the
// row's length against the average, negated so that lower is better (FTS5's
// convention, kept for the JSON "rank").
func bm25(info []byte) (float64, error) {
	if len(info)%4 != 0 || len(info) < 12 {
		return 0, errors.New("bm25: argument is not matchinfo 'pcnalx'")
	}
	v := make([]uint32, len(info)/4)
	for i := range v {
		v[i] = binary.NativeEndian.Uint32(info[4*i:])
	}
	p, c, n := int(v[0]), int(v[1]), float64(v[2])
	if len(v) != 3+2*c+3*p*c {
		return 0, errors.New("bm25: argument is not matchinfo 'pcnalx'")
	}
	avg, length, x := v[3:3+c], v[3+c:3+2*c], v[3+2*c:]
	var avgdl, dl float64
	for i := 0; i < c; i++ {
		avgdl += float64(avg[i])
		dl += float64(length[i])
	}
	if avgdl == 0 {
		avgdl = 1
	}
	var score float64
	for i := 0; i < p; i++ {
		var hits, docs float64
		for j := 0; j < c; j++ {
			k := 3 * (i*c + j)
			hits += float64(x[k])
			// Rows with the phrase in any column: FTS4 counts per column;
			// the largest count is the closest to the row count.
			docs = math.Max(docs, float64(x[k+2]))
		}
		idf := math.Log((n - docs + 0.5) / (docs + 0.5))
		if idf <= 0 {
			idf = 1e-6
		}
		score += idf * hits * (bm25K1 + 1) / (hits + bm25K1*(1-bm25B+bm25B*dl/avgdl))
	}
	return -score, nil
}

// textHit is one message that matched a text search.
type textHit struct {
	ticket  int64
	rank    float64
	snippet string
}

// searchText finds messages matching an FTS4 query, best first.
func (t *Tx) searchText(match string, limit int) ([]textHit, error) {
	rows, err := t.query(`SELECT m.ticket, r.rank, r.snip FROM (
			SELECT docid, bm25(matchinfo(message_fts, 'pcnalx')) AS rank,
				snippet(message_fts, '[', ']', '…', -1, 12) AS snip
			FROM message_fts WHERE message_fts MATCH ?) r
		JOIN messages m ON m.id = r.docid
		ORDER BY r.rank, m.id LIMIT ?`, match, limit)
	if err != nil {
		return nil, wrapErr("search text", err)
	}
	defer rows.Close()
	var found []textHit
	for rows.Next() {
		var h textHit
		var snip sql.NullString
		if err := rows.Scan(&h.ticket, &h.rank, &snip); err != nil {
			return nil, wrapErr("search text", err)
		}
		h.snippet = strings.Join(strings.Fields(snip.String), " ")
		found = append(found, h)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr("search text", err)
	}
	return found, nil
}
