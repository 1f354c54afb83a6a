-- The scheduler's due work. Only pending tickets sit in these indexes, split
-- by whether this pending period's reminder went out, and ordered by the
-- moment that makes them due, so a pass reads the tickets that are due and
-- no others. The mailbox comes first because each mailbox has its own delays;
-- lower() because mailbox addresses are compared without case.
CREATE INDEX tickets_remind_due ON tickets(lower(mailbox), pending_since)
	WHERE status = 'pendiente' AND reminder_sent_at IS NULL;
CREATE INDEX tickets_close_due ON tickets(lower(mailbox), reminder_sent_at)
	WHERE status = 'pendiente' AND reminder_sent_at IS NOT NULL;

-- Search for agents: words in messages' subjects and new text (quotes cut),
-- accents ignored. External content: the text lives once, in messages.
CREATE VIRTUAL TABLE message_search USING fts5(
	subject, new_text,
	content = 'messages', content_rowid = 'id',
	tokenize = 'unicode61 remove_diacritics 2'
);
-- Indexing runs in the background, in batches, off the path of the 250
-- (Store.IndexSearch): indexing each mail inside its own commit cost about
-- 15 % of ingest throughput. search_state says how far the index reaches;
-- updates and deletes touch the index only for rows it already holds.
CREATE TABLE search_state (
	id               INTEGER PRIMARY KEY CHECK (id = 1),
	indexed_through  INTEGER NOT NULL
);
INSERT INTO search_state(id, indexed_through) VALUES (1, (SELECT COALESCE(MAX(id), 0) FROM messages));
CREATE TRIGGER message_search_delete AFTER DELETE ON messages
	WHEN old.id <= (SELECT indexed_through FROM search_state) BEGIN
	INSERT INTO message_search(message_search, rowid, subject, new_text) VALUES ('delete', old.id, old.subject, old.new_text);
END;
CREATE TRIGGER message_search_update AFTER UPDATE OF subject, new_text ON messages
	WHEN old.id <= (SELECT indexed_through FROM search_state) BEGIN
	INSERT INTO message_search(message_search, rowid, subject, new_text) VALUES ('delete', old.id, old.subject, old.new_text);
	INSERT INTO message_search(rowid, subject, new_text) VALUES (new.id, new.subject, new.new_text);
END;
-- Index what was stored before this migration.
INSERT INTO message_search(message_search) VALUES ('rebuild');
