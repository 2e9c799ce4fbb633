#!/usr/bin/env bash
# Back to the default release's schema (rebuilt empty, as a reset does), traffic on blue.
source "$(dirname "$0")/../lib.sh"
default=${OPSBOOK_DEFAULT_APP_VERSION:-1.0.0}
if [ "$(echo "select count(*) from schema_migrations where version = '0007_users_merged_into_accounts'" | sql)" = 1 ]; then
  sql <<'SQL'
BEGIN;
DROP TABLE IF EXISTS accounts;
CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, created_at timestamptz NOT NULL DEFAULT now());
ALTER TABLE users OWNER TO opsbook;
ALTER SEQUENCE users_id_seq OWNER TO opsbook;
DELETE FROM schema_migrations WHERE version = '0007_users_merged_into_accounts';
COMMIT;
SQL
fi
wait_healthy app 60
docker exec "$(container proxy)" slot switch blue >/dev/null
APP_GREEN_VERSION=$default $COMPOSE up -d --no-deps app-green >/dev/null 2>&1
wait_healthy app-green 60
note "users table back (empty), traffic on blue ($default); green back on the same version"
