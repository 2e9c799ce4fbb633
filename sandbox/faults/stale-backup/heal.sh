#!/usr/bin/env bash
# Put back the backup.prom that was there before the fault, or remove it (no metric: no alert).
source "$(dirname "$0")/../lib.sh"
docker exec -u 0 "$(container node-exporter)" sh -ec '
  cd /var/lib/node-exporter/textfile
  if [ -f backup.prom.before-stale-backup ]; then mv backup.prom.before-stale-backup backup.prom; else rm -f backup.prom; fi'
note "backup.prom restored"
