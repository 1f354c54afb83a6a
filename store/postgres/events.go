package postgres

import (
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ticketd/ticketd"
)

// AddEvents appends several entries, in order, in one round trip.
func (t *Tx) AddEvents(es []*ticketd.Event) error {
	if len(es) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, e := range es {
		b.Queue(`INSERT INTO events(ticket, type, actor, at, detail) VALUES ($1,$2,$3,$4,$5) RETURNING id`,
			e.Ticket, e.Type, e.Actor, ts(e.At), e.Detail).QueryRow(func(row pgx.Row) error { return row.Scan(&e.ID) })
	}
	if err := t.tx.SendBatch(t.ctx, b).Close(); err != nil {
		return wrapErr("add event", err)
	}
	return nil
}

// Events returns a ticket's history, oldest first.
func (t *Tx) Events(ticket int64) ([]ticketd.Event, error) {
	rows, err := t.query(`SELECT id, ticket, type, actor, at, detail FROM events WHERE ticket = $1 ORDER BY id`, ticket)
	if err != nil {
		return nil, wrapErr("events", err)
	}
	defer rows.Close()
	var out []ticketd.Event
	for rows.Next() {
		var e ticketd.Event
		var at time.Time
		if err := rows.Scan(&e.ID, &e.Ticket, &e.Type, &e.Actor, &at, &e.Detail); err != nil {
			return nil, wrapErr("events", err)
		}
		e.At = fromT(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
