-- Where each IMAP source stands: the folder's UIDVALIDITY, the highest UID
-- handled (every UID up to it is stored, quarantined or deliberately left),
-- and the top of the backlog found on the first connection.
CREATE TABLE imap_state (
	addr         text NOT NULL,
	username     text NOT NULL,
	folder       text NOT NULL,
	uid_validity bigint NOT NULL,
	last_uid     bigint NOT NULL,
	backlog_top  bigint NOT NULL DEFAULT 0,
	updated_at   timestamptz NOT NULL,
	PRIMARY KEY (addr, username, folder)
);
