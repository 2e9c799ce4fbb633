#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
$COMPOSE stop -t 3 alertmanager >/dev/null 2>&1
note "alertmanager stopped"
