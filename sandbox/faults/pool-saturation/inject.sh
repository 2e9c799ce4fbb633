#!/usr/bin/env bash
# Start the job; it stops opening connections once it holds 12 (its LEAK_MAX). The app's own
# requests then keep clients waiting at the pooler.
source "$(dirname "$0")/../lib.sh"
$COMPOSE up -d --no-deps nightly-report >/dev/null 2>&1
for _ in $(seq 1 60); do
  held=$(echo "select count(*) from pg_stat_activity
               where application_name = 'nightly-report' and state = 'idle in transaction'" | sql)
  [ "$held" -ge 12 ] && break
  sleep 0.5
done
[ "$held" -ge 12 ] || { echo "nightly-report holds only $held connections" >&2; exit 1; }
note "nightly-report holds $held pooled server connections idle in transaction"
