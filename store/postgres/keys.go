package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ticketd/ticketd"
)

// ReplyKeys returns the key that signs reply addresses (nil when there is
// none yet) and the keys it replaced, newest first.
func (s *Store) ReplyKeys(ctx context.Context) ([]byte, []ticketd.RetiredKey, error) {
	var cur []byte
	var old []ticketd.RetiredKey
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		cur, old = nil, old[:0]
		err := tx.QueryRow(ctx, `SELECT value FROM secrets WHERE name = 'reply_key'`).Scan(&cur)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT value, retired_at FROM retired_reply_keys ORDER BY retired_at DESC, id DESC`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k ticketd.RetiredKey
			if err := rows.Scan(&k.Key, &k.RetiredAt); err != nil {
				return err
			}
			old = append(old, k)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, nil, wrapErr("reply keys", err)
	}
	return cur, old, nil
}

// RotateReplyKey makes fresh the signing key in one transaction: the key it
// replaces is kept in retired_reply_keys as retired at now. Two rotations
// at once take turns on the key's row.
func (s *Store) RotateReplyKey(ctx context.Context, fresh []byte, now time.Time) (bool, error) {
	var hadKey bool
	rotate := func(tx pgx.Tx) error {
		hadKey = false
		var cur []byte
		err := tx.QueryRow(ctx, `SELECT value FROM secrets WHERE name = 'reply_key' FOR UPDATE`).Scan(&cur)
		if errors.Is(err, pgx.ErrNoRows) {
			// None yet: the first one. A process that starts meanwhile and
			// stores its own (ReplyKey) makes this insert fail, and the
			// rotation is tried again on its key.
			_, err = tx.Exec(ctx, `INSERT INTO secrets(name, value, created_at) VALUES ('reply_key', $1, $2)`, fresh, now)
			return err
		}
		if err != nil {
			return err
		}
		hadKey = true
		if _, err := tx.Exec(ctx, `INSERT INTO retired_reply_keys(value, retired_at) VALUES ($1, $2)`, cur, now); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE secrets SET value = $1, created_at = $2 WHERE name = 'reply_key'`, fresh, now)
		return err
	}
	err := pgx.BeginFunc(ctx, s.pool, rotate)
	if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "23505" {
		err = pgx.BeginFunc(ctx, s.pool, rotate)
	}
	if err != nil {
		return false, wrapErr("rotate reply key", err)
	}
	return hadKey, nil
}
