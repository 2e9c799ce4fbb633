#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
if running app; then
  docker exec "$(container app)" sh -c 'pid=$(cat /tmp/memory-pressure.pid 2>/dev/null) && kill "$pid" 2>/dev/null;
    rm -f /tmp/memory-pressure.pid /tmp/memory-pressure.py /tmp/memory-pressure.log'
fi
note "memory released"
