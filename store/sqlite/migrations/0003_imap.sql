-- Where each IMAP source stands: the folder's UIDVALIDITY, the highest UID
-- handled (every UID up to it is stored, quarantined or deliberately left),
-- and the top of the backlog found on the first connection (UIDs up to it
-- are taken only when unseen and recent).
CREATE TABLE imap_state (
	addr         TEXT NOT NULL,
	username     TEXT NOT NULL,
	folder       TEXT NOT NULL,
	uid_validity INTEGER NOT NULL,
	last_uid     INTEGER NOT NULL,
	backlog_top  INTEGER NOT NULL DEFAULT 0,
	updated_at   INTEGER NOT NULL,
	PRIMARY KEY (addr, username, folder)
);
