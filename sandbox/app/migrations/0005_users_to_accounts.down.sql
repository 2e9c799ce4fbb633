-- Undo 0005: accounts back to users, for the versions before 2.0.0.
ALTER SEQUENCE accounts_id_seq RENAME TO users_id_seq;
ALTER TABLE accounts RENAME TO users;
