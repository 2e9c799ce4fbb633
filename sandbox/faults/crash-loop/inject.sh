#!/usr/bin/env bash
# Recreate the worker from compose.yaml plus an override that empties REDIS_PASSWORD; its
# restart policy (unless-stopped) then restarts it every time it exits.
source "$(dirname "$0")/../lib.sh"
$COMPOSE -f "$COMPOSE_FILE" -f "$(dirname "$0")/worker-without-secret.yaml" up -d --no-deps worker >/dev/null 2>&1
for _ in $(seq 1 40); do
  [ "$(docker inspect -f '{{.RestartCount}}' "$(container worker)")" -ge 2 ] && break
  sleep 0.25
done
note "worker restarting: $(docker inspect -f 'RestartCount {{.RestartCount}}, state {{.State.Status}}' "$(container worker)")"
