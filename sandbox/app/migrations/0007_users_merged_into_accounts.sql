-- 2.1.0: signed-up users are copied into a new accounts table (with a normalised email) and the
-- users table is dropped. IRREVERSIBLE (no down migration: the copy rewrote the data), and the
-- versions before 2.1.0 read `users`: the way back is restoring the pre-deploy backup.
CREATE TABLE accounts (
    id          bigserial PRIMARY KEY,
    email       text        NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO accounts (id, email, created_at) SELECT id, lower(trim(email)), created_at FROM users;
SELECT setval('accounts_id_seq', greatest((SELECT max(id) FROM accounts), 1));
DROP TABLE users;
