#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
APP_VERSION=broken $COMPOSE up -d --no-deps app >/dev/null 2>&1
note "app version broken deployed"
