#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
$COMPOSE start postgres >/dev/null 2>&1
wait_healthy postgres 60
wait_healthy app 60
note "postgres running; app healthy again"
