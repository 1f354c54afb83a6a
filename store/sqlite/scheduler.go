package sqlite

import "time"

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
