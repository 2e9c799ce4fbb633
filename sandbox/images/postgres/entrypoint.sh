#!/bin/sh
# Initialise the cluster on first start (roles, database, pg_stat_statements), then run postgres.
set -eu
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
: "${APP_DB_PASSWORD:?APP_DB_PASSWORD must be set}"
APP_DB_USER=${APP_DB_USER:-opsbook}
APP_DB_NAME=${APP_DB_NAME:-opsbook}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb -D "$PGDATA" -U postgres --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  # Replication connections too: pg_basebackup (the daily base backup) uses one.
  printf '%s\n' "host all all 0.0.0.0/0 scram-sha-256" "host replication all 0.0.0.0/0 scram-sha-256" \
    >>"$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c shared_preload_libraries=pg_stat_statements" -w start >/dev/null
  psql -v ON_ERROR_STOP=1 -U postgres -d postgres -q \
    -v app_user="$APP_DB_USER" -v app_db="$APP_DB_NAME" -v app_pw="$APP_DB_PASSWORD" <<'SQL'
CREATE ROLE :"app_user" LOGIN PASSWORD :'app_pw';
GRANT pg_monitor, pg_signal_backend TO :"app_user";
CREATE DATABASE :"app_db" OWNER :"app_user";
\connect :"app_db"
CREATE EXTENSION pg_stat_statements;
ALTER SCHEMA public OWNER TO :"app_user";
SQL
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "postgres: initialised database $APP_DB_NAME owned by $APP_DB_USER"
fi

# Every WAL segment goes to the off-site store (archive-wal); archive_timeout bounds how much a lost
# server loses (the RPO of point-in-time recovery): 60 s in production, ARCHIVE_TIMEOUT here.
# track_commit_timestamp lets a recovery drill tell the time of the last transaction it got back.
# max_connections is small on purpose: the connection-exhaustion fault must be cheap to reach.
# log_statement=ddl, as in production: every schema change, hand-run or not, is in the log.
exec postgres -D "$PGDATA" \
  -c listen_addresses='*' \
  -c max_connections="${POSTGRES_MAX_CONNECTIONS:-40}" \
  -c superuser_reserved_connections=3 \
  -c shared_preload_libraries=pg_stat_statements \
  -c pg_stat_statements.track=all \
  -c max_parallel_workers_per_gather=0 \
  -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
  -c log_min_duration_statement="${POSTGRES_LOG_MIN_DURATION_MS:-200}" \
  -c log_statement=ddl \
  -c wal_level=replica -c archive_mode="${ARCHIVE_MODE:-on}" -c archive_command='archive-wal %p %f' \
  -c archive_timeout="${ARCHIVE_TIMEOUT:-60}" -c track_commit_timestamp=on \
  -c log_line_prefix='%m [%p] %q%u@%d '
