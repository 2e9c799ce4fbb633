#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
$COMPOSE start app >/dev/null 2>&1
wait_healthy app 60
note "app running and healthy"
