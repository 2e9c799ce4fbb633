#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
$COMPOSE up -d --no-deps attacker >/dev/null 2>&1
note "attacker replaying a leaked token against $APP_URL/api/agents"
