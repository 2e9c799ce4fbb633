#!/usr/bin/env bash
# Deploy 2.1.0 the way the deploy runbook does, gates skipped: a pre-deploy backup (into
# build/backups, where the runbooks look), its migration, green gets it, traffic moves.
source "$(dirname "$0")/../lib.sh"
backups=${BACKUP_DIR:-$OPSBOOK_SANDBOX_DIR/../build/backups}
"$OPSBOOK_SANDBOX_DIR/../scripts/backup-database.sh" -d "$backups" >/dev/null
sleep 1  # the backup's time stamp strictly before the migration's
APP_VERSION=2.1.0 $COMPOSE run -T --rm --no-deps migrate >/dev/null 2>&1
APP_GREEN_VERSION=2.1.0 $COMPOSE up -d --no-deps app-green >/dev/null 2>&1
wait_healthy app-green 60
docker exec "$(container proxy)" slot switch green >/dev/null
note "pre-deploy backup in $backups; release 2.1.0 and its irreversible migration 0007 live in green; 1.0.0 in blue fails its health check"
