#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
if running app; then
  stop_process "$(container app)" /tmp/memory-pressure.pid /tmp/memory-pressure.py /tmp/memory-pressure.log
fi
note "memory released"
