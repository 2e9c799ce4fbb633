#!/usr/bin/env bash
# Deploy 2.0.0 the blue-green way, gates skipped: its migration, green gets it, traffic moves.
source "$(dirname "$0")/../lib.sh"
APP_VERSION=2.0.0 $COMPOSE run -T --rm --no-deps migrate >/dev/null 2>&1
APP_GREEN_VERSION=2.0.0 $COMPOSE up -d --no-deps app-green >/dev/null 2>&1
wait_healthy app-green 60
docker exec "$(container proxy)" slot switch green >/dev/null
note "release 2.0.0 and its migration 0005 live in the green slot; 1.0.0 in blue fails its health check"
