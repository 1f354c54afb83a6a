-- Who holds a claimed outbox row (see Tx.ClaimAs). A process that starts
-- again takes back the rows its previous life claimed at once, instead of
-- waiting for their leases to run out.
ALTER TABLE outbox ADD COLUMN claimed_by text NOT NULL DEFAULT '';
