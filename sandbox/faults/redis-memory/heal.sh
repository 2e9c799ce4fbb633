#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
redis DEL cache:report-export >/dev/null
note "cache:report-export deleted; used_memory $(redis INFO memory | tr -d '\r' | awk -F: '$1 == "used_memory_human" { print $2 }')"
