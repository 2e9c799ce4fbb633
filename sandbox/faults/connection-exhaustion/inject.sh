#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
$COMPOSE up -d --no-deps leaky-client >/dev/null 2>&1
for _ in $(seq 1 60); do
  held=$(echo "select count(*) from pg_stat_activity where application_name = 'leaky-client'" | sql)
  free=$(echo "select current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
               - (select count(*) from pg_stat_activity where backend_type = 'client backend')" | sql)
  [ "$free" -le 0 ] && [ "$held" -gt 0 ] && break
  sleep 0.5
done
note "leaky-client holds $held connections; $free ordinary slots left"
