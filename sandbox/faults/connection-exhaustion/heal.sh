#!/usr/bin/env bash
# Stop the leaking client, then end the sessions it left behind.
source "$(dirname "$0")/../lib.sh"
$COMPOSE rm -fsv leaky-client >/dev/null 2>&1
echo "select count(pg_terminate_backend(pid)) from pg_stat_activity where application_name = 'leaky-client'" | sql >/dev/null
wait_healthy worker 60
wait_healthy app 60
note "leaky-client stopped; its sessions terminated"
