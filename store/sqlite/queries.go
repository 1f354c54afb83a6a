package sqlite

import (
	"github.com/ticketd/ticketd"

	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// InsertRaw stores a message's bytes exactly as received.
func (t *Tx) InsertRaw(r *ticketd.Raw) error {
	id, err := t.insert("insert raw",
		`INSERT INTO raw_messages(received_at, source, envelope_from, recipients, size, sha256, data) VALUES (?,?,?,?,?,?,?)`,
		ms(r.ReceivedAt), r.Source, r.EnvelopeFrom, strings.Join(r.Recipients, "\n"), len(r.Data), r.SHA256, r.Data)
	r.ID = id
	return err
}

// ticketd.Raw returns a stored raw message.
func (t *Tx) Raw(id int64) (*ticketd.Raw, error) {
	r := &ticketd.Raw{ID: id}
	var at int64
	var rcpts string
	err := t.queryRow(`SELECT received_at, source, envelope_from, recipients, sha256, data FROM raw_messages WHERE id = ?`, id).
		Scan(&at, &r.Source, &r.EnvelopeFrom, &rcpts, &r.SHA256, &r.Data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ticketd.ErrNotFound
	}
	if err != nil {
		return nil, wrapErr("get raw", err)
	}
	r.ReceivedAt = fromMS(at)
	if rcpts != "" {
		r.Recipients = strings.Split(rcpts, "\n")
	}
	return r, nil
}

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

// InsertMessage stores a message and its attachments' metadata.
func (t *Tx) InsertMessage(m *ticketd.Message) error {
	id, err := t.insert("insert message",
		`INSERT INTO messages(ticket, raw_id, author, from_addr, from_name, message_id, subject, text, new_text, cut_flagged, internal, automatic, unverified, participants, parse_error, created_at)
		 VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		m.Ticket, nullID(m.RawID), m.Author, m.FromAddr, m.FromName, m.MessageID, m.Subject, textUnlessSame(m.Text, m.NewText), m.NewText,
		m.CutFlagged, m.Internal, m.Automatic, m.Unverified, strings.Join(m.Participants, "\n"), m.ParseError, ms(m.CreatedAt))
	if err != nil {
		return err
	}
	m.ID = id
	for i := range m.Attachments {
		a := &m.Attachments[i]
		a.Message = id
		if a.ID, err = t.insert("insert attachment",
			`INSERT INTO attachments(message, part_index, filename, content_type, size) VALUES (?,?,?,?,?)`,
			id, a.PartIndex, a.Filename, a.ContentType, a.Size); err != nil {
			return err
		}
	}
	return nil
}

// textUnlessSame stores a message's whole text only where the cut changed
// more than surrounding white space: most first mails are all new text,
// and their bytes are then written twice (raw and text), not three times.
func textUnlessSame(text, newText string) any {
	if strings.TrimSpace(text) == newText {
		return nil
	}
	return text
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

const messageCols = `id, ticket, COALESCE(raw_id,0), author, from_addr, from_name, message_id, subject, COALESCE(text, new_text), new_text,
	cut_flagged, internal, automatic, unverified, participants, parse_error, created_at`

func scanMessage(row scanner) (*ticketd.Message, error) {
	m := &ticketd.Message{}
	var parts string
	var at int64
	err := row.Scan(&m.ID, &m.Ticket, &m.RawID, &m.Author, &m.FromAddr, &m.FromName, &m.MessageID, &m.Subject, &m.Text, &m.NewText,
		&m.CutFlagged, &m.Internal, &m.Automatic, &m.Unverified, &parts, &m.ParseError, &at)
	if err != nil {
		return nil, err
	}
	if parts != "" {
		m.Participants = strings.Split(parts, "\n")
	}
	m.CreatedAt = fromMS(at)
	return m, nil
}

// ticketd.Message returns one message with its attachments.
func (t *Tx) Message(id int64) (*ticketd.Message, error) {
	m, err := scanMessage(t.queryRow(`SELECT `+messageCols+` FROM messages WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ticketd.ErrNotFound
	}
	if err != nil {
		return nil, wrapErr("get message", err)
	}
	if m.Attachments, err = t.attachments(`message = ?`, id); err != nil {
		return nil, err
	}
	return m, nil
}

// Messages returns a ticket's messages, oldest first, with attachments.
func (t *Tx) Messages(ticket int64) ([]*ticketd.Message, error) {
	rows, err := t.query(`SELECT `+messageCols+` FROM messages WHERE ticket = ? ORDER BY id`, ticket)
	if err != nil {
		return nil, wrapErr("messages", err)
	}
	var out []*ticketd.Message
	byID := map[int64]*ticketd.Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			rows.Close()
			return nil, wrapErr("messages", err)
		}
		out = append(out, m)
		byID[m.ID] = m
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrapErr("messages", err)
	}
	atts, err := t.attachments(`message IN (SELECT id FROM messages WHERE ticket = ?)`, ticket)
	if err != nil {
		return nil, err
	}
	for _, a := range atts {
		if m := byID[a.Message]; m != nil {
			m.Attachments = append(m.Attachments, a)
		}
	}
	return out, nil
}

