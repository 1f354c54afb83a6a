package sqlite

import (
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/ticketd/ticketd"
)

var _ ticketd.DeskTx = (*Tx)(nil)

// DeskFolder returns the tickets matching f with their desk UIDs, lowest first.
func (t *Tx) DeskFolder(f ticketd.DeskFilter) ([]ticketd.DeskEntry, error) {
	if len(f.Mailboxes) == 0 {
		return nil, nil
	}
	var where []string
	var args []any
	where = append(where, `lower(t.mailbox) IN (`+placeholders(len(f.Mailboxes), "?")+`)`)
	for _, m := range f.Mailboxes {
		args = append(args, strings.ToLower(m))
	}
	if len(f.Statuses) > 0 {
		where = append(where, `t.status IN (`+placeholders(len(f.Statuses), "?")+`)`)
		for _, s := range f.Statuses {
			args = append(args, string(s))
		}
	}
	agent := strings.ToLower(f.Agent)
	switch f.Assignee {
	case ticketd.DeskMine:
		where = append(where, `lower(t.assignee) = ?`)
		args = append(args, agent)
	case ticketd.DeskNobody:
		where = append(where, `t.assignee = ''`)
	case ticketd.DeskMineOrNobody:
		where = append(where, `(t.assignee = '' OR lower(t.assignee) = ?)`)
		args = append(args, agent)
	}
	if !f.ClosedSince.IsZero() {
		where = append(where, `(t.status <> 'cerrado' OR t.closed_at >= ?)`)
		args = append(args, ms(f.ClosedSince))
	}
	rows, err := t.tx.QueryContext(t.ctx, `SELECT d.uid, d.ticket FROM desk_uids d JOIN tickets t ON t.number = d.ticket
		WHERE `+strings.Join(where, " AND ")+` ORDER BY d.uid`, args...)
	if err != nil {
		return nil, wrapErr("desk folder", err)
	}
	defer rows.Close()
	var out []ticketd.DeskEntry
	for rows.Next() {
		var e ticketd.DeskEntry
		if err := rows.Scan(&e.UID, &e.Ticket); err != nil {
			return nil, wrapErr("desk folder", err)
		}
		out = append(out, e)
	}
	return out, wrapRowsErr("desk folder", rows.Err())
}

// DeskEntry returns one ticket's current desk UID.
func (t *Tx) DeskEntry(ticket int64) (ticketd.DeskEntry, error) {
	e := ticketd.DeskEntry{Ticket: ticket}
	err := t.queryRow(`SELECT uid FROM desk_uids WHERE ticket = ?`, ticket).Scan(&e.UID)
	if errors.Is(err, sql.ErrNoRows) {
		return e, ticketd.ErrNotFound
	}
	if err != nil {
		return e, wrapErr("desk entry", err)
	}
	return e, nil
}

// DeskLastUID is the highest desk UID issued so far.
func (t *Tx) DeskLastUID() (uint32, error) {
	var n int64
	// sqlite_sequence holds AUTOINCREMENT's high-water mark, which counts
	// UIDs already replaced too.
	err := t.queryRow(`SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'desk_uids'), 0)`).Scan(&n)
	if err != nil {
		return 0, wrapErr("desk last uid", err)
	}
	return uint32(n), nil
}

// DeskSeen returns which of uids agent has seen.
func (t *Tx) DeskSeen(agent string, uids []uint32) (map[uint32]bool, error) {
	out := make(map[uint32]bool, len(uids))
	agent = strings.ToLower(agent)
	for start := 0; start < len(uids); start += 500 {
		chunk := uids[start:min(start+500, len(uids))]
		args := []any{agent}
		for _, u := range chunk {
			args = append(args, u)
		}
		rows, err := t.tx.QueryContext(t.ctx, `SELECT uid FROM desk_seen WHERE agent = ? AND uid IN (`+placeholders(len(chunk), "?")+`)`, args...)
		if err != nil {
			return nil, wrapErr("desk seen", err)
		}
		for rows.Next() {
			var u uint32
			if err := rows.Scan(&u); err != nil {
				rows.Close()
				return nil, wrapErr("desk seen", err)
			}
			out[u] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, wrapErr("desk seen", err)
		}
	}
	return out, nil
}

// SetDeskSeen marks uids seen or unseen for agent and prunes marks on
// UIDs that no longer exist.
func (t *Tx) SetDeskSeen(agent string, uids []uint32, seen bool) error {
	agent = strings.ToLower(agent)
	for _, u := range uids {
		var err error
		if seen {
			_, err = t.exec("desk seen", `INSERT OR IGNORE INTO desk_seen(agent, uid) VALUES (?, ?)`, agent, u)
		} else {
			_, err = t.exec("desk unseen", `DELETE FROM desk_seen WHERE agent = ? AND uid = ?`, agent, u)
		}
		if err != nil {
			return err
		}
	}
	_, err := t.exec("desk seen prune", `DELETE FROM desk_seen WHERE agent = ? AND uid NOT IN (SELECT uid FROM desk_uids)`, agent)
	return err
}

// DeskAgent returns an agent's desk account.
func (t *Tx) DeskAgent(email string) (*ticketd.DeskAgent, error) {
	a := &ticketd.DeskAgent{}
	var at int64
	err := t.queryRow(`SELECT email, password_hash, password_at, uid_validity, scope FROM desk_agents WHERE email = ?`,
		strings.ToLower(email)).Scan(&a.Email, &a.PasswordHash, &at, &a.UIDValidity, &a.Scope)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ticketd.ErrNotFound
	}
	if err != nil {
		return nil, wrapErr("desk agent", err)
	}
	a.PasswordAt = fromMS(at)
	return a, nil
}

// SaveDeskAgent creates or replaces an agent's desk account.
func (t *Tx) SaveDeskAgent(a *ticketd.DeskAgent) error {
	_, err := t.exec("save desk agent",
		`INSERT INTO desk_agents(email, password_hash, password_at, uid_validity, scope) VALUES (?,?,?,?,?)
		 ON CONFLICT(email) DO UPDATE SET password_hash = excluded.password_hash, password_at = excluded.password_at,
		 uid_validity = excluded.uid_validity, scope = excluded.scope`,
		strings.ToLower(a.Email), a.PasswordHash, ms(a.PasswordAt), a.UIDValidity, a.Scope)
	return err
}

func wrapRowsErr(what string, err error) error {
	if err == nil {
		return nil
	}
	return wrapErr(what, err)
}

// DigestSent tells whether agent's digest of day was done.
func (t *Tx) DigestSent(agent, day string) (bool, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM desk_digests WHERE agent = ? AND day = ?`, strings.ToLower(agent), day).Scan(&n)
	if err != nil {
		return false, wrapErr("digest sent", err)
	}
	return n > 0, nil
}

// ClaimDigest records agent's digest of day; false when it was already.
func (t *Tx) ClaimDigest(agent, day string, at time.Time) (bool, error) {
	res, err := t.exec("claim digest", `INSERT OR IGNORE INTO desk_digests(agent, day, at) VALUES (?, ?, ?)`, strings.ToLower(agent), day, ms(at))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// CountOutgoing counts the mails of a kind queued for rcpt since a moment.
func (t *Tx) CountOutgoing(kind ticketd.OutboxKind, rcpt string, since time.Time) (int, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM outbox WHERE kind = ? AND rcpt = ? AND created_at >= ?`, string(kind), strings.ToLower(rcpt), ms(since)).Scan(&n)
	if err != nil {
		return 0, wrapErr("count outgoing", err)
	}
	return n, nil
}
