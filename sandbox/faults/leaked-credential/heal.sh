#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
$COMPOSE rm -fsv attacker >/dev/null 2>&1
note "attacker stopped"
