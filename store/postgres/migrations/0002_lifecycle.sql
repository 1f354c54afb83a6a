-- The scheduler's due work, as in store/sqlite's 0002: only pending tickets
-- sit in these indexes, split by whether this pending period's reminder
-- went out, ordered by the moment that makes them due.
CREATE INDEX tickets_remind_due ON tickets(lower(mailbox), pending_since)
	WHERE status = 'pendiente' AND reminder_sent_at IS NULL;
CREATE INDEX tickets_close_due ON tickets(lower(mailbox), reminder_sent_at)
	WHERE status = 'pendiente' AND reminder_sent_at IS NOT NULL;

-- Search for agents: words in messages' subjects and new text (quotes cut),
-- accents ignored (the unaccent dictionary of postgresql-contrib, as a
-- filter in front of the simple dictionary: no stemming, like SQLite's
-- unicode61 tokenizer). Addresses and host names are words too, so that
-- an address quoted in a message is found.
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE TEXT SEARCH CONFIGURATION ticketd_search (COPY = pg_catalog.simple);
ALTER TEXT SEARCH CONFIGURATION ticketd_search
	ALTER MAPPING FOR asciiword, word, numword, asciihword, hword, numhword, hword_part, hword_asciipart, hword_numpart,
		email, host
	WITH unaccent, simple;

-- Indexing runs in the background, in batches, off the path of the 250
-- (Store.IndexSearch), as on SQLite: search is NULL until a message is
-- indexed. Several processes index at once without stepping on each other
-- (SKIP LOCKED), and a message whose transaction commits late is still
-- found, since what is pending is a property of the row, not a high-water mark.
ALTER TABLE messages ADD COLUMN search tsvector;
CREATE INDEX messages_search ON messages USING gin (search);
CREATE INDEX messages_unindexed ON messages(id) WHERE search IS NULL;
