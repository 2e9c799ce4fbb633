#!/usr/bin/env bash
# A psql session inside the postgres container takes the lock and keeps its transaction open:
# psql reads its input from a pipe that `sleep 600` holds open (ten minutes at most).
source "$(dirname "$0")/../lib.sh"
held() {
  echo "select count(*) from pg_locks l join pg_class c on c.oid = l.relation
        where c.relname = 'agents' and l.mode = 'AccessExclusiveLock' and l.granted" | sql
}
if [ "$(held)" -eq 0 ]; then
  docker exec -d "$(container postgres)" sh -c '
    ( echo "BEGIN; LOCK TABLE agents IN ACCESS EXCLUSIVE MODE;"
      sleep 600 & echo $! >/tmp/lock-held.pid; wait ) | psql -X -q -U opsbook -d opsbook'
  for _ in $(seq 1 20); do
    [ "$(held)" -gt 0 ] && break
    sleep 0.5
  done
fi
[ "$(held)" -gt 0 ] || { echo "the lock on agents was not taken" >&2; exit 1; }
note "a psql session holds an ACCESS EXCLUSIVE lock on agents in an open transaction"
