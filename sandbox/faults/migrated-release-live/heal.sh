#!/usr/bin/env bash
# Revert 0005 (as 1.0.0 does), traffic back to blue, green back to the default version.
source "$(dirname "$0")/../lib.sh"
default=${OPSBOOK_DEFAULT_APP_VERSION:-1.0.0}
APP_VERSION=$default $COMPOSE run -T --rm --no-deps migrate python3 -m opsbook_app.migrate down >/dev/null 2>&1
wait_healthy app 60
docker exec "$(container proxy)" slot switch blue >/dev/null
APP_GREEN_VERSION=$default $COMPOSE up -d --no-deps app-green >/dev/null 2>&1
wait_healthy app-green 60
note "0005 reverted; traffic on blue ($default); green back on the same version"
