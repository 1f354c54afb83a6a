package sqlite

import "github.com/ticketd/ticketd"

// ticketd.MetricsCounts counts queued outgoing mail, tickets per status, and the
// mails stored after raw message afterRawID by source. Each query reads an
// index (outbox_due, tickets_status) or a range of raw ids.
func (t *Tx) MetricsCounts(afterRawID int64) (ticketd.MetricsCounts, error) {
	c := ticketd.MetricsCounts{Tickets: map[string]int{}, Received: map[string]int{}}
	if err := t.queryRow(`SELECT COUNT(*) FROM outbox WHERE state = 'queued'`).Scan(&c.OutboxQueued); err != nil {
		return c, wrapErr("metrics outbox", err)
	}
	if err := t.queryRow(`SELECT COALESCE(MAX(id), 0) FROM raw_messages`).Scan(&c.LastRawID); err != nil {
		return c, wrapErr("metrics raw", err)
	}
	if err := t.countInto(c.Tickets, `SELECT status, COUNT(*) FROM tickets GROUP BY status`); err != nil {
		return c, wrapErr("metrics tickets", err)
	}
	if err := t.countInto(c.Received, `SELECT source, COUNT(*) FROM raw_messages WHERE id > ? GROUP BY source`, afterRawID); err != nil {
		return c, wrapErr("metrics received", err)
	}
	return c, nil
}

func (t *Tx) countInto(m map[string]int, q string, args ...any) error {
	rows, err := t.query(q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return err
		}
		m[k] = n
	}
	return rows.Err()
}
