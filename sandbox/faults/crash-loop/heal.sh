#!/usr/bin/env bash
# Redeploy the worker with the configuration of compose.yaml (compose recreates it).
source "$(dirname "$0")/../lib.sh"
$COMPOSE up -d --no-deps worker >/dev/null 2>&1
wait_healthy worker 60
note "worker running again: $(docker inspect -f 'RestartCount {{.RestartCount}}' "$(container worker)")"
