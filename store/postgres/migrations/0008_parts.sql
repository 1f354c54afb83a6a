-- What intake decoded of each mail, kept beside the raw bytes, so outgoing
-- mail and the status page never parse a raw mail again (see SQLite's 0008).
ALTER TABLE messages ADD COLUMN html text;
ALTER TABLE attachments ADD COLUMN content_id text NOT NULL DEFAULT '';
ALTER TABLE attachments ADD COLUMN inline boolean NOT NULL DEFAULT false;
CREATE TABLE attachment_data (
	attachment bigint PRIMARY KEY REFERENCES attachments(id),
	data       bytea NOT NULL
);
