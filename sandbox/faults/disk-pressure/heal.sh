#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
if running worker; then
  docker exec "$(container worker)" sh -c 'rm -f /var/spool/opsbook/export-backlog.bin && df -h /var/spool/opsbook | tail -n 1'
fi
