#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
$COMPOSE stop -t 5 postgres >/dev/null 2>&1
note "postgres stopped"
