#!/usr/bin/env bash
# Stop the scanner. The security runbook may have rotated the API token (the scanner held a valid
# one): put the sandbox's own token back, in the app's Redis sets and in the traffic generator
# (compose recreates it only if its token differs from the sandbox's).
source "$(dirname "$0")/../lib.sh"
$COMPOSE rm -fsv scanner >/dev/null 2>&1
redis DEL security:api-tokens:valid security:api-tokens:revoked >/dev/null
$COMPOSE up -d --no-deps traffic >/dev/null 2>&1
note "scanner stopped; the sandbox's API token is the valid one again"
