-- Mail that came through a ticket's token from someone who took no part in
-- the ticket: kept and shown to agents, never to the customer, until an
-- agent accepts its sender.
ALTER TABLE messages ADD COLUMN outsider boolean NOT NULL DEFAULT false;
