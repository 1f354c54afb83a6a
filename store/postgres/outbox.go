package postgres

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ticketd/ticketd"
)

// CountAcks counts the acknowledgements queued for addr since a moment.
func (t *Tx) CountAcks(addr string, since time.Time) (int, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM outbox WHERE kind = 'ack' AND rcpt = $1 AND created_at >= $2`, strings.ToLower(addr), ts(since)).Scan(&n)
	if err != nil {
		return 0, wrapErr("count acknowledgements", err)
	}
	return n, nil
}

// Enqueue adds outbox rows in one round trip.
func (t *Tx) Enqueue(os ...*ticketd.Outgoing) error {
	if len(os) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, o := range os {
		if o.State == "" {
			o.State = ticketd.OutQueued
		}
		b.Queue(`INSERT INTO outbox(ticket, kind, rcpt, message_ref, message_id, params, state, created_at, next_at, attempts, last_error)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,0,'') RETURNING id`,
			nullID(o.Ticket), o.Kind, o.Rcpt, nullID(o.MessageRef), o.MessageID, o.Params.Encode(), o.State, ts(o.CreatedAt), ts(o.NextAt)).
			QueryRow(func(row pgx.Row) error { return row.Scan(&o.ID) })
	}
	if err := t.tx.SendBatch(t.ctx, b).Close(); err != nil {
		return wrapErr("enqueue", err)
	}
	return nil
}

const outCols = `id, COALESCE(ticket,0), kind, rcpt, COALESCE(message_ref,0), message_id, params, state, created_at, next_at, attempts, last_error, sent_at`

func scanOut(row scanner) (*ticketd.Outgoing, error) {
	o := &ticketd.Outgoing{}
	var c, n time.Time
	var s *time.Time
	var params string
	if err := row.Scan(&o.ID, &o.Ticket, &o.Kind, &o.Rcpt, &o.MessageRef, &o.MessageID, &params, &o.State, &c, &n, &o.Attempts, &o.LastError, &s); err != nil {
		return nil, err
	}
	var err error
	if o.Params, err = ticketd.DecodeParams(params); err != nil {
		return nil, fmt.Errorf("outbox row %d params: %w", o.ID, err)
	}
	o.CreatedAt, o.NextAt, o.SentAt = fromT(c), fromT(n), fromTS(s)
	return o, nil
}

// DueOutgoing lists queued rows due at or before now, oldest first.
func (t *Tx) DueOutgoing(now time.Time, limit int) ([]*ticketd.Outgoing, error) {
	return t.outRows("outbox", `SELECT `+outCols+` FROM outbox WHERE state = 'queued' AND next_at <= $1 ORDER BY next_at, id LIMIT $2`, ts(now), limit)
}

// outRows runs q, which yields outCols, and reads every row it yields.
func (t *Tx) outRows(what, q string, args ...any) ([]*ticketd.Outgoing, error) {
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, wrapErr(what, err)
	}
	defer rows.Close()
	var out []*ticketd.Outgoing
	for rows.Next() {
		o, err := scanOut(rows)
		if err != nil {
			return nil, wrapErr(what, err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr(what, err)
	}
	return out, nil
}

// NextOutgoingAt returns when the earliest queued row is due (zero if none).
func (t *Tx) NextOutgoingAt() (time.Time, error) {
	var v *time.Time
	if err := t.queryRow(`SELECT MIN(next_at) FROM outbox WHERE state = 'queued'`).Scan(&v); err != nil {
		return time.Time{}, wrapErr("next outgoing", err)
	}
	return fromTS(v), nil
}

// MarkSent records a delivery; it only moves a row that is still queued.
func (t *Tx) MarkSent(id int64, at time.Time) error {
	_, err := t.exec("mark sent", `UPDATE outbox SET state = 'sent', sent_at = $1, attempts = attempts + 1, last_error = '' WHERE id = $2 AND state = 'queued'`, ts(at), id)
	return err
}

// MarkRetry records a failed attempt and when to try again.
func (t *Tx) MarkRetry(id int64, next time.Time, errText string) error {
	_, err := t.exec("mark retry", `UPDATE outbox SET attempts = attempts + 1, next_at = $1, last_error = $2 WHERE id = $3 AND state = 'queued'`, ts(next), errText, id)
	return err
}

// MarkFailed gives up on a row.
func (t *Tx) MarkFailed(id int64, errText string) error {
	_, err := t.exec("mark failed", `UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = $1 WHERE id = $2 AND state = 'queued'`, errText, id)
	return err
}

// ClaimDue claims up to limit due rows for owner in one statement; rows
// another transaction holds are skipped (SKIP LOCKED), so processes
// claiming at once take different rows instead of waiting on each other.
func (t *Tx) ClaimDue(owner string, now, until time.Time, limit int) ([]*ticketd.Outgoing, error) {
	out, err := t.outRows("claim due", `UPDATE outbox SET next_at = $1, claimed_by = $2 WHERE id IN (
		SELECT id FROM outbox WHERE state = 'queued' AND next_at <= $3 ORDER BY next_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
		RETURNING `+outCols, ts(until), owner, ts(now), limit)
	slices.SortFunc(out, func(a, b *ticketd.Outgoing) int { return cmp.Compare(a.ID, b.ID) })
	return out, err
}

// RenewClaim extends owner's lease on a row it still holds.
func (t *Tx) RenewClaim(id int64, owner string, until time.Time) (bool, error) {
	tag, err := t.exec("renew claim", `UPDATE outbox SET next_at = $1 WHERE id = $2 AND state = 'queued' AND claimed_by = $3`, ts(until), id, owner)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// TakeBackClaims makes every queued row that owner claimed in a previous
// life due now, and returns how many there were.
func (t *Tx) TakeBackClaims(owner string, now time.Time) (int, error) {
	tag, err := t.exec("take back claims", `UPDATE outbox SET next_at = $1, claimed_by = '' WHERE state = 'queued' AND claimed_by = $2 AND next_at > $1`, ts(now), owner)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}

// ReleaseClaim forgets who held a row.
func (t *Tx) ReleaseClaim(id int64) error {
	_, err := t.exec("release claim", `UPDATE outbox SET claimed_by = '' WHERE id = $1`, id)
	return err
}

// NotificationCounts counts, per recipient, the mails to agents queued
// about a ticket since a moment.
func (t *Tx) NotificationCounts(ticket int64, since time.Time) (map[string]int, error) {
	rows, err := t.query(`SELECT rcpt, kind, COUNT(*) FROM outbox WHERE ticket = $1 AND created_at >= $2 GROUP BY rcpt, kind`, ticket, ts(since))
	if err != nil {
		return nil, wrapErr("notification counts", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var rcpt string
		var kind ticketd.OutboxKind
		var n int
		if err := rows.Scan(&rcpt, &kind, &n); err != nil {
			return nil, wrapErr("notification counts", err)
		}
		if !kind.ToCustomer() {
			out[strings.ToLower(rcpt)] += n
		}
	}
	return out, rows.Err()
}
