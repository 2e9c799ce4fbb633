#!/bin/sh
# Write the password into a config file (not the command line, where `ps` would show it).
set -eu
: "${REDIS_PASSWORD:?REDIS_PASSWORD must be set}"
conf=/tmp/redis.conf
umask 077
cat >"$conf" <<CONF
bind 0.0.0.0
port 6379
protected-mode no
save ""
appendonly no
maxmemory 256mb
requirepass $REDIS_PASSWORD
CONF
exec redis-server "$conf"
