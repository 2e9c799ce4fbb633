#!/usr/bin/env bash
# A busy loop in the app container: the cgroup's CPU quota (cpus: 0.5) bounds it, so the host
# stays usable. The container's CPU weight is raised for the duration (heal lowers it again) so
# that on a busy test host the loop still gets all its quota, as it would on a quiet production one.
source "$(dirname "$0")/../lib.sh"
app=$(container app)
burning() { process_alive "$app" /tmp/cpu-burn.pid; }
if burning; then
  note "already burning: pid $(docker exec "$app" cat /tmp/cpu-burn.pid) in the app container"
  exit 0
fi
docker update --cpu-shares 16384 "$app" >/dev/null
# Two spinning processes (the second ends with the first), so the loop can use both CPUs of a
# small host while the quota caps the sum.
docker exec -d "$app" sh -c 'echo $$ >/tmp/cpu-burn.pid && exec python3 -c "
import os
parent = os.getpid()
if os.fork() == 0:
    while os.getppid() == parent: pass
else:
    while True: pass"'
for _ in $(seq 1 20); do
  burning && break
  sleep 0.25
done
note "busy loop running in the app container: pid $(docker exec "$app" cat /tmp/cpu-burn.pid)"
