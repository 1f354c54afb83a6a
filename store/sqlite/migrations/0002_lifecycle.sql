-- The scheduler's due work. Only pending tickets sit in these indexes, split
-- by whether this pending period's reminder went out, and ordered by the
-- moment that makes them due, so a pass reads the tickets that are due and
-- no others. The mailbox comes first because each mailbox has its own delays;
-- lower() because mailbox addresses are compared without case.
CREATE INDEX tickets_remind_due ON tickets(lower(mailbox), pending_since)
	WHERE status = 'pendiente' AND reminder_sent_at IS NULL;
CREATE INDEX tickets_close_due ON tickets(lower(mailbox), reminder_sent_at)
	WHERE status = 'pendiente' AND reminder_sent_at IS NOT NULL;

-- Search for agents: how far the search index reaches. The index itself
-- is made by 0004_search_fts4.sql (this migration once made an FTS5 table,
-- which needs a build tag; 0004 moves databases that have it to FTS4).
-- Indexing runs in the background, in batches, off the path of the 250
-- (Store.IndexSearch): indexing each mail inside its own commit cost about
-- 15 % of ingest throughput.
CREATE TABLE search_state (
	id               INTEGER PRIMARY KEY CHECK (id = 1),
	indexed_through  INTEGER NOT NULL
);
INSERT INTO search_state(id, indexed_through) VALUES (1, (SELECT COALESCE(MAX(id), 0) FROM messages));
