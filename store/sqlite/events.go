package sqlite

import "github.com/ticketd/ticketd"

// AddEvents appends several entries, in order, in one statement.
func (t *Tx) AddEvents(es []*ticketd.Event) error {
	if len(es) == 0 {
		return nil
	}
	args := make([]any, 0, 5*len(es))
	for _, e := range es {
		args = append(args, e.Ticket, e.Type, e.Actor, ms(e.At), e.Detail)
	}
	last, err := t.insert("add event", `INSERT INTO events(ticket, type, actor, at, detail) VALUES `+placeholders(len(es), "(?,?,?,?,?)"), args...)
	if err != nil {
		return err
	}
	for i, e := range es {
		e.ID = last - int64(len(es)-1-i)
	}
	return nil
}

// Events returns a ticket's history, oldest first.
func (t *Tx) Events(ticket int64) ([]ticketd.Event, error) {
	rows, err := t.query(`SELECT id, ticket, type, actor, at, detail FROM events WHERE ticket = ? ORDER BY id`, ticket)
	if err != nil {
		return nil, wrapErr("events", err)
	}
	defer rows.Close()
	var out []ticketd.Event
	for rows.Next() {
		var e ticketd.Event
		var at int64
		if err := rows.Scan(&e.ID, &e.Ticket, &e.Type, &e.Actor, &at, &e.Detail); err != nil {
			return nil, wrapErr("events", err)
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
