#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
docker exec "$(container worker)" sh -c \
  'dd if=/dev/zero of=/var/spool/opsbook/export-backlog.bin bs=1M count=59 status=none && df -h /var/spool/opsbook | tail -n 1'
