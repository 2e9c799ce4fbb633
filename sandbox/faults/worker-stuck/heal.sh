#!/usr/bin/env bash
# Start the worker and let it drain the backlog.
source "$(dirname "$0")/../lib.sh"
$COMPOSE start worker >/dev/null 2>&1
wait_healthy worker 60
for _ in $(seq 1 120); do
  depth=$(redis LLEN jobs)
  [ "$depth" -lt 100 ] && break
  sleep 0.5
done
note "worker running; queue depth $depth"
