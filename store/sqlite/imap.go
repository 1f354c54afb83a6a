package sqlite

import (
	"github.com/ticketd/ticketd"

	"database/sql"
	"errors"
	"strings"
)

// ticketd.IMAPState returns the state of src, or ticketd.ErrNotFound before its first connection.
func (t *Tx) IMAPState(src ticketd.IMAPSource) (*ticketd.IMAPState, error) {
	s := &ticketd.IMAPState{}
	var at int64
	err := t.queryRow(`SELECT uid_validity, last_uid, backlog_top, updated_at FROM imap_state WHERE addr = ? AND username = ? AND folder = ?`,
		strings.ToLower(src.Addr), src.Username, src.Folder).Scan(&s.UIDValidity, &s.LastUID, &s.BacklogTop, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ticketd.ErrNotFound
	}
	if err != nil {
		return nil, wrapErr("imap state", err)
	}
	s.UpdatedAt = fromMS(at)
	return s, nil
}

// SaveIMAPState records the state of src.
func (t *Tx) SaveIMAPState(src ticketd.IMAPSource, s *ticketd.IMAPState) error {
	_, err := t.exec("save imap state",
		`INSERT INTO imap_state(addr, username, folder, uid_validity, last_uid, backlog_top, updated_at) VALUES (?,?,?,?,?,?,?)
		 ON CONFLICT(addr, username, folder) DO UPDATE SET uid_validity = excluded.uid_validity, last_uid = excluded.last_uid,
		 backlog_top = excluded.backlog_top, updated_at = excluded.updated_at`,
		strings.ToLower(src.Addr), src.Username, src.Folder, s.UIDValidity, s.LastUID, s.BacklogTop, ms(s.UpdatedAt))
	return err
}
