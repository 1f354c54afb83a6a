package sqlite

import (
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/ticketd/ticketd"
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

// InsertMessage stores a message, its HTML and its attachments: metadata
// and decoded bytes.
func (t *Tx) InsertMessage(m *ticketd.Message) error {
	id, err := t.insert("insert message",
		`INSERT INTO messages(ticket, raw_id, author, from_addr, from_name, message_id, subject, text, new_text, cut_flagged, internal, automatic, unverified, outsider, participants, parse_error, created_at, html)
		 VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		m.Ticket, nullID(m.RawID), m.Author, m.FromAddr, m.FromName, m.MessageID, m.Subject, textUnlessSame(m.Text, m.NewText), m.NewText,
		m.CutFlagged, m.Internal, m.Automatic, m.Unverified, m.Outsider, strings.Join(m.Participants, "\n"), m.ParseError, ms(m.CreatedAt), m.HTML)
	if err != nil {
		return err
	}
	m.ID = id
	for i := range m.Attachments {
		a := &m.Attachments[i]
		a.Message = id
		if a.ID, err = t.insert("insert attachment",
			`INSERT INTO attachments(message, part_index, filename, content_type, size, content_id, inline) VALUES (?,?,?,?,?,?,?)`,
			id, a.PartIndex, a.Filename, a.ContentType, a.Size, a.ContentID, a.Inline); err != nil {
			return err
		}
		data := a.Content
		if data == nil {
			data = []byte{} // NOT NULL: an empty file is kept as empty
		}
		if _, err := t.exec("insert attachment data", `INSERT INTO attachment_data(attachment, data) VALUES (?,?)`, a.ID, data); err != nil {
			return err
		}
	}
	return nil
}

// MessageHTML returns the HTML body stored with a message; kept is false
// for a message stored before bodies were kept.
func (t *Tx) MessageHTML(id int64) (string, bool, error) {
	var html sql.NullString
	err := t.queryRow(`SELECT html FROM messages WHERE id = ?`, id).Scan(&html)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, ticketd.ErrNotFound
	}
	if err != nil {
		return "", false, wrapErr("message html", err)
	}
	return html.String, html.Valid, nil
}

// AttachmentContent returns an attachment's decoded bytes; kept is false
// for one stored before they were kept.
func (t *Tx) AttachmentContent(id int64) ([]byte, bool, error) {
	var data []byte
	var kept bool
	err := t.queryRow(`SELECT d.data IS NOT NULL, d.data FROM attachments a LEFT JOIN attachment_data d ON d.attachment = a.id WHERE a.id = ?`, id).
		Scan(&kept, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, ticketd.ErrNotFound
	}
	if err != nil {
		return nil, false, wrapErr("attachment content", err)
	}
	if kept && data == nil {
		data = []byte{}
	}
	return data, kept, nil
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
	cut_flagged, internal, automatic, unverified, outsider, participants, parse_error, created_at`

func scanMessage(row scanner) (*ticketd.Message, error) {
	m := &ticketd.Message{}
	var parts string
	var at int64
	err := row.Scan(&m.ID, &m.Ticket, &m.RawID, &m.Author, &m.FromAddr, &m.FromName, &m.MessageID, &m.Subject, &m.Text, &m.NewText,
		&m.CutFlagged, &m.Internal, &m.Automatic, &m.Unverified, &m.Outsider, &parts, &m.ParseError, &at)
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
	rows, err := t.query(`SELECT id, message, part_index, filename, content_type, size, content_id, inline FROM attachments WHERE `+where+` ORDER BY id`, arg)
	if err != nil {
		return nil, wrapErr("attachments", err)
	}
	defer rows.Close()
	var out []ticketd.Attachment
	for rows.Next() {
		var a ticketd.Attachment
		if err := rows.Scan(&a.ID, &a.Message, &a.PartIndex, &a.Filename, &a.ContentType, &a.Size, &a.ContentID, &a.Inline); err != nil {
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

// MessagesByMessageID finds stored messages carrying a Message-ID. A real
// Message-ID is stored a few times at most (once per mailbox or ticket);
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

// ThreadIDs returns the Message-IDs a reply on this ticket should refer to:
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

// LastCustomerMessage returns the id of the customer's latest public
// message on a ticket (0 if none).
func (t *Tx) LastCustomerMessage(ticket int64) (int64, error) {
	var id int64
	err := t.queryRow(`SELECT id FROM messages WHERE ticket = ? AND author = 'customer' AND internal = 0 ORDER BY id DESC LIMIT 1`, ticket).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, wrapErr("last customer message", err)
	}
	return id, nil
}

// TicketAddresses returns who took part in a ticket (its requester, and
// the authors and To/Cc addresses of its messages that are not from
// outside it) and, apart, the authors of its mails from outside it that no
// agent accepted yet, the latest last. Addresses are in lower case.
func (t *Tx) TicketAddresses(ticket int64) (ticketd.Addresses, error) {
	var requester string
	if err := t.queryRow(`SELECT requester_addr FROM tickets WHERE number = ?`, ticket).Scan(&requester); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return ticketd.Addresses{}, ticketd.ErrNotFound
		}
		return ticketd.Addresses{}, wrapErr("ticket addresses", err)
	}
	rows, err := t.query(`SELECT from_addr, participants, outsider FROM messages WHERE ticket = ? ORDER BY id`, ticket)
	if err != nil {
		return ticketd.Addresses{}, wrapErr("ticket addresses", err)
	}
	defer rows.Close()
	var msgs []ticketd.AddressRow
	for rows.Next() {
		var r ticketd.AddressRow
		var parts string
		if err := rows.Scan(&r.From, &parts, &r.Outsider); err != nil {
			return ticketd.Addresses{}, wrapErr("ticket addresses", err)
		}
		r.Participants = strings.Split(parts, "\n")
		msgs = append(msgs, r)
	}
	if err := rows.Err(); err != nil {
		return ticketd.Addresses{}, wrapErr("ticket addresses", err)
	}
	return ticketd.CollectAddresses(requester, msgs), nil
}

// AcceptOutsider makes the mails from addr on a ticket part of its public
// conversation, and reports how many there were.
func (t *Tx) AcceptOutsider(ticket int64, addr string) (int, error) {
	res, err := t.exec("accept outsider", `UPDATE messages SET outsider = 0, internal = 0 WHERE ticket = ? AND outsider = 1 AND lower(from_addr) = lower(?)`, ticket, addr)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// RecentAutomatic counts a ticket's automatic mails stored since a moment.
func (t *Tx) RecentAutomatic(ticket int64, since time.Time) (int, error) {
	var n int
	if err := t.queryRow(`SELECT COUNT(*) FROM messages WHERE ticket = ? AND automatic = 1 AND created_at >= ?`, ticket, ms(since)).Scan(&n); err != nil {
		return 0, wrapErr("recent automatic", err)
	}
	return n, nil
}
