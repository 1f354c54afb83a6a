-- What every process on this database shares and SQLite keeps in data_dir:
-- the key that signs agents' reply addresses (reply.key). The first process
-- creates it; every other one reads the same, so any process accepts an
-- address another one issued.
CREATE TABLE secrets (
	name       text PRIMARY KEY,
	value      bytea NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);
