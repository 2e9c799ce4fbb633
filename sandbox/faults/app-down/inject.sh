#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
$COMPOSE stop -t 3 app >/dev/null 2>&1
note "app stopped"
