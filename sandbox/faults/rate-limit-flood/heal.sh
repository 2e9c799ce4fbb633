#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
$COMPOSE rm -fsv flooder >/dev/null 2>&1
note "flooder stopped"
