package sqlite

import (
	"github.com/ticketd/ticketd"

	"context"
	"time"
)

// searchBatch bounds the messages indexed in one transaction, so the
// sessions that share the writer wait a few milliseconds at most: FTS4
// tokenizes a 10 KB message in about 0.3 ms, so a batch of 100 held every
// commit behind it for some 30 ms, the p99 of a busy desk.
const searchBatch = 25

// IndexSearch adds the messages stored since the last call to the search
// index, in batches, and returns how many it indexed.
func (s *Store) IndexSearch(ctx context.Context) (int, error) {
	total := 0
	for {
		var n int
		err := s.Update(ctx, func(tx ticketd.Tx) error {
			var err error
			n, err = tx.(*Tx).indexSearchBatch()
			return err
		})
		total += n
		if err != nil || n < searchBatch {
			return total, err
		}
	}
}

func (t *Tx) indexSearchBatch() (int, error) {
	var from, to int64
	if err := t.queryRow(`SELECT indexed_through FROM search_state WHERE id = 1`).Scan(&from); err != nil {
		return 0, wrapErr("search state", err)
	}
	if err := t.queryRow(`SELECT COALESCE(MAX(id), 0) FROM (SELECT id FROM messages WHERE id > ? ORDER BY id LIMIT ?)`, from, searchBatch).Scan(&to); err != nil {
		return 0, wrapErr("search backlog", err)
	}
	if to <= from {
		return 0, nil
	}
	res, err := t.exec("index messages", `INSERT INTO message_fts(docid, subject, new_text)
		SELECT id, subject, new_text FROM messages WHERE id > ? AND id <= ? ORDER BY id`, from, to)
	if err != nil {
		return 0, err
	}
	if _, err := t.exec("search state", `UPDATE search_state SET indexed_through = ? WHERE id = 1`, to); err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// searchIndexInterval is how long a new message may wait to be searchable
// while a daemon runs.
const searchIndexInterval = time.Second

// indexIfPending keeps the index current in the background. A quick read
// decides whether there is anything to do, so an idle daemon does not write.
func (s *Store) indexIfPending() {
	var pending bool
	s.View(context.Background(), func(tx ticketd.Tx) error {
		return tx.(*Tx).queryRow(`SELECT EXISTS (SELECT 1 FROM messages WHERE id > (SELECT indexed_through FROM search_state WHERE id = 1))`).Scan(&pending)
	})
	if pending {
		s.IndexSearch(context.Background())
	}
}
