#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
$COMPOSE rm -fsv scanner >/dev/null 2>&1
note "scanner stopped"
