#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
$COMPOSE start redis-exporter >/dev/null 2>&1
wait_healthy redis-exporter 60
note "redis-exporter running"
