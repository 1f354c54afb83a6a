package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"fmt"
	"net/url"
	"strings"

	"github.com/ticketd/ticketd"
)

// normAddr is how addresses are compared: trimmed, lower case.
func normAddr(a string) string { return strings.ToLower(strings.TrimSpace(a)) }

// ticketd.CustomerData collects what is stored about addr.
func (t *Tx) CustomerData(addr string) (*ticketd.CustomerData, error) {
	addr = normAddr(addr)
	d := &ticketd.CustomerData{Address: addr, Events: map[int64][]ticketd.Event{}}
	rows, err := t.query(`SELECT `+ticketCols+` FROM tickets WHERE lower(requester_addr) = ? ORDER BY number`, addr)
	if err != nil {
		return nil, wrapErr("customer tickets", err)
	}
	if d.Tickets, err = scanTickets(rows); err != nil {
		return nil, wrapErr("customer tickets", err)
	}
	names := map[string]bool{}
	for _, tk := range d.Tickets {
		if tk.Tags, err = t.Tags(tk.Number); err != nil {
			return nil, err
		}
		if d.Events[tk.Number], err = t.Events(tk.Number); err != nil {
			return nil, err
		}
		if tk.RequesterName != "" {
			names[tk.RequesterName] = true
		}
	}
	ids, err := t.int64s(`SELECT id FROM messages WHERE lower(from_addr) = ? ORDER BY id`, addr)
	if err != nil {
		return nil, wrapErr("customer messages", err)
	}
	for _, id := range ids {
		m, err := t.Message(id)
		if err != nil {
			return nil, err
		}
		d.Messages = append(d.Messages, m)
		if m.FromName != "" {
			names[m.FromName] = true
		}
	}
	for n := range names {
		d.Names = append(d.Names, n)
	}
	raws, err := t.query(`SELECT id, received_at, source, size, sha256 FROM raw_messages
		WHERE lower(envelope_from) = ? OR id IN (SELECT raw_id FROM messages WHERE lower(from_addr) = ?) ORDER BY id`, addr, addr)
	if err != nil {
		return nil, wrapErr("customer raw mails", err)
	}
	defer raws.Close()
	for raws.Next() {
		var r ticketd.RawInfo
		var at int64
		if err := raws.Scan(&r.ID, &at, &r.Source, &r.Size, &r.SHA256); err != nil {
			return nil, wrapErr("customer raw mails", err)
		}
		r.ReceivedAt = fromMS(at)
		d.RawMails = append(d.RawMails, r)
	}
	if err := raws.Err(); err != nil {
		return nil, wrapErr("customer raw mails", err)
	}
	if d.Sent, err = t.outgoing(`lower(rcpt) = ? ORDER BY id`, addr); err != nil {
		return nil, err
	}
	return d, nil
}

