#!/usr/bin/env bash
# Traffic back to blue, and green back to the default version.
source "$(dirname "$0")/../lib.sh"
wait_healthy app 60
docker exec "$(container proxy)" slot switch blue >/dev/null
APP_GREEN_VERSION=${OPSBOOK_DEFAULT_APP_VERSION:-1.0.0} $COMPOSE up -d --no-deps app-green >/dev/null 2>&1
wait_healthy app-green 60
note "traffic on blue (${OPSBOOK_DEFAULT_APP_VERSION:-1.0.0}); green back on the same version"
