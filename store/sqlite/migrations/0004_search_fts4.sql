-- Search for agents on FTS4, which go-sqlite3 compiles without build tags:
-- words in messages' subjects and new text (quotes cut), accents ignored.
-- External content: the text lives once, in messages. Ranking is BM25
-- computed from matchinfo (the bm25 SQL function, see store/search.go).
-- An FTS5 table left by the old 0002 is removed before this runs
-- (dropFTS5 in store/search_migrate.go).
CREATE VIRTUAL TABLE message_fts USING fts4(
	subject, new_text, content="messages",
	tokenize=unicode61 "remove_diacritics=2"
);
-- search_state says how far the index reaches; updates and deletes touch
-- the index only for rows it already holds. An external-content FTS4 table
-- reads the old text from messages to remove it, so removal runs BEFORE
-- the row changes.
CREATE TRIGGER message_fts_before_delete BEFORE DELETE ON messages
	WHEN old.id <= (SELECT indexed_through FROM search_state) BEGIN
	DELETE FROM message_fts WHERE docid = old.id;
END;
CREATE TRIGGER message_fts_before_update BEFORE UPDATE OF subject, new_text ON messages
	WHEN old.id <= (SELECT indexed_through FROM search_state) BEGIN
	DELETE FROM message_fts WHERE docid = old.id;
END;
CREATE TRIGGER message_fts_after_update AFTER UPDATE OF subject, new_text ON messages
	WHEN new.id <= (SELECT indexed_through FROM search_state) BEGIN
	INSERT INTO message_fts(docid, subject, new_text) VALUES (new.id, new.subject, new.new_text);
END;
-- Index what is stored (an old database's FTS5 index is gone by now).
INSERT INTO message_fts(message_fts) VALUES ('rebuild');
UPDATE search_state SET indexed_through = (SELECT COALESCE(MAX(id), 0) FROM messages);
