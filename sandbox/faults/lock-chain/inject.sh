#!/usr/bin/env bash
# Two psql sessions inside the postgres container, as the app's role:
#  - the holder updates one agent (a no-op change) and keeps its transaction open, its input a
#    pipe that `sleep 600` holds open (ten minutes at most): it holds a ROW EXCLUSIVE lock;
#  - the migration asks for ACCESS EXCLUSIVE on agents (setting a default the column already
#    has: nothing changes once it runs) and waits behind the holder; every later query on
#    agents, reads included, queues behind the migration.
source "$(dirname "$0")/../lib.sh"
chained() {
  echo "select count(*) from pg_stat_activity where application_name = 'migrate-0008'
        and cardinality(pg_blocking_pids(pid)) > 0" | sql
}
if [ "$(chained)" -eq 0 ]; then
  docker exec -d "$(container postgres)" sh -c '
    ( echo "BEGIN; UPDATE agents SET status = status WHERE id = (SELECT min(id) FROM agents);"
      sleep 600 & echo $! >/tmp/lock-chain.pid; wait ) | PGAPPNAME=psql psql -X -q -U opsbook -d opsbook'
  for _ in $(seq 1 20); do
    [ "$(echo "select count(*) from pg_stat_activity where application_name = 'psql'
               and state = 'idle in transaction'" | sql)" -gt 0 ] && break
    sleep 0.25
  done
  docker exec -d "$(container postgres)" sh -c \
    "PGAPPNAME=migrate-0008 psql -X -q -U opsbook -d opsbook -c \"ALTER TABLE agents ALTER COLUMN status SET DEFAULT 'active'\""
  for _ in $(seq 1 20); do
    [ "$(chained)" -gt 0 ] && break
    sleep 0.25
  done
fi
[ "$(chained)" -gt 0 ] || { echo "the migration is not waiting behind the open transaction" >&2; exit 1; }
note "a psql session idle in transaction holds a lock on agents; ALTER TABLE agents waits behind it"
