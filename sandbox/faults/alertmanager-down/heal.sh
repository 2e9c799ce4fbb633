#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
$COMPOSE start alertmanager >/dev/null 2>&1
wait_healthy alertmanager 60
note "alertmanager running and ready"
