package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ticketd/ticketd"
)

var _ ticketd.DeskTx = (*Tx)(nil)

// deskFlush draws, in a write transaction, the desk UIDs its own changes
// are owed, which would otherwise be drawn right after its commit (see
// migration 0007), so that it reads its own new UIDs (a desk move answers
// with them). Once it drew any, the transaction holds the turn to draw
// UIDs until its commit, and its later changes share the UIDs drawn.
func (t *Tx) deskFlush() error {
	if !t.write {
		return nil
	}
	if _, err := t.tx.Exec(t.ctx, `SELECT desk_settle(true)`); err != nil {
		return wrapErr("desk uids", err)
	}
	return nil
}

// settleDesk draws the desk UIDs that committed changes are owed, by any
// process (see migration 0007). Update runs it after each commit, and the
// background loop in case a process died in between; a failure leaves
// them owed for the next.
func (s *Store) settleDesk(ctx context.Context) {
	s.pool.Exec(ctx, `SELECT desk_settle(false)`)
}

// deskSettles runs one settle at a time in this process for all the
// Updates that committed meanwhile, as a database flushes many commits at
// once: a settle costs a commit of its own when it draws UIDs.
type deskSettles struct {
	mu      sync.Mutex
	cond    *sync.Cond
	running bool
	started uint64 // settles begun
	done    uint64 // the last settle finished
}

// settleAfterCommit returns once a settle that began after the call has
// finished, running it when none is under way (one that is may have read
// before the caller's commit).
func (s *Store) settleAfterCommit() {
	st := &s.settles
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.cond == nil {
		st.cond = sync.NewCond(&st.mu)
	}
	want := st.started + 1
	for st.done < want {
		if st.running {
			st.cond.Wait()
			continue
		}
		st.running = true
		st.started++
		mine := st.started
		st.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		s.settleDesk(ctx)
		cancel()
		st.mu.Lock()
		st.done, st.running = mine, false
		st.cond.Broadcast()
	}
}

// deskSettleInterval is how long desk UIDs left owed (by a process that
// died between a commit and its settle) may wait to be drawn.
const deskSettleInterval = time.Second

func (s *Store) settleDeskInBackground() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s.settleDesk(ctx)
}

// DeskFolder returns the tickets matching f with their desk UIDs, lowest first.
func (t *Tx) DeskFolder(f ticketd.DeskFilter) ([]ticketd.DeskEntry, error) {
	if len(f.Mailboxes) == 0 {
		return nil, nil
	}
	if err := t.deskFlush(); err != nil {
		return nil, err
	}
	boxes := make([]string, len(f.Mailboxes))
	for i, m := range f.Mailboxes {
		boxes[i] = strings.ToLower(m)
	}
	where := []string{`lower(t.mailbox) = ANY($1)`}
	args := []any{boxes}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if len(f.Statuses) > 0 {
		st := make([]string, len(f.Statuses))
		for i, s := range f.Statuses {
			st[i] = string(s)
		}
		where = append(where, `t.status = ANY(`+arg(st)+`)`)
	}
	agent := strings.ToLower(f.Agent)
	switch f.Assignee {
	case ticketd.DeskMine:
		where = append(where, `lower(t.assignee) = `+arg(agent))
	case ticketd.DeskNobody:
		where = append(where, `t.assignee = ''`)
	case ticketd.DeskMineOrNobody:
		where = append(where, `(t.assignee = '' OR lower(t.assignee) = `+arg(agent)+`)`)
	}
	if !f.ClosedSince.IsZero() {
		where = append(where, `(t.status <> 'cerrado' OR t.closed_at >= `+arg(ts(f.ClosedSince))+`)`)
	}
	rows, err := t.query(`SELECT d.uid, d.ticket FROM desk_uids d JOIN tickets t ON t.number = d.ticket
		WHERE d.uid IS NOT NULL AND `+strings.Join(where, " AND ")+` ORDER BY d.uid`, args...)
	if err != nil {
		return nil, wrapErr("desk folder", err)
	}
	defer rows.Close()
	var out []ticketd.DeskEntry
	for rows.Next() {
		var uid, ticket int64
		if err := rows.Scan(&uid, &ticket); err != nil {
			return nil, wrapErr("desk folder", err)
		}
		out = append(out, ticketd.DeskEntry{UID: uint32(uid), Ticket: ticket})
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr("desk folder", err)
	}
	return out, nil
}

// DeskEntry returns one ticket's current desk UID.
func (t *Tx) DeskEntry(ticket int64) (ticketd.DeskEntry, error) {
	e := ticketd.DeskEntry{Ticket: ticket}
	if err := t.deskFlush(); err != nil {
		return e, err
	}
	var uid int64
	err := t.queryRow(`SELECT uid FROM desk_uids WHERE ticket = $1 AND uid IS NOT NULL`, ticket).Scan(&uid)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, ticketd.ErrNotFound
	}
	if err != nil {
		return e, wrapErr("desk entry", err)
	}
	e.UID = uint32(uid)
	return e, nil
}

