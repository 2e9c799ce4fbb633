#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
$COMPOSE stop -t 2 crm >/dev/null 2>&1
note "crm stopped: crm_sync jobs cannot reach http://crm:8090"
