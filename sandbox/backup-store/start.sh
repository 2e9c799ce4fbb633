#!/bin/sh
# Start sshd in the foreground, logging to stderr, once the keys `opsbook sandbox up` wrote are there.
set -eu
for f in /etc/ssh/keys/ssh_host_ed25519_key /etc/ssh/keys/authorized_keys; do
  [ -s "$f" ] || { echo "backup-store: $f is missing: run \`opsbook sandbox up\` (it writes the keys)" >&2; exit 1; }
done
mkdir -p /srv/backups/base /srv/backups/wal /srv/backups/dumps
chown backup:backup /srv/backups/base /srv/backups/wal /srv/backups/dumps
exec /usr/sbin/sshd -D -e