func (t *Tx) int64s(q string, args ...any) ([]int64, error) {
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Forget erases addr (a GDPR erasure request). Its tickets stay as
// anonymous records: number, mailbox, status, priority, dates, and events
// without actor or detail; everything else on them goes: subject,
// requester, every message's text, sender and ticketd.Message-ID, attachments, the
// raw mails, and the outbox rows. The ticket's token is replaced, so its
// tracking page and reply addresses answer as for any unknown token. Its
// messages on other tickets are blanked the same way, and it leaves the
// participant lists. Then the search index is merged, the database
// rewritten (VACUUM) and the WAL truncated, so no byte of it stays in any
// file (secure_delete zeroes what is freed meanwhile).
func (s *Store) Forget(ctx context.Context, addr string) (ticketd.ForgetReport, error) {
	addr = normAddr(addr)
	var rep ticketd.ForgetReport
	if addr == "" {
		return rep, fmt.Errorf("store: forget: empty address")
	}
	err := s.update(ctx, func(tx *Tx) error {
		rep = ticketd.ForgetReport{}
		return tx.forget(addr, &rep)
	})
	if err != nil {
		return rep, err
	}
	if err := s.scrub(ctx); err != nil {
		return rep, err
	}
	return rep, nil
}

func (t *Tx) forget(addr string, rep *ticketd.ForgetReport) error {
	if _, err := t.exec("secure delete", `PRAGMA secure_delete = ON`); err != nil {
		return err
	}
	tickets, err := t.int64s(`SELECT number FROM tickets WHERE lower(requester_addr) = ?`, addr)
	if err != nil {
		return wrapErr("forget tickets", err)
	}
	rep.Tickets = len(tickets)
	// The messages to blank: every message on the address's tickets, and
	// what it wrote elsewhere.
	msgIDs, err := t.int64s(`SELECT id FROM messages WHERE lower(from_addr) = ?
		OR ticket IN (SELECT number FROM tickets WHERE lower(requester_addr) = ?)`, addr, addr)
	if err != nil {
		return wrapErr("forget messages", err)
	}
	rep.Messages = len(msgIDs)
	for _, id := range msgIDs {
		var rawID *int64
		if err := t.queryRow(`SELECT raw_id FROM messages WHERE id = ?`, id).Scan(&rawID); err != nil {
			return wrapErr("forget message", err)
		}
		if _, err := t.exec("forget attachment data", `DELETE FROM attachment_data WHERE attachment IN (SELECT id FROM attachments WHERE message = ?)`, id); err != nil {
			return err
		}
		res, err := t.exec("forget attachments", `DELETE FROM attachments WHERE message = ?`, id)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		rep.Attachments += int(n)
		if _, err := t.exec("forget message", `UPDATE messages SET raw_id = NULL, from_addr = '', from_name = '', message_id = '',
			subject = '', text = NULL, new_text = '', participants = '', parse_error = '', html = '' WHERE id = ?`, id); err != nil {
			return err
		}
		if rawID != nil {
			// A raw mail may feed messages on several tickets (one per mailbox).
			var others int
			if err := t.queryRow(`SELECT COUNT(*) FROM messages WHERE raw_id = ?`, *rawID).Scan(&others); err != nil {
				return wrapErr("forget raw", err)
			}
			if others == 0 {
				if _, err := t.exec("forget raw", `DELETE FROM raw_messages WHERE id = ?`, *rawID); err != nil {
					return err
				}
				rep.RawMails++
			}
		}
	}
	// ticketd.Raw mails from the address that made no message (refused, duplicates).
	res, err := t.exec("forget raw", `DELETE FROM raw_messages WHERE lower(envelope_from) = ?
		AND id NOT IN (SELECT raw_id FROM messages WHERE raw_id IS NOT NULL)`, addr)
	if err != nil {
		return err
	}
	n, _ := res.RowsAffected()
	rep.RawMails += int(n)
	// It leaves the participant lists of other people's messages.
	rows, err := t.query(`SELECT id, participants FROM messages WHERE instr(lower(participants), ?) > 0`, addr)
	if err != nil {
		return wrapErr("forget participants", err)
	}
	type part struct {
		id   int64
		list string
	}
	var parts []part
	for rows.Next() {
		var p part
		if err := rows.Scan(&p.id, &p.list); err != nil {
			rows.Close()
			return wrapErr("forget participants", err)
		}
		parts = append(parts, p)
	}
	rows.Close()
	for _, p := range parts {
		var keep []string
		for _, a := range strings.Split(p.list, "\n") {
			if normAddr(a) != addr {
				keep = append(keep, a)
			}
		}
		if _, err := t.exec("forget participants", `UPDATE messages SET participants = ? WHERE id = ?`, strings.Join(keep, "\n"), p.id); err != nil {
			return err
		}
	}
	for _, n := range tickets {
		var tok string
		if err := t.queryRow(`SELECT token FROM tickets WHERE number = ?`, n).Scan(&tok); err != nil {
			return wrapErr("forget ticket", err)
		}
		rep.Tokens = append(rep.Tokens, tok)
		res, err := t.exec("forget outbox", `DELETE FROM outbox WHERE ticket = ?`, n)
		if err != nil {
			return err
		}
		k, _ := res.RowsAffected()
		rep.Outgoing += int(k)
		if _, err := t.exec("forget events", `UPDATE events SET actor = '', detail = '' WHERE ticket = ?`, n); err != nil {
			return err
		}
		if _, err := t.exec("forget ticket", `UPDATE tickets SET token = ?, requester_addr = '', requester_name = '', subject = '' WHERE number = ?`,
			forgottenToken(), n); err != nil {
			return err
		}
	}
	res, err = t.exec("forget outbox", `DELETE FROM outbox WHERE lower(rcpt) = ?`, addr)
	if err != nil {
		return err
	}
	k, _ := res.RowsAffected()
	rep.Outgoing += int(k)
	if _, err := t.exec("forget events", `UPDATE events SET actor = '' WHERE lower(actor) = ?`, addr); err != nil {
		return err
	}
	if err := t.queryRow(`SELECT COUNT(*) FROM raw_messages WHERE instr(lower(CAST(data AS TEXT)), ?) > 0`, addr).Scan(&rep.OtherMentions); err != nil {
		return wrapErr("forget mentions", err)
	}
	return nil
}

// forgottenToken replaces a forgotten ticket's token: random like any
// token, so nothing that knew the old one finds the ticket.
func forgottenToken() string {
	b := make([]byte, 15)
	rand.Read(b)
	return "x" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// scrub removes what deleted data leaves in the files: merged FTS segments
// (an FTS4 delete is a marker until segments merge), a rewritten database
// (VACUUM leaves no freed page or cell behind), and an empty WAL.
func (s *Store) scrub(ctx context.Context) error {
	if err := s.update(ctx, func(tx *Tx) error {
		_, err := tx.exec("merge search index", `INSERT INTO message_fts(message_fts) VALUES ('optimize')`)
		return err
	}); err != nil {
		return err
	}
	// A connection of its own: VACUUM refuses to run on one that has
	// statements of the cache open.
	var path string
	if err := s.w.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&path); err != nil {
		return wrapErr("scrub", err)
	}
	q := url.Values{}
	q.Set("_busy_timeout", "30000")
	db, err := sql.Open(driverName, "file:"+path+"?"+q.Encode())
	if err != nil {
		return wrapErr("scrub", err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return wrapErr("scrub", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA secure_delete = ON`); err != nil {
		return wrapErr("scrub", err)
	}
	if _, err := conn.ExecContext(ctx, `VACUUM`); err != nil {
		return wrapErr("vacuum", err)
	}
	var busy, logFrames, done int
	if err := conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done); err != nil {
		return wrapErr("checkpoint", err)
	}
	if busy != 0 {
		return fmt.Errorf("store: checkpoint: another process is reading; the WAL still holds old pages (run forget again when it is quiet)")
	}
	return nil
}
