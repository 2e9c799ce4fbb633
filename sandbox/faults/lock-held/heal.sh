#!/usr/bin/env bash
# End the session holding the lock: its transaction rolls back and the waiting queries run.
source "$(dirname "$0")/../lib.sh"
if running postgres; then
  docker exec "$(container postgres)" sh -c \
    'if [ -f /tmp/lock-held.pid ]; then kill "$(cat /tmp/lock-held.pid)" 2>/dev/null || true; rm -f /tmp/lock-held.pid; fi'
  echo "select count(pg_terminate_backend(l.pid)) from pg_locks l join pg_class c on c.oid = l.relation
        where c.relname = 'agents' and l.mode = 'AccessExclusiveLock' and l.granted
          and l.pid <> pg_backend_pid()" | sql >/dev/null
  for _ in $(seq 1 20); do
    blocked=$(echo "select count(*) from pg_stat_activity where cardinality(pg_blocking_pids(pid)) > 0" | sql)
    [ "$blocked" -eq 0 ] && break
    sleep 0.5
  done
fi
note "the lock on agents is released"
