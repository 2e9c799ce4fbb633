-- bad-migration: every agent gets a required owner. It references an owners table that no
-- migration creates, so it fails (and, in its transaction, changes nothing).
ALTER TABLE agents ADD COLUMN owner_id bigint NOT NULL REFERENCES owners (id);
