#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
$COMPOSE start redis >/dev/null 2>&1
wait_healthy redis 60
wait_healthy app 60
note "redis running; app healthy again"
