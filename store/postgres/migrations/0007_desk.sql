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
-- 12). So UIDs are drawn in two steps:
--
-- 1. A change only marks its ticket as owed a new UID (desk_owe, in the
--    changing transaction: a row of the ticket's own, so changes to
--    different tickets never wait for each other).
-- 2. desk_settle draws the UIDs owed, under one lock that it holds to the
--    end of its commit: the next one waits for that commit, and draws
--    higher UIDs. (A transaction-scoped advisory lock, ticketd's class
--    0x7469636b, key 1: waiting for it writes nothing, so a settle that
--    finds nothing left to draw commits without a disk flush; a locked
--    row would cost one each.) Each Update runs it right after its commit
--    (Store.Update), so one settle serves all the changes committed
--    meanwhile, by any process; the background loop runs it too, for a
--    process that died between the two. A transaction that reads its own
--    new UIDs (a desk move) settles them itself (Tx.deskFlush).
--
-- Until its settle, a changed ticket keeps its old UID; a new one has none
-- and is not shown. The highest UID in use is the last one issued (a UID is
-- only ever replaced by a higher one, rows are never deleted), so
-- DeskLastUID reads it from desk_uids, in the reader's snapshot.
CREATE SEQUENCE desk_uid_seq AS bigint;

CREATE TABLE desk_uids (
	ticket bigint PRIMARY KEY REFERENCES tickets(number),
	uid    bigint UNIQUE,                 -- NULL until the first is drawn
	owed   boolean NOT NULL DEFAULT false -- a change wants a new UID
);
CREATE INDEX desk_uids_owed ON desk_uids(ticket) WHERE owed;
INSERT INTO desk_uids(ticket, uid)
	SELECT number, row_number() OVER (ORDER BY updated_at, number) FROM tickets;
SELECT setval('desk_uid_seq', GREATEST(COUNT(*), 1), COUNT(*) > 0) FROM desk_uids;

-- desk_owe marks the ticket of the changed row as owed a new UID, once
-- per transaction: xmin is the transaction that wrote a row version, and a
-- row this transaction already wrote is owed already, or holds the UID it
-- settled for itself (which its later changes then share).
CREATE FUNCTION desk_owe() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	t bigint;
BEGIN
	IF TG_TABLE_NAME = 'tickets' THEN
		t := NEW.number;
	ELSIF TG_OP = 'DELETE' THEN
		t := OLD.ticket;
	ELSE
		t := NEW.ticket;
	END IF;
	INSERT INTO desk_uids(ticket, owed) VALUES (t, true)
		ON CONFLICT (ticket) DO UPDATE SET owed = true
		WHERE desk_uids.xmin <> pg_current_xact_id()::xid;
	RETURN NULL;
END;
$$;

-- desk_settle draws the UIDs owed (with mine_only, only when this
-- transaction owes some: otherwise it takes no turn). Rows that another
-- transaction is still changing are skipped: their settle follows that
-- commit.
CREATE FUNCTION desk_settle(mine_only boolean) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	IF mine_only THEN
		IF NOT EXISTS (SELECT 1 FROM desk_uids WHERE owed AND xmin = pg_current_xact_id_if_assigned()::xid) THEN
			RETURN;
		END IF;
	ELSIF NOT EXISTS (SELECT 1 FROM desk_uids WHERE owed) THEN
		RETURN;
	END IF;
	PERFORM pg_advisory_xact_lock(x'7469636b'::int, 1);
	UPDATE desk_uids d SET uid = nextval('desk_uid_seq'), owed = false
		FROM (SELECT ticket FROM desk_uids WHERE owed ORDER BY ticket FOR UPDATE SKIP LOCKED) o
		WHERE d.ticket = o.ticket;
END;
$$;

CREATE TRIGGER desk_ticket_insert AFTER INSERT ON tickets
	FOR EACH ROW EXECUTE FUNCTION desk_owe();
CREATE TRIGGER desk_ticket_update AFTER UPDATE ON tickets
	FOR EACH ROW
	WHEN ((OLD.status, OLD.assignee, OLD.priority, OLD.subject, OLD.updated_at, OLD.mailbox, OLD.requester_name)
	      IS DISTINCT FROM (NEW.status, NEW.assignee, NEW.priority, NEW.subject, NEW.updated_at, NEW.mailbox, NEW.requester_name))
	EXECUTE FUNCTION desk_owe();
CREATE TRIGGER desk_message_insert AFTER INSERT ON messages
	FOR EACH ROW EXECUTE FUNCTION desk_owe();
CREATE TRIGGER desk_tag_insert AFTER INSERT ON tags
	FOR EACH ROW EXECUTE FUNCTION desk_owe();
CREATE TRIGGER desk_tag_delete AFTER DELETE ON tags
	FOR EACH ROW EXECUTE FUNCTION desk_owe();

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
