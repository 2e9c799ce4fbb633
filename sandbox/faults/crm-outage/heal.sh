#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
$COMPOSE start crm >/dev/null 2>&1
wait_healthy crm 60
note "crm running and healthy"
