#!/usr/bin/env bash
# Stop the job, end the transactions it left, give the pool back its configured size.
source "$(dirname "$0")/../lib.sh"
$COMPOSE rm -fsv nightly-report >/dev/null 2>&1
echo "select count(pg_terminate_backend(pid)) from pg_stat_activity where application_name = 'nightly-report'" | sql >/dev/null
docker kill --signal HUP "$(container pgbouncer)" >/dev/null
wait_healthy app 60
note "nightly-report stopped; its transactions ended; pgbouncer.ini read again"
