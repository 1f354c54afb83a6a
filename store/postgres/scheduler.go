package postgres

import (
	"time"

	"github.com/jackc/pgx/v5"
)

// DueReminders returns the pending tickets of a mailbox that turned pending
// at or before pendingBefore and have not been reminded in this pending
// period (the tickets_remind_due index).
func (t *Tx) DueReminders(mailbox string, pendingBefore time.Time) ([]int64, error) {
	return t.numbers("due reminders",
		`SELECT number FROM tickets
		 WHERE lower(mailbox) = lower($1) AND status = 'pendiente' AND reminder_sent_at IS NULL AND pending_since <= $2
		 ORDER BY pending_since, number`,
		mailbox, ts(pendingBefore))
}

// DueCloses returns the pending tickets of a mailbox reminded at or before
// remindedBefore that turned pending at or before pendingBefore (the
// tickets_close_due index).
func (t *Tx) DueCloses(mailbox string, remindedBefore, pendingBefore time.Time) ([]int64, error) {
	return t.numbers("due closes",
		`SELECT number FROM tickets
		 WHERE lower(mailbox) = lower($1) AND status = 'pendiente' AND reminder_sent_at IS NOT NULL
		   AND reminder_sent_at <= $2 AND pending_since <= $3
		 ORDER BY reminder_sent_at, number`,
		mailbox, ts(remindedBefore), ts(pendingBefore))
}

func (t *Tx) numbers(what, q string, args ...any) ([]int64, error) {
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, wrapErr(what, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, wrapErr(what, err)
	}
	return out, nil
}
