#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
$COMPOSE up -d --no-deps flooder >/dev/null 2>&1
note "flooder sending GET /api/agents at 60 requests/s from one address"
