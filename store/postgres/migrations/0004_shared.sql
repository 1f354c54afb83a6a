-- What every process on this database shares and SQLite keeps in data_dir:
-- the key that signs reply addresses and tracking links. The first process
-- creates it; every other one reads the same.
CREATE TABLE secrets (
	name       text PRIMARY KEY,
	value      bytea NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);
