#!/usr/bin/env bash
# Roll back to the default version.
source "$(dirname "$0")/../lib.sh"
APP_VERSION=${OPSBOOK_DEFAULT_APP_VERSION:-1.0.0} $COMPOSE up -d --no-deps app >/dev/null 2>&1
wait_healthy app 60
note "app rolled back to ${OPSBOOK_DEFAULT_APP_VERSION:-1.0.0} and healthy"
