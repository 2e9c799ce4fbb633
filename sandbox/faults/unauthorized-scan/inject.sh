#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
$COMPOSE up -d --no-deps scanner >/dev/null 2>&1
note "scanner probing $APP_URL/api/admin/* with the non-admin API token"
