#!/usr/bin/env bash
# Deploy the release that exits at start; the app's restart policy (unless-stopped) loops it.
source "$(dirname "$0")/../lib.sh"
APP_VERSION=crashing $COMPOSE up -d --no-deps app >/dev/null 2>&1
for _ in $(seq 1 40); do
  [ "$(docker inspect -f '{{.RestartCount}}' "$(container app)")" -ge 2 ] && break
  sleep 0.25
done
note "app restarting: $(docker inspect -f 'RestartCount {{.RestartCount}}, state {{.State.Status}}' "$(container app)")"
