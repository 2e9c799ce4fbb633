#!/usr/bin/env bash
# Put back the backup.prom that was there before the fault, or remove it (no metric: no alert);
# start the daily backup again.
source "$(dirname "$0")/../lib.sh"
docker exec -u 0 "$(container node-exporter)" sh -ec '
  cd /var/lib/node-exporter/textfile
  if [ -f backup.prom.before-stale-backup ]; then mv backup.prom.before-stale-backup backup.prom; else rm -f backup.prom; fi'
docker start "$(container backup)" >/dev/null
note "backup.prom restored, service backup started"
