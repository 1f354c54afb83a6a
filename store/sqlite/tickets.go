package sqlite

import (
	"database/sql"
	"errors"

	"github.com/ticketd/ticketd"
)

const ticketCols = `number, token, mailbox, requester_addr, requester_name, subject, status, assignee, priority,

	created_at, updated_at, COALESCE(pending_since,0), COALESCE(reminder_sent_at,0), COALESCE(closed_at,0)`

type scanner interface{ Scan(...any) error }

func scanTicket(row scanner) (*ticketd.Ticket, error) {
	tk := &ticketd.Ticket{}
	var c, u, p, r, cl int64
	err := row.Scan(&tk.Number, &tk.Token, &tk.Mailbox, &tk.RequesterAddr, &tk.RequesterName, &tk.Subject, &tk.Status,
		&tk.Assignee, &tk.Priority, &c, &u, &p, &r, &cl)
	if err != nil {
		return nil, err
	}
	tk.CreatedAt, tk.UpdatedAt, tk.PendingSince, tk.ReminderSentAt, tk.ClosedAt = fromMS(c), fromMS(u), fromMS(p), fromMS(r), fromMS(cl)
	return tk, nil
}

func (t *Tx) oneTicket(what, where string, arg any) (*ticketd.Ticket, error) {
	tk, err := scanTicket(t.queryRow(`SELECT `+ticketCols+` FROM tickets WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
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
	return t.oneTicket("ticket by token", "token = ?", token)
}

// TicketByNumber finds a ticket by its number.
func (t *Tx) TicketByNumber(n int64) (*ticketd.Ticket, error) {
	return t.oneTicket("ticket by number", "number = ?", n)
}

// CreateTicket inserts a ticket and sets its number.
func (t *Tx) CreateTicket(tk *ticketd.Ticket) error {
	if tk.Priority == "" {
		tk.Priority = "media"
	}
	id, err := t.insert("create ticket",
		`INSERT INTO tickets(token, mailbox, requester_addr, requester_name, subject, status, assignee, priority, created_at, updated_at, pending_since, reminder_sent_at, closed_at)
		 VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		tk.Token, tk.Mailbox, tk.RequesterAddr, tk.RequesterName, tk.Subject, tk.Status, tk.Assignee, tk.Priority,
		ms(tk.CreatedAt), ms(tk.UpdatedAt), nullMS(tk.PendingSince), nullMS(tk.ReminderSentAt), nullMS(tk.ClosedAt))
	tk.Number = id
	return err
}

// SaveTicket writes a ticket's mutable fields back.
func (t *Tx) SaveTicket(tk *ticketd.Ticket) error {
	_, err := t.exec("save ticket",
		`UPDATE tickets SET subject=?, status=?, assignee=?, priority=?, updated_at=?, pending_since=?, reminder_sent_at=?, closed_at=? WHERE number=?`,
		tk.Subject, tk.Status, tk.Assignee, tk.Priority, ms(tk.UpdatedAt), nullMS(tk.PendingSince), nullMS(tk.ReminderSentAt), nullMS(tk.ClosedAt), tk.Number)
	return err
}

// ListTickets returns tickets, newest first.
func (t *Tx) ListTickets(f ticketd.TicketFilter) ([]*ticketd.Ticket, error) {
	q := `SELECT ` + ticketCols + ` FROM tickets`
	var args []any
	if f.Status != "" {
		q += ` WHERE status = ?`
		args = append(args, f.Status)
	}
	q += ` ORDER BY number DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, wrapErr("list tickets", err)
	}
	var out []*ticketd.Ticket
	for rows.Next() {
		tk, err := scanTicket(rows)
		if err != nil {
			rows.Close()
			return nil, wrapErr("list tickets", err)
		}
		out = append(out, tk)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrapErr("list tickets", err)
	}
	for _, tk := range out {
		if tk.Tags, err = t.Tags(tk.Number); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Tags returns a ticket's tags, sorted.
func (t *Tx) Tags(ticket int64) ([]string, error) {
	rows, err := t.query(`SELECT tag FROM tags WHERE ticket = ? ORDER BY tag`, ticket)
	if err != nil {
		return nil, wrapErr("tags", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, wrapErr("tags", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// AddTag adds a tag; adding one twice is no error. It reports whether it was new.
func (t *Tx) AddTag(ticket int64, tag string) (bool, error) {
	res, err := t.exec("add tag", `INSERT OR IGNORE INTO tags(ticket, tag) VALUES (?, ?)`, ticket, tag)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// RemoveTag removes a tag and reports whether it was there.
func (t *Tx) RemoveTag(ticket int64, tag string) (bool, error) {
	res, err := t.exec("remove tag", `DELETE FROM tags WHERE ticket = ? AND tag = ?`, ticket, tag)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

func scanTickets(rows *sql.Rows) ([]*ticketd.Ticket, error) {
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