// DeskLastUID is the highest desk UID issued so far, which is the highest
// in use (see migration 0007), read in this transaction's snapshot: UIDs
// drawn by transactions that have not committed are not counted.
func (t *Tx) DeskLastUID() (uint32, error) {
	if err := t.deskFlush(); err != nil {
		return 0, err
	}
	var n int64
	if err := t.queryRow(`SELECT COALESCE(MAX(uid), 0) FROM desk_uids`).Scan(&n); err != nil {
		return 0, wrapErr("desk last uid", err)
	}
	return uint32(n), nil
}

func uidArgs(uids []uint32) []int64 {
	out := make([]int64, len(uids))
	for i, u := range uids {
		out[i] = int64(u)
	}
	return out
}

// DeskSeen returns which of uids agent has seen.
func (t *Tx) DeskSeen(agent string, uids []uint32) (map[uint32]bool, error) {
	out := make(map[uint32]bool, len(uids))
	if len(uids) == 0 {
		return out, nil
	}
	rows, err := t.query(`SELECT uid FROM desk_seen WHERE agent = $1 AND uid = ANY($2)`, strings.ToLower(agent), uidArgs(uids))
	if err != nil {
		return nil, wrapErr("desk seen", err)
	}
	seen, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, wrapErr("desk seen", err)
	}
	for _, u := range seen {
		out[uint32(u)] = true
	}
	return out, nil
}

// SetDeskSeen marks uids seen or unseen for agent and prunes marks on
// UIDs that no longer exist.
func (t *Tx) SetDeskSeen(agent string, uids []uint32, seen bool) error {
	if err := t.deskFlush(); err != nil {
		return err
	}
	agent = strings.ToLower(agent)
	var err error
	if seen {
		_, err = t.exec("desk seen", `INSERT INTO desk_seen(agent, uid) SELECT $1, u FROM unnest($2::bigint[]) u ON CONFLICT DO NOTHING`, agent, uidArgs(uids))
	} else {
		_, err = t.exec("desk unseen", `DELETE FROM desk_seen WHERE agent = $1 AND uid = ANY($2)`, agent, uidArgs(uids))
	}
	if err != nil {
		return err
	}
	_, err = t.exec("desk seen prune", `DELETE FROM desk_seen s WHERE agent = $1 AND NOT EXISTS (SELECT 1 FROM desk_uids d WHERE d.uid = s.uid)`, agent)
	return err
}

// DeskAgent returns an agent's desk account; in a write transaction it is
// locked until the commit, so that a change decided on it (a new
// UIDVALIDITY) is not overwritten by another process's.
func (t *Tx) DeskAgent(email string) (*ticketd.DeskAgent, error) {
	q := `SELECT email, password_hash, password_at, uid_validity, scope FROM desk_agents WHERE email = $1`
	if t.write {
		q += ` FOR UPDATE`
	}
	a := &ticketd.DeskAgent{}
	var at time.Time
	var v int64
	err := t.queryRow(q, strings.ToLower(email)).Scan(&a.Email, &a.PasswordHash, &at, &v, &a.Scope)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ticketd.ErrNotFound
	}
	if err != nil {
		return nil, wrapErr("desk agent", err)
	}
	a.PasswordAt, a.UIDValidity = fromT(at), uint32(v)
	return a, nil
}

// SaveDeskAgent creates or replaces an agent's desk account.
func (t *Tx) SaveDeskAgent(a *ticketd.DeskAgent) error {
	_, err := t.exec("save desk agent",
		`INSERT INTO desk_agents(email, password_hash, password_at, uid_validity, scope) VALUES ($1,$2,$3,$4,$5)
		 ON CONFLICT (email) DO UPDATE SET password_hash = excluded.password_hash, password_at = excluded.password_at,
		 uid_validity = excluded.uid_validity, scope = excluded.scope`,
		strings.ToLower(a.Email), a.PasswordHash, ts(a.PasswordAt), int64(a.UIDValidity), a.Scope)
	return err
}

// DigestSent tells whether agent's digest of day was done.
func (t *Tx) DigestSent(agent, day string) (bool, error) {
	var ok bool
	err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM desk_digests WHERE agent = $1 AND day = $2)`, strings.ToLower(agent), day).Scan(&ok)
	if err != nil {
		return false, wrapErr("digest sent", err)
	}
	return ok, nil
}

// ClaimDigest records agent's digest of day; false when it was already.
// A second process claiming the same day at once waits on the key until
// the first commits, and then finds it taken.
func (t *Tx) ClaimDigest(agent, day string, at time.Time) (bool, error) {
	res, err := t.exec("claim digest", `INSERT INTO desk_digests(agent, day, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		strings.ToLower(agent), day, ts(at))
	if err != nil {
		return false, err
	}
	return res.RowsAffected() > 0, nil
}

// CountOutgoing counts the mails of a kind queued for rcpt since a moment.
func (t *Tx) CountOutgoing(kind ticketd.OutboxKind, rcpt string, since time.Time) (int, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM outbox WHERE kind = $1 AND rcpt = $2 AND created_at >= $3`,
		string(kind), strings.ToLower(rcpt), ts(since)).Scan(&n)
	if err != nil {
		return 0, wrapErr("count outgoing", err)
	}
	return n, nil
}
