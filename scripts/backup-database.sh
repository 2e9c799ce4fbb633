#!/usr/bin/env bash
# Back up the application database with pg_dump, clean up old backups, report sizes.
#
# Credentials come only from the environment: DATABASE_URL, or the libpq variables
# PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE. Nothing is read from files here and
# nothing secret is printed.
#
# Usage: scripts/backup-database.sh [-d DIR] [-r DAYS] [-k COUNT]
#   -d DIR    where backups go (default: $BACKUP_DIR, else ./build/backups)
#   -r DAYS   delete backups older than DAYS days (default: $BACKUP_RETENTION_DAYS, else 7)
#   -k COUNT  always keep at least the COUNT newest backups (default: $BACKUP_KEEP_MIN, else 3)
#
# Output: a report ending with the line `backup file: PATH`; next to the dump, PATH.counts
# holds each table's row count at the moment of the dump (same snapshot), tab-separated. Exit status: 0 on success,
# 2 on a usage error, the failing command's status otherwise (a failed dump leaves no file).
set -euo pipefail

dir=${BACKUP_DIR:-build/backups}
retention_days=${BACKUP_RETENTION_DAYS:-7}
keep_min=${BACKUP_KEEP_MIN:-3}

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while getopts "d:r:k:h" opt; do
  case $opt in
    d) dir=$OPTARG ;;
    r) retention_days=$OPTARG ;;
    k) keep_min=$OPTARG ;;
    *) usage ;;
  esac
done
[[ $retention_days =~ ^[0-9]+$ && $keep_min =~ ^[0-9]+$ ]] || { echo "-r and -k take whole numbers" >&2; exit 2; }

if [[ -z ${DATABASE_URL:-} && -z ${PGDATABASE:-} ]]; then
  echo "no database given: set DATABASE_URL (or PGHOST/PGUSER/PGPASSWORD/PGDATABASE)" >&2
  exit 2
fi
conn=()
[[ -n ${DATABASE_URL:-} ]] && conn=(--dbname="$DATABASE_URL")

command -v pg_dump >/dev/null || { echo "pg_dump not found: install postgresql-client" >&2; exit 127; }

db=$(psql "${conn[@]}" -Atc 'select current_database()')
mkdir -p "$dir"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
file="$dir/$db-$stamp.dump"
# Two backups of the same database in the same second (CI shards) must not share files.
partial=$(mktemp "$dir/.$db-$stamp.XXXXXX.partial")
trap 'rm -f "$partial" "$partial.counts"' EXIT

# The dump and the row counts come from one snapshot: a transaction held open by a psql
# coprocess exports it, pg_dump reads it, and the counts are taken inside it. The counts go
# next to the dump (FILE.counts) so a restore can be checked against what was backed up,
# even while the application keeps writing.
coproc SNAPSHOT { psql "${conn[@]}" -X -q -At -v ON_ERROR_STOP=1 2>&1; }
# bash unsets SNAPSHOT and SNAPSHOT_PID when the coprocess ends: keep copies.
snapshot_pid=$SNAPSHOT_PID
exec {to_psql}>&"${SNAPSHOT[1]}" {from_psql}<&"${SNAPSHOT[0]}"
eval "exec ${SNAPSHOT[1]}>&- ${SNAPSHOT[0]}<&-"  # only the copies stay open: closing them ends psql
query() {
  printf '%s\nSELECT %s;\n' "$1" "'--end--'" >&"$to_psql"
  local line
  while IFS= read -r -t 60 line <&"$from_psql"; do
    [[ $line == --end-- ]] && return 0
    printf '%s\n' "$line"
  done
  echo "psql did not answer: $line" >&2
  return 1
}
snapshot=$(query "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT pg_export_snapshot();")
[[ $snapshot =~ ^[0-9A-F-]+$ ]] || { echo "could not export a snapshot: $snapshot" >&2; exit 1; }

started=$(date +%s.%N)
# Custom format: compressed, restorable table by table, and pg_restore can run it in parallel.
pg_dump "${conn[@]}" --snapshot="$snapshot" --format=custom --no-owner --file="$partial"
query "SELECT format('%I.%I', schemaname, relname) || E'\t' ||
         (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', schemaname, relname),
                                               false, true, '')))[1]::text
       FROM pg_stat_user_tables ORDER BY 1;" >"$partial.counts"
query "COMMIT;" >/dev/null
exec {to_psql}>&- {from_psql}<&-
wait "$snapshot_pid" 2>/dev/null || true
n=1
while ! mv -n "$partial" "$file" 2>/dev/null || [[ -e $partial ]]; do
  n=$((n + 1)); file="$dir/$db-$stamp-$n.dump"
  (( n < 100 )) || { echo "cannot move the dump into place in $dir" >&2; exit 1; }
done
mv "$partial.counts" "$file.counts"
elapsed=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')

echo "database: $db"
echo "dump took: ${elapsed} s"
echo "tables: $(wc -l <"$file.counts"), rows: $(awk -F'\t' '{ n += $2 } END { print n + 0 }' "$file.counts")"

# Retention: delete dumps older than the limit, but never the newest $keep_min.
deleted=0
mapfile -t dumps < <(ls -1t "$dir"/"$db"-*.dump 2>/dev/null)
for old in "${dumps[@]:$keep_min}"; do
  if [[ -n $(find "$old" -maxdepth 0 -mtime +"$retention_days" 2>/dev/null) ]]; then
    rm -f -- "$old" "$old.counts"
    echo "deleted (older than $retention_days days): $(basename "$old")"
    deleted=$((deleted + 1))
  fi
done

count=$(find "$dir" -maxdepth 1 -name "$db-*.dump" | wc -l)
echo "size: $(du -h "$file" | cut -f1)"
echo "backups kept: $count ($(du -ch "$dir"/"$db"-*.dump | tail -1 | cut -f1) in total), deleted: $deleted"
echo "backup file: $file"
