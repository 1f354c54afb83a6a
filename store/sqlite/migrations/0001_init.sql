-- Raw bytes of every accepted message, exactly as received.
CREATE TABLE raw_messages (
	id            INTEGER PRIMARY KEY,
	received_at   INTEGER NOT NULL,
	source        TEXT NOT NULL,
	envelope_from TEXT NOT NULL,
	recipients    TEXT NOT NULL,
	size          INTEGER NOT NULL,
	sha256        TEXT NOT NULL,
	data          BLOB NOT NULL
);
CREATE INDEX raw_messages_sha ON raw_messages(sha256);

CREATE TABLE tickets (
	number           INTEGER PRIMARY KEY,
	token            TEXT NOT NULL UNIQUE,
	mailbox          TEXT NOT NULL,
	requester_addr   TEXT NOT NULL,
	requester_name   TEXT NOT NULL DEFAULT '',
	subject          TEXT NOT NULL DEFAULT '',
	status           TEXT NOT NULL,
	assignee         TEXT NOT NULL DEFAULT '',
	priority         TEXT NOT NULL DEFAULT 'media',
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL,
	pending_since    INTEGER,
	reminder_sent_at INTEGER,
	closed_at        INTEGER
);
CREATE INDEX tickets_status ON tickets(status, updated_at);
CREATE INDEX tickets_pending ON tickets(pending_since) WHERE status = 'pendiente';
CREATE INDEX tickets_requester ON tickets(requester_addr);

CREATE TABLE messages (
	id           INTEGER PRIMARY KEY,
	ticket       INTEGER NOT NULL REFERENCES tickets(number),
	raw_id       INTEGER REFERENCES raw_messages(id),
	author       TEXT NOT NULL,          -- customer | agent | system
	from_addr    TEXT NOT NULL DEFAULT '',
	from_name    TEXT NOT NULL DEFAULT '',
	message_id   TEXT NOT NULL DEFAULT '',
	subject      TEXT NOT NULL DEFAULT '',
	text         TEXT,                   -- NULL when the same as new_text (most first mails)
	new_text     TEXT NOT NULL DEFAULT '',
	cut_flagged  INTEGER NOT NULL DEFAULT 0,
	internal     INTEGER NOT NULL DEFAULT 0,
	automatic    INTEGER NOT NULL DEFAULT 0,
	unverified   INTEGER NOT NULL DEFAULT 0,
	participants TEXT NOT NULL DEFAULT '', -- To/Cc addresses, newline separated
	parse_error  TEXT NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL
);
CREATE INDEX messages_ticket ON messages(ticket, id);
CREATE INDEX messages_msgid ON messages(message_id);

-- Attachment metadata; the bytes stay in the raw message and are re-read from it.
CREATE TABLE attachments (
	id           INTEGER PRIMARY KEY,
	message      INTEGER NOT NULL REFERENCES messages(id),
	part_index   INTEGER NOT NULL,
	filename     TEXT NOT NULL,
	content_type TEXT NOT NULL,
	size         INTEGER NOT NULL
);
CREATE INDEX attachments_message ON attachments(message);

CREATE TABLE events (
	id     INTEGER PRIMARY KEY,
	ticket INTEGER NOT NULL REFERENCES tickets(number),
	type   TEXT NOT NULL,
	actor  TEXT NOT NULL,
	at     INTEGER NOT NULL,
	detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_ticket ON events(ticket, id);

-- Every outgoing mail is born here, in the transaction of its cause.
CREATE TABLE outbox (
	id          INTEGER PRIMARY KEY,
	ticket      INTEGER REFERENCES tickets(number),
	kind        TEXT NOT NULL,
	rcpt        TEXT NOT NULL,
	message_ref INTEGER,
	message_id  TEXT NOT NULL,
	params      TEXT NOT NULL DEFAULT '{}',
	state       TEXT NOT NULL DEFAULT 'queued', -- queued | sent | failed
	created_at  INTEGER NOT NULL,
	next_at     INTEGER NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT NOT NULL DEFAULT '',
	sent_at     INTEGER
);
CREATE INDEX outbox_due ON outbox(next_at) WHERE state = 'queued';
CREATE INDEX outbox_ticket ON outbox(ticket);

-- Acknowledgements per sender, for the per-sender rate limit: the outbox
-- row of an acknowledgement is its record.
CREATE INDEX outbox_acks ON outbox(rcpt, created_at) WHERE kind = 'ack';

CREATE TABLE tags (
	ticket INTEGER NOT NULL REFERENCES tickets(number),
	tag    TEXT NOT NULL,
	PRIMARY KEY (ticket, tag)
);
