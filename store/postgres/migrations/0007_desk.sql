-- The agents' desk, as in store/sqlite's 0007: every ticket's current desk
-- UID, issued again (higher than any before) whenever what the desk shows
-- of the ticket changes, so a mail client sees the changed ticket as a new,
-- unread message. Triggers keep this in the engine: no code path that
-- changes a ticket can forget it.
--
-- With several processes on one database the UIDs must not only be unique
-- but become visible in the order they were issued: a mail client that has
-- seen UID 12 asks only for what is above it, so a UID 11 committed after
-- it would never be shown. A sequence alone gives unique numbers, not that
-- order (the transaction that drew 11 may commit after the one that drew
-- 12). So a transaction draws its UIDs under the lock of one row
-- (desk_uid_turn), taken by the triggers at its commit (they are deferred)
-- and held to the end of that commit: the next transaction that issues
-- UIDs waits for that commit, and draws higher ones. Taking it only at the
-- commit keeps the wait short; a transaction that reads its own new UIDs
-- (a desk move) issues them earlier (Tx.deskFlush). The row is locked,
-- never updated: a transaction that changes many tickets (a scheduler
-- pass) takes it once, and leaves no dead row versions behind.
--
-- The highest UID in use is the last one issued (a ticket's UID is only
-- ever replaced by a higher one, and rows are never deleted), so
-- DeskLastUID reads it from desk_uids, in the reader's snapshot; the
-- sequence's own position counts draws not yet committed.
CREATE TABLE desk_uid_turn (
	one boolean PRIMARY KEY DEFAULT true CHECK (one)
);
INSERT INTO desk_uid_turn DEFAULT VALUES;
CREATE SEQUENCE desk_uid_seq AS bigint;

CREATE TABLE desk_uids (
	uid    bigint PRIMARY KEY,
	ticket bigint NOT NULL UNIQUE REFERENCES tickets(number)
);
INSERT INTO desk_uids(uid, ticket)
	SELECT row_number() OVER (ORDER BY updated_at, number), number FROM tickets;
SELECT setval('desk_uid_seq', GREATEST(COUNT(*), 1), COUNT(*) > 0) FROM desk_uids;

-- desk_issue gives the ticket of the changed row a new UID, once per
-- transaction (a ticket changed three times in one transaction is one
-- change for the desk). xmin is the transaction that wrote a row version:
-- a row this transaction already wrote holds its new UID.
CREATE FUNCTION desk_issue() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	t bigint;
	u bigint;
BEGIN
	IF TG_TABLE_NAME = 'tickets' THEN
		t := NEW.number;
	ELSIF TG_OP = 'DELETE' THEN
		t := OLD.ticket;
	ELSE
		t := NEW.ticket;
	END IF;
	IF EXISTS (SELECT 1 FROM desk_uids WHERE ticket = t AND xmin = pg_current_xact_id()::xid) THEN
		RETURN NULL;
	END IF;
	PERFORM FROM desk_uid_turn FOR UPDATE;
	u := nextval('desk_uid_seq');
	INSERT INTO desk_uids(uid, ticket) VALUES (u, t)
		ON CONFLICT (ticket) DO UPDATE SET uid = excluded.uid;
	RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER desk_ticket_insert AFTER INSERT ON tickets
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION desk_issue();
CREATE CONSTRAINT TRIGGER desk_ticket_update AFTER UPDATE ON tickets
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
	WHEN ((OLD.status, OLD.assignee, OLD.priority, OLD.subject, OLD.updated_at, OLD.mailbox, OLD.requester_name)
	      IS DISTINCT FROM (NEW.status, NEW.assignee, NEW.priority, NEW.subject, NEW.updated_at, NEW.mailbox, NEW.requester_name))
	EXECUTE FUNCTION desk_issue();
CREATE CONSTRAINT TRIGGER desk_message_insert AFTER INSERT ON messages
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION desk_issue();
CREATE CONSTRAINT TRIGGER desk_tag_insert AFTER INSERT ON tags
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION desk_issue();
CREATE CONSTRAINT TRIGGER desk_tag_delete AFTER DELETE ON tags
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION desk_issue();

-- \Seen, per agent and UID. A changed ticket has a new UID, so it is unseen
-- again; marks on UIDs that are gone are pruned when an agent's marks change.
CREATE TABLE desk_seen (
	agent text NOT NULL,
	uid   bigint NOT NULL,
	PRIMARY KEY (agent, uid)
);

-- Agents' desk accounts: the password hash (bcrypt) and the UIDVALIDITY of
-- their folders, which changes only when the mailboxes they serve change.
CREATE TABLE desk_agents (
	email         text PRIMARY KEY,
	password_hash text NOT NULL DEFAULT '',
	password_at   timestamptz NOT NULL DEFAULT 'epoch',
	uid_validity  bigint NOT NULL DEFAULT 0,
	scope         text NOT NULL DEFAULT ''
);

-- Daily digests done, one row per agent and day (in server.time_zone), so
-- that a digest goes out once even when several processes and sweep run.
CREATE TABLE desk_digests (
	agent text NOT NULL,
	day   text NOT NULL,
	at    timestamptz NOT NULL,
	PRIMARY KEY (agent, day)
);
