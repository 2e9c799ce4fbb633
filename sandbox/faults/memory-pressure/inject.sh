#!/usr/bin/env bash
# A process in the app container that holds memory up to 90% of the container's limit: over
# the 85% of HighMemoryUsage, under the 100% where the OOM killer would end the app.
source "$(dirname "$0")/../lib.sh"
app=$(container app)
holding() { process_alive "$app" /tmp/memory-pressure.pid; }
if holding; then
  note "already holding memory: pid $(docker exec "$app" cat /tmp/memory-pressure.pid) in the app container"
  exit 0
fi
docker exec -i "$app" sh -c 'cat >/tmp/memory-pressure.py' <"$(dirname "$0")/ballast.py"
docker exec -d "$app" sh -c 'exec python3 /tmp/memory-pressure.py 0.9 >/tmp/memory-pressure.log 2>&1'
for _ in $(seq 1 40); do
  holding && break
  sleep 0.25
done
holding || { docker exec "$app" cat /tmp/memory-pressure.log >&2; exit 1; }
note "$(docker exec "$app" cat /tmp/memory-pressure.log); $(docker stats --no-stream --format '{{.MemUsage}} ({{.MemPerc}})' "$app")"
