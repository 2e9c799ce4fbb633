#!/usr/bin/env bash
# The daily backup stopped two days ago: its service is stopped, and what it wrote after its last
# success (backup.prom in node-exporter's textfile directory) is dated two days ago; the file that
# was there is kept so heal can put it back.
source "$(dirname "$0")/../lib.sh"
docker stop --time 2 "$(container backup)" >/dev/null
last=$(( $(date +%s) - 2 * 86400 ))
docker exec -i -u 0 "$(container node-exporter)" sh -ec '
  cd /var/lib/node-exporter/textfile
  if [ -f backup.prom ] && ! grep -q "stale-backup fault" backup.prom; then cp -p backup.prom backup.prom.before-stale-backup; fi
  cat >.backup.prom.tmp && chmod 0644 .backup.prom.tmp && mv .backup.prom.tmp backup.prom' <<PROM
# Written by the stale-backup fault (sandbox/faults/stale-backup); heal puts the previous file back.
# HELP opsbook_backup_last_success_timestamp_seconds When the last database backup succeeded (unix time).
# TYPE opsbook_backup_last_success_timestamp_seconds gauge
opsbook_backup_last_success_timestamp_seconds $last
PROM
note "service backup stopped; backup.prom says the last successful backup was at $(date -u -d "@$last" '+%Y-%m-%d %H:%M UTC')"
