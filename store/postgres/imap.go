package postgres

import (
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ticketd/ticketd"
)

// IMAPState returns the state of src, or ticketd.ErrNotFound before its first connection.
func (t *Tx) IMAPState(src ticketd.IMAPSource) (*ticketd.IMAPState, error) {
	s := &ticketd.IMAPState{}
	var v, last, top int64
	var at time.Time
	err := t.queryRow(`SELECT uid_validity, last_uid, backlog_top, updated_at FROM imap_state WHERE addr = $1 AND username = $2 AND folder = $3`,
		strings.ToLower(src.Addr), src.Username, src.Folder).Scan(&v, &last, &top, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ticketd.ErrNotFound
	}
	if err != nil {
		return nil, wrapErr("imap state", err)
	}
	s.UIDValidity, s.LastUID, s.BacklogTop, s.UpdatedAt = uint32(v), uint32(last), uint32(top), fromT(at)
	return s, nil
}

// SaveIMAPState records the state of src.
func (t *Tx) SaveIMAPState(src ticketd.IMAPSource, s *ticketd.IMAPState) error {
	_, err := t.exec("save imap state",
		`INSERT INTO imap_state(addr, username, folder, uid_validity, last_uid, backlog_top, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7)
		 ON CONFLICT (addr, username, folder) DO UPDATE SET uid_validity = excluded.uid_validity, last_uid = excluded.last_uid,
		 backlog_top = excluded.backlog_top, updated_at = excluded.updated_at`,
		strings.ToLower(src.Addr), src.Username, src.Folder, int64(s.UIDValidity), int64(s.LastUID), int64(s.BacklogTop), ts(s.UpdatedAt))
	return err
}
