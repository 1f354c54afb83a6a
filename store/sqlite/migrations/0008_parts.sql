-- What intake decoded of each mail, kept beside the raw bytes, so outgoing
-- mail and the status page never parse a raw mail again.
-- html: the HTML body as sent ('' when none); NULL for a message stored
-- before this migration, whose raw mail is then read.
ALTER TABLE messages ADD COLUMN html TEXT;
ALTER TABLE attachments ADD COLUMN content_id TEXT NOT NULL DEFAULT '';
ALTER TABLE attachments ADD COLUMN inline INTEGER NOT NULL DEFAULT 0;
-- An attachment's decoded bytes; no row for one stored before this migration.
CREATE TABLE attachment_data (
	attachment INTEGER PRIMARY KEY REFERENCES attachments(id),
	data       BLOB NOT NULL
);
