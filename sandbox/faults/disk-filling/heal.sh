#!/usr/bin/env bash
# Stop the writer and delete what it wrote.
source "$(dirname "$0")/../lib.sh"
if running worker; then
  worker=$(container worker)
  stop_process "$worker" /tmp/disk-filling.pid /var/spool/opsbook/export-stream.part
  docker exec "$worker" df -h /var/spool/opsbook | tail -n 1
fi
