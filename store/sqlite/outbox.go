package sqlite

import (
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/ticketd/ticketd"
)

// CountAcks counts the acknowledgements queued for addr since a moment.
func (t *Tx) CountAcks(addr string, since time.Time) (int, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM outbox WHERE kind = 'ack' AND rcpt = ? AND created_at >= ?`, strings.ToLower(addr), ms(since)).Scan(&n)
	if err != nil {
		return 0, wrapErr("count acknowledgements", err)
	}
	return n, nil
}

// Enqueue adds outbox rows in one statement: a mail usually causes
// several (acknowledgement, one notification per agent).
func (t *Tx) Enqueue(os ...*ticketd.Outgoing) error {
	if len(os) == 0 {
		return nil
	}
	q := `INSERT INTO outbox(ticket, kind, rcpt, message_ref, message_id, params, state, created_at, next_at, attempts, last_error) VALUES ` +
		placeholders(len(os), "(?,?,?,?,?,?,?,?,?,0,'')")
	args := make([]any, 0, 9*len(os))
	for _, o := range os {
		if o.State == "" {
			o.State = ticketd.OutQueued
		}
		args = append(args, nullID(o.Ticket), o.Kind, o.Rcpt, nullID(o.MessageRef), o.MessageID, o.Params.Encode(), o.State, ms(o.CreatedAt), ms(o.NextAt))
	}
	last, err := t.insert("enqueue", q, args...)
	if err != nil {
		return err
	}
	// One INSERT gives its rows consecutive ids, the last one reported.
	for i, o := range os {
		o.ID = last - int64(len(os)-1-i)
	}
	return nil
}

// placeholders repeats one row's "(?,…)" n times, comma separated.
func placeholders(n int, row string) string {
	return strings.TrimSuffix(strings.Repeat(row+",", n), ",")
}

const outCols = `id, COALESCE(ticket,0), kind, rcpt, COALESCE(message_ref,0), message_id, params, state, created_at, next_at, attempts, last_error, COALESCE(sent_at,0)`

func scanOut(row scanner) (*ticketd.Outgoing, error) {
	o := &ticketd.Outgoing{}
	var c, n, s int64
	var params string
	if err := row.Scan(&o.ID, &o.Ticket, &o.Kind, &o.Rcpt, &o.MessageRef, &o.MessageID, &params, &o.State, &c, &n, &o.Attempts, &o.LastError, &s); err != nil {
		return nil, err
	}
	var err error
	if o.Params, err = ticketd.DecodeParams(params); err != nil {
		return nil, fmt.Errorf("outbox row %d params: %w", o.ID, err)
	}
	o.CreatedAt, o.NextAt, o.SentAt = fromMS(c), fromMS(n), fromMS(s)
	return o, nil
}

// DueOutgoing lists queued rows due at or before now, oldest first.
func (t *Tx) DueOutgoing(now time.Time, limit int) ([]*ticketd.Outgoing, error) {
	return t.outgoing(`state = 'queued' AND next_at <= ? ORDER BY next_at, id LIMIT ?`, ms(now), limit)
}

// NextOutgoingAt returns when the earliest queued row is due (zero if none).
func (t *Tx) NextOutgoingAt() (time.Time, error) {
	var v sql.NullInt64
	if err := t.queryRow(`SELECT MIN(next_at) FROM outbox WHERE state = 'queued'`).Scan(&v); err != nil {
		return time.Time{}, wrapErr("next outgoing", err)
	}
	if !v.Valid {
		return time.Time{}, nil
	}
	return time.UnixMilli(v.Int64).UTC(), nil
}

func (t *Tx) outgoing(where string, args ...any) ([]*ticketd.Outgoing, error) {
	return t.outRows("outbox", `SELECT `+outCols+` FROM outbox WHERE `+where, args...)
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

// MarkSent records a delivery; it only moves a row that is still queued.
func (t *Tx) MarkSent(id int64, at time.Time) error {
	_, err := t.exec("mark sent", `UPDATE outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1, last_error = '' WHERE id = ? AND state = 'queued'`, ms(at), id)
	return err
}

// MarkRetry records a failed attempt and when to try again.
func (t *Tx) MarkRetry(id int64, next time.Time, errText string) error {
	_, err := t.exec("mark retry", `UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE id = ? AND state = 'queued'`, ms(next), errText, id)
	return err
}

// MarkFailed gives up on a row.
func (t *Tx) MarkFailed(id int64, errText string) error {
	_, err := t.exec("mark failed", `UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ? AND state = 'queued'`, errText, id)
	return err
}

// NotificationCounts counts, per recipient, the mails to agents queued
// about a ticket since a moment.
func (t *Tx) NotificationCounts(ticket int64, since time.Time) (map[string]int, error) {
	rows, err := t.query(`SELECT rcpt, kind, COUNT(*) FROM outbox WHERE ticket = ? AND created_at >= ? GROUP BY rcpt, kind`, ticket, ms(since))
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
