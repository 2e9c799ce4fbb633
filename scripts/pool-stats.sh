#!/usr/bin/env bash
# One PgBouncer pool's numbers, from the admin console's SHOW POOLS and SHOW DATABASES, as
# shell assignments (eval them) or, with --table, one line a person reads.
#
# Usage: scripts/pool-stats.sh [--table] [DATABASE [USER]]     (default: opsbook opsbook)
#
# Reads PGBOUNCER_ADMIN_URL (a stats or admin user of PgBouncer's `pgbouncer` database).
# Prints, e.g.:  CL_ACTIVE=17 CL_WAITING=4 SV_ACTIVE=12 SV_IDLE=0 MAXWAIT=3 POOL_SIZE=10 RESERVE_POOL=2
#   CL_*  clients linked to a server connection (active) or waiting for one
#   SV_*  server connections linked to a client (active) or ready (idle)
#   MAXWAIT seconds the oldest waiting client has waited; POOL_SIZE, RESERVE_POOL as configured
# Exit status: 0; 2 on a usage error; 3 if the console does not answer; 4 if the pool has no
# row (no client has used it since PgBouncer started).
set -euo pipefail

table=""
if [ "${1:-}" = --table ]; then table=1; shift; fi
case ${1:-} in -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
[ $# -le 2 ] || { echo "usage: scripts/pool-stats.sh [--table] [DATABASE [USER]]" >&2; exit 2; }
database=${1:-opsbook}
user=${2:-$database}
: "${PGBOUNCER_ADMIN_URL:?PGBOUNCER_ADMIN_URL is not set: eval \"\$(opsbook sandbox env)\" or load the env file of the target}"

show() { psql "$PGBOUNCER_ADMIN_URL" -XA -F'|' -P footer=off -v ON_ERROR_STOP=1 -c "SHOW $1" 2>&1; }
if ! pools=$(show POOLS) || ! databases=$(show DATABASES); then
  echo "PgBouncer's admin console does not answer: ${pools:-}${databases:-}" | head -n 3 >&2
  exit 3
fi
# Columns by their header's name (their order changes between PgBouncer versions); a value
# that is not a number is never printed (nothing the console says becomes shell code).
pick() {
  awk -F'|' -v key="$2" -v want="$3" -v columns="$4" '
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    $col[key] == want { row = $0 }
    END {
      if (row == "") exit 4
      n = split(row, f, "|"); split(columns, names, " ")
      for (i in names) { v = f[col[names[i]]]; if (v !~ /^[0-9]+$/) v = 0; printf "%s=%s\n", names[i], v }
    }' <<<"$1"
}
pool_row=$(awk -F'|' -v db="$database" -v user="$user" 'NR == 1 || ($1 == db && $2 == user)' <<<"$pools")
if ! pool=$(pick "$pool_row" database "$database" "cl_active cl_waiting sv_active sv_idle maxwait"); then
  echo "no pool $database/$user in PgBouncer (SHOW POOLS): no client has used it yet" >&2
  exit 4
fi
sizes=$(pick "$databases" name "$database" "pool_size reserve_pool" || echo "pool_size=0 reserve_pool=0")
declare -A v
for pair in $pool $sizes; do v[${pair%%=*}]=${pair#*=}; done
if [ -n "$table" ]; then
  echo "pool $database/$user: ${v[cl_active]} clients active, ${v[cl_waiting]} waiting (oldest ${v[maxwait]} s);" \
       "${v[sv_active]} of ${v[pool_size]}+${v[reserve_pool]} server connections in use, ${v[sv_idle]} idle"
else
  echo "CL_ACTIVE=${v[cl_active]} CL_WAITING=${v[cl_waiting]} SV_ACTIVE=${v[sv_active]} SV_IDLE=${v[sv_idle]}" \
       "MAXWAIT=${v[maxwait]} POOL_SIZE=${v[pool_size]} RESERVE_POOL=${v[reserve_pool]}"
fi
