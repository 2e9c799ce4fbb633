#!/usr/bin/env bash
# Stop the writer and delete what it wrote.
source "$(dirname "$0")/../lib.sh"
if running worker; then
  docker exec "$(container worker)" sh -c 'pid=$(cat /tmp/disk-filling.pid 2>/dev/null) && kill "$pid" 2>/dev/null;
    rm -f /tmp/disk-filling.pid /var/spool/opsbook/export-stream.part; df -h /var/spool/opsbook | tail -n 1'
fi
