package sqlite

import (
	"cmp"
	"slices"
	"time"

	"github.com/ticketd/ticketd"
)

// RenewClaim extends owner's lease on a row it still holds; false when the
// row is no longer queued or no longer its own.
func (t *Tx) RenewClaim(id int64, owner string, until time.Time) (bool, error) {
	res, err := t.exec("renew claim", `UPDATE outbox SET next_at = ? WHERE id = ? AND state = 'queued' AND claimed_by = ?`, ms(until), id, owner)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// TakeBackClaims makes every queued row that owner claimed in a previous
// life due now, and returns how many there were.
func (t *Tx) TakeBackClaims(owner string, now time.Time) (int, error) {
	res, err := t.exec("take back claims", `UPDATE outbox SET next_at = ?, claimed_by = '' WHERE state = 'queued' AND claimed_by = ? AND next_at > ?`, ms(now), owner, ms(now))
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// ReleaseClaim forgets who held a row (after a failed attempt, whose retry
// waits for its backoff, not for its holder).
func (t *Tx) ReleaseClaim(id int64) error {
	_, err := t.exec("release claim", `UPDATE outbox SET claimed_by = '' WHERE id = ?`, id)
	return err
}

// ClaimDue claims up to limit due rows for owner in one statement.
func (t *Tx) ClaimDue(owner string, now, until time.Time, limit int) ([]*ticketd.Outgoing, error) {
	out, err := t.outRows("claim due", `UPDATE outbox SET next_at = ?, claimed_by = ? WHERE id IN (
		SELECT id FROM outbox WHERE state = 'queued' AND next_at <= ? ORDER BY next_at, id LIMIT ?)
		RETURNING `+outCols, ms(until), owner, ms(now), limit)
	slices.SortFunc(out, func(a, b *ticketd.Outgoing) int { return cmp.Compare(a.ID, b.ID) })
	return out, err
}
