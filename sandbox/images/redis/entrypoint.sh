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
# Small, so the redis-memory fault reaches RedisMemoryHigh (90%) with a 60 MB key; the job
# queue needs well under a megabyte. No eviction: at the limit Redis refuses writes.
maxmemory 64mb
maxmemory-policy noeviction
requirepass $REDIS_PASSWORD
CONF
exec redis-server "$conf"
