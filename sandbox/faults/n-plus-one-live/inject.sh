#!/usr/bin/env bash
# Deploy 1.2.0 the blue-green way, gates skipped: green gets it, traffic moves to green.
source "$(dirname "$0")/../lib.sh"
APP_GREEN_VERSION=1.2.0 $COMPOSE up -d --no-deps app-green >/dev/null 2>&1
wait_healthy app-green 60
docker exec "$(container proxy)" slot switch green >/dev/null
note "release 1.2.0 (organisation job lists with an N+1) live in the green slot; 1.0.0 out of traffic in blue"
