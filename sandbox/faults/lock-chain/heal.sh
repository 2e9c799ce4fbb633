#!/usr/bin/env bash
# End the migration and the session holding the lock: the transaction rolls back, the queued
# queries run.
source "$(dirname "$0")/../lib.sh"
if running postgres; then
  docker exec "$(container postgres)" sh -c \
    'if [ -f /tmp/lock-chain.pid ]; then kill "$(cat /tmp/lock-chain.pid)" 2>/dev/null || true; rm -f /tmp/lock-chain.pid; fi'
  echo "select count(pg_terminate_backend(pid)) from pg_stat_activity
        where application_name in ('psql', 'migrate-0008') and usename = 'opsbook'
          and pid <> pg_backend_pid()" | sql >/dev/null
  for _ in $(seq 1 20); do
    blocked=$(echo "select count(*) from pg_stat_activity where cardinality(pg_blocking_pids(pid)) > 0" | sql)
    [ "$blocked" -eq 0 ] && break
    sleep 0.5
  done
fi
note "the lock chain on agents is gone"
