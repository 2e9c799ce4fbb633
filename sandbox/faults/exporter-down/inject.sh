#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
$COMPOSE stop -t 2 redis-exporter >/dev/null 2>&1
note "redis-exporter stopped"
