#!/bin/sh
# Write the auth file from the environment (it never lands in the image or on disk outside
# this container's /run), then run pgbouncer in the foreground. SIGHUP reloads pgbouncer.ini:
# `sandbox reset` sends it, which undoes a pool resized at run time (SET default_pool_size).
set -eu
: "${APP_DB_PASSWORD:?APP_DB_PASSWORD must be set}"
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
APP_DB_USER=${APP_DB_USER:-opsbook}
quote() { printf '"%s"' "$(printf '%s' "$1" | sed 's/"/""/g')"; }
umask 077
{
  printf '%s %s\n' "$(quote "$APP_DB_USER")" "$(quote "$APP_DB_PASSWORD")"
  printf '%s %s\n' "$(quote postgres)" "$(quote "$POSTGRES_PASSWORD")"
} > /run/pgbouncer/userlist.txt
exec pgbouncer /etc/pgbouncer/pgbouncer.ini
