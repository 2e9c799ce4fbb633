-- 2.0.0: signed-up users become accounts. Reversible (0005_users_to_accounts.down.sql), but the
-- versions before 2.0.0 read `users`: after this migration they fail their health check.
ALTER TABLE users RENAME TO accounts;
ALTER SEQUENCE users_id_seq RENAME TO accounts_id_seq;
