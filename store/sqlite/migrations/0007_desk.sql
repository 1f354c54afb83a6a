-- The agents' desk: every ticket's current desk UID. A ticket gets a new UID
-- (higher than any before: AUTOINCREMENT never reuses one) whenever what the
-- desk shows of it changes, so a mail client sees the changed ticket as a
-- new, unread message. The triggers keep this in the engine: no code path
-- that changes a ticket can forget it.
CREATE TABLE desk_uids (
	uid    INTEGER PRIMARY KEY AUTOINCREMENT,
	ticket INTEGER NOT NULL UNIQUE REFERENCES tickets(number)
);
INSERT INTO desk_uids(ticket) SELECT number FROM tickets ORDER BY updated_at, number;

-- DELETE then INSERT rather than INSERT OR REPLACE: an outer statement's
-- conflict clause (AddTag's INSERT OR IGNORE) would override the trigger's.
CREATE TRIGGER desk_ticket_insert AFTER INSERT ON tickets BEGIN
	DELETE FROM desk_uids WHERE ticket = new.number;
	INSERT INTO desk_uids(ticket) VALUES (new.number);
END;
CREATE TRIGGER desk_ticket_update AFTER UPDATE ON tickets
	WHEN (old.status, old.assignee, old.priority, old.subject, old.updated_at, old.mailbox, old.requester_name)
	  IS NOT (new.status, new.assignee, new.priority, new.subject, new.updated_at, new.mailbox, new.requester_name) BEGIN
	DELETE FROM desk_uids WHERE ticket = new.number;
	INSERT INTO desk_uids(ticket) VALUES (new.number);
END;
CREATE TRIGGER desk_message_insert AFTER INSERT ON messages BEGIN
	DELETE FROM desk_uids WHERE ticket = new.ticket;
	INSERT INTO desk_uids(ticket) VALUES (new.ticket);
END;
CREATE TRIGGER desk_tag_insert AFTER INSERT ON tags BEGIN
	DELETE FROM desk_uids WHERE ticket = new.ticket;
	INSERT INTO desk_uids(ticket) VALUES (new.ticket);
END;
CREATE TRIGGER desk_tag_delete AFTER DELETE ON tags BEGIN
	DELETE FROM desk_uids WHERE ticket = old.ticket;
	INSERT INTO desk_uids(ticket) VALUES (old.ticket);
END;

-- \Seen, per agent and UID. A changed ticket has a new UID, so it is unseen
-- again; marks on UIDs that are gone are pruned when an agent's marks change.
CREATE TABLE desk_seen (
	agent TEXT NOT NULL,
	uid   INTEGER NOT NULL,
	PRIMARY KEY (agent, uid)
) WITHOUT ROWID;

-- Agents' desk accounts: the password hash (bcrypt) and the UIDVALIDITY of
-- their folders, which changes only when the mailboxes they serve change.
CREATE TABLE desk_agents (
	email         TEXT PRIMARY KEY,
	password_hash TEXT NOT NULL DEFAULT '',
	password_at   INTEGER NOT NULL DEFAULT 0,
	uid_validity  INTEGER NOT NULL DEFAULT 0,
	scope         TEXT NOT NULL DEFAULT ''
);

-- Daily digests done, one row per agent and day (in server.time_zone), so
-- that a digest goes out once even when serve and sweep both run.
CREATE TABLE desk_digests (
	agent TEXT NOT NULL,
	day   TEXT NOT NULL,
	at    INTEGER NOT NULL,
	PRIMARY KEY (agent, day)
) WITHOUT ROWID;
