#!/usr/bin/env bash
# Traffic back to blue, both slots back to the default version (a fix deployed into blue included).
source "$(dirname "$0")/../lib.sh"
default=${OPSBOOK_DEFAULT_APP_VERSION:-1.0.0}
APP_VERSION=$default $COMPOSE up -d --no-deps app >/dev/null 2>&1
wait_healthy app 60
docker exec "$(container proxy)" slot switch blue >/dev/null
APP_GREEN_VERSION=$default $COMPOSE up -d --no-deps app-green >/dev/null 2>&1
wait_healthy app-green 60
note "traffic on blue ($default); green back on the same version"
