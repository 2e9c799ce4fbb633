#!/usr/bin/env bash
# Stop the loop; give the container the default CPU weight again (1024, what "unset" means).
source "$(dirname "$0")/../lib.sh"
if running app; then
  app=$(container app)
  stop_process "$app" /tmp/cpu-burn.pid
  [ "$(docker inspect -f '{{.HostConfig.CpuShares}}' "$app")" = 16384 ] && docker update --cpu-shares 1024 "$app" >/dev/null
fi
note "busy loop stopped"
