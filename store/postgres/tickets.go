package postgres

import (
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ticketd/ticketd"
)

const ticketCols = `number, token, mailbox, requester_addr, requester_name, subject, status, assignee, priority,
	created_at, updated_at, pending_since, reminder_sent_at, closed_at`

type scanner interface{ Scan(...any) error }

func scanTicket(row scanner) (*ticketd.Ticket, error) {
	tk := &ticketd.Ticket{}
	var c, u time.Time
	var p, r, cl *time.Time
	err := row.Scan(&tk.Number, &tk.Token, &tk.Mailbox, &tk.RequesterAddr, &tk.RequesterName, &tk.Subject, &tk.Status,
		&tk.Assignee, &tk.Priority, &c, &u, &p, &r, &cl)
	if err != nil {
		return nil, err
	}
	tk.CreatedAt, tk.UpdatedAt, tk.PendingSince, tk.ReminderSentAt, tk.ClosedAt = fromT(c), fromT(u), fromTS(p), fromTS(r), fromTS(cl)
	return tk, nil
}

// oneTicket reads one ticket; in a write transaction it is locked until
// the commit, so that what the caller decides from it still holds when it
// writes (another process's change waits, or is waited for).
func (t *Tx) oneTicket(what, where string, arg any) (*ticketd.Ticket, error) {
	q := `SELECT ` + ticketCols + ` FROM tickets WHERE ` + where
	if t.write {
		q += ` FOR UPDATE`
	}
	tk, err := scanTicket(t.queryRow(q, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ticketd.ErrNotFound
	}
	if err != nil {
		return nil, wrapErr(what, err)
	}
	if tk.Tags, err = t.Tags(tk.Number); err != nil {
		return nil, err
	}
	return tk, nil
}

// TicketByToken finds a ticket by its reply token.
func (t *Tx) TicketByToken(token string) (*ticketd.Ticket, error) {
	return t.oneTicket("ticket by token", "token = $1", token)
}

// TicketByNumber finds a ticket by its number.
func (t *Tx) TicketByNumber(n int64) (*ticketd.Ticket, error) {
	return t.oneTicket("ticket by number", "number = $1", n)
}

// CreateTicket inserts a ticket and sets its number. Numbers come from the
// table's identity sequence, unique across every process; a transaction
// that rolls back leaves a gap.
func (t *Tx) CreateTicket(tk *ticketd.Ticket) error {
	if tk.Priority == "" {
		tk.Priority = ticketd.DefaultPriority
	}
	id, err := t.insertID("create ticket",
		`INSERT INTO tickets(token, mailbox, requester_addr, requester_name, subject, status, assignee, priority, created_at, updated_at, pending_since, reminder_sent_at, closed_at)
		 VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) RETURNING number`,
		tk.Token, tk.Mailbox, tk.RequesterAddr, tk.RequesterName, tk.Subject, tk.Status, tk.Assignee, tk.Priority,
		ts(tk.CreatedAt), ts(tk.UpdatedAt), nullTS(tk.PendingSince), nullTS(tk.ReminderSentAt), nullTS(tk.ClosedAt))
	tk.Number = id
	return err
}

// SaveTicket writes a ticket's mutable fields back.
func (t *Tx) SaveTicket(tk *ticketd.Ticket) error {
	_, err := t.exec("save ticket",
		`UPDATE tickets SET subject=$1, status=$2, assignee=$3, priority=$4, updated_at=$5, pending_since=$6, reminder_sent_at=$7, closed_at=$8 WHERE number=$9`,
		tk.Subject, tk.Status, tk.Assignee, tk.Priority, ts(tk.UpdatedAt), nullTS(tk.PendingSince), nullTS(tk.ReminderSentAt), nullTS(tk.ClosedAt), tk.Number)
	return err
}

// ListTickets returns tickets, newest first, with their tags.
func (t *Tx) ListTickets(f ticketd.TicketFilter) ([]*ticketd.Ticket, error) {
	q := `SELECT ` + ticketCols + ` FROM tickets`
	var args []any
	if f.Status != "" {
		args = append(args, f.Status)
		q += ` WHERE status = $1`
	}
	q += ` ORDER BY number DESC`
	if f.Limit > 0 {
		args = append(args, f.Limit)
		q += ` LIMIT $` + strconv.Itoa(len(args))
	}
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, wrapErr("list tickets", err)
	}
	out, err := scanTickets(rows)
	if err != nil {
		return nil, wrapErr("list tickets", err)
	}
	return out, t.fillTags(out)
}

// fillTags reads the tags of many tickets in one query.
func (t *Tx) fillTags(tks []*ticketd.Ticket) error {
	if len(tks) == 0 {
		return nil
	}
	nums := make([]int64, len(tks))
	by := make(map[int64]*ticketd.Ticket, len(tks))
	for i, tk := range tks {
		nums[i] = tk.Number
		tk.Tags = []string{}
		by[tk.Number] = tk
	}
	rows, err := t.query(`SELECT ticket, tag FROM tags WHERE ticket = ANY($1) ORDER BY ticket, tag`, nums)
	if err != nil {
		return wrapErr("tags", err)
	}
	defer rows.Close()
	for rows.Next() {
		var n int64
		var tag string
		if err := rows.Scan(&n, &tag); err != nil {
			return wrapErr("tags", err)
		}
		by[n].Tags = append(by[n].Tags, tag)
	}
	if err := rows.Err(); err != nil {
		return wrapErr("tags", err)
	}
	return nil
}

// Tags returns a ticket's tags, sorted.
func (t *Tx) Tags(ticket int64) ([]string, error) {
	rows, err := t.query(`SELECT tag FROM tags WHERE ticket = $1 ORDER BY tag`, ticket)
	if err != nil {
		return nil, wrapErr("tags", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, wrapErr("tags", err)
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// AddTag adds a tag; adding one twice is no error. It reports whether it was new.
func (t *Tx) AddTag(ticket int64, tag string) (bool, error) {
	res, err := t.exec("add tag", `INSERT INTO tags(ticket, tag) VALUES ($1, $2) ON CONFLICT DO NOTHING`, ticket, tag)
	return res.RowsAffected() > 0, err
}

// RemoveTag removes a tag and reports whether it was there.
func (t *Tx) RemoveTag(ticket int64, tag string) (bool, error) {
	res, err := t.exec("remove tag", `DELETE FROM tags WHERE ticket = $1 AND tag = $2`, ticket, tag)
	return res.RowsAffected() > 0, err
}

func scanTickets(rows pgx.Rows) ([]*ticketd.Ticket, error) {
	defer rows.Close()
	var out []*ticketd.Ticket
	for rows.Next() {
		tk, err := scanTicket(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, tk)
	}
	return out, rows.Err()
}