func (t *Tx) attachments(where string, arg any) ([]ticketd.Attachment, error) {
	rows, err := t.query(`SELECT id, message, part_index, filename, content_type, size FROM attachments WHERE `+where+` ORDER BY id`, arg)
	if err != nil {
		return nil, wrapErr("attachments", err)
	}
	defer rows.Close()
	var out []ticketd.Attachment
	for rows.Next() {
		var a ticketd.Attachment
		if err := rows.Scan(&a.ID, &a.Message, &a.PartIndex, &a.Filename, &a.ContentType, &a.Size); err != nil {
			return nil, wrapErr("attachments", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// ticketd.Attachment returns one attachment's metadata.
func (t *Tx) Attachment(id int64) (*ticketd.Attachment, error) {
	as, err := t.attachments(`id = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(as) == 0 {
		return nil, ticketd.ErrNotFound
	}
	return &as[0], nil
}

// MessagesByMessageID finds stored messages carrying a ticketd.Message-ID. A real
// ticketd.Message-ID is stored a few times at most (once per mailbox or ticket);
// the limit keeps a sender who repeats one from making every lookup slower.
func (t *Tx) MessagesByMessageID(id string) ([]ticketd.MessageRef, error) {
	rows, err := t.query(`SELECT m.ticket, m.id, m.from_addr, m.participants, COALESCE(r.sha256,'') FROM messages m LEFT JOIN raw_messages r ON r.id = m.raw_id
		 WHERE m.message_id = ? ORDER BY m.id LIMIT 20`, id)
	if err != nil {
		return nil, wrapErr("message by id", err)
	}
	defer rows.Close()
	var out []ticketd.MessageRef
	for rows.Next() {
		var r ticketd.MessageRef
		var parts string
		if err := rows.Scan(&r.Ticket, &r.Message, &r.FromAddr, &parts, &r.SHA256); err != nil {
			return nil, wrapErr("message by id", err)
		}
		if parts != "" {
			r.Participants = strings.Split(parts, "\n")
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

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
	rows, err := t.query(`SELECT `+outCols+` FROM outbox WHERE `+where, args...)
	if err != nil {
		return nil, wrapErr("outbox", err)
	}
	defer rows.Close()
	var out []*ticketd.Outgoing
	for rows.Next() {
		o, err := scanOut(rows)
		if err != nil {
			return nil, wrapErr("outbox", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
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

// Claim takes a due row for one sender until a lease runs out, so that two
// processes on one database (serve beside inject or sweep) never send the
// same row at the same time. A crashed sender's lease simply expires.
func (t *Tx) Claim(id int64, now, until time.Time) (bool, error) {
	res, err := t.exec("claim", `UPDATE outbox SET next_at = ? WHERE id = ? AND state = 'queued' AND next_at <= ?`, ms(until), id, ms(now))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ThreadIDs returns the ticketd.Message-IDs a reply on this ticket should refer to:
// the customer's first mail (the thread's root) and the customer's latest.
func (t *Tx) ThreadIDs(ticket int64) (ticketd.Thread, error) {
	var th ticketd.Thread
	q := `SELECT message_id FROM messages WHERE ticket = ? AND author = 'customer' AND internal = 0 AND message_id <> '' ORDER BY id `
	if err := t.queryRow(q+`ASC LIMIT 1`, ticket).Scan(&th.Root); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return th, wrapErr("thread ids", err)
	}
	if err := t.queryRow(q+`DESC LIMIT 1`, ticket).Scan(&th.Last); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return th, wrapErr("thread ids", err)
	}
	return th, nil
}

// RootParticipants returns the To/Cc addresses of the ticket's first message.
func (t *Tx) RootParticipants(ticket int64) ([]string, error) {
	var parts string
	err := t.queryRow(`SELECT participants FROM messages WHERE ticket = ? ORDER BY id LIMIT 1`, ticket).Scan(&parts)
	if errors.Is(err, sql.ErrNoRows) || parts == "" {
		return nil, nil
	}
	if err != nil {
		return nil, wrapErr("root participants", err)
	}
	return strings.Split(parts, "\n"), nil
}
