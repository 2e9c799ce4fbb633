#!/usr/bin/env bash
# The off-site store, from a runbook step: copy a file there, list it, check a copy, or run a
# command there. Over SSH, key only, the store's host key checked (never trusted on first use).
#
# Usage: scripts/backup-store.sh put LOCAL_FILE SUBDIR    copy to $BACKUP_STORE_DIR/SUBDIR/,
#                                                          then print `copied: PATH SHA256`
#        scripts/backup-store.sh ls SUBDIR                 newest first: NAME<TAB>BYTES<TAB>MTIME
#        scripts/backup-store.sh run COMMAND               a shell command on the store
#
# Reads BACKUP_STORE (user@host), BACKUP_STORE_PORT, BACKUP_STORE_SSH_KEY, BACKUP_STORE_KNOWN_HOSTS
# and BACKUP_STORE_DIR (`opsbook sandbox env` sets them for the sandbox; a target's env file for
# the others). A copy is written under a temporary name and renamed, then its checksum compared
# with the local file's: a copy is either whole and checked, or absent.
# Exit status: 0; 2 on a usage error; 3 if the store cannot be reached; 4 if a copy differs.
set -euo pipefail

usage() { sed -n '5,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
for v in BACKUP_STORE BACKUP_STORE_PORT BACKUP_STORE_SSH_KEY BACKUP_STORE_KNOWN_HOSTS BACKUP_STORE_DIR; do
  [ -n "${!v:-}" ] || { echo "$v is not set: eval \"\$(opsbook sandbox env)\" or load the env file of the target" >&2; exit 2; }
done
on_store() {
  ssh -q -i "$BACKUP_STORE_SSH_KEY" -p "$BACKUP_STORE_PORT" -o BatchMode=yes -o StrictHostKeyChecking=yes \
    -o UserKnownHostsFile="$BACKUP_STORE_KNOWN_HOSTS" -o ConnectTimeout=5 "$BACKUP_STORE" "$@"
}
subdir() {
  [[ $1 =~ ^[A-Za-z0-9._-]+$ && $1 != .* ]] || { echo "SUBDIR must be one plain folder name, not '$1'" >&2; exit 2; }
}

case ${1:-} in
  put)
    [ $# -eq 3 ] || usage
    file=$2; subdir "$3"
    [ -f "$file" ] || { echo "no such file: $file" >&2; exit 2; }
    name=$(basename "$file")
    [[ $name =~ ^[A-Za-z0-9._-]+$ ]] || { echo "the file name '$name' has characters the store does not take" >&2; exit 2; }
    dest="$BACKUP_STORE_DIR/$3/$name"
    on_store "mkdir -p '$BACKUP_STORE_DIR/$3' && cat >'$dest.partial' && mv '$dest.partial' '$dest'" <"$file" \
      || { echo "cannot copy to the store ($BACKUP_STORE port $BACKUP_STORE_PORT)" >&2; exit 3; }
    local_sum=$(sha256sum "$file" | cut -d' ' -f1)
    remote_sum=$(on_store "sha256sum '$dest'" | cut -d' ' -f1) || { echo "cannot read the copy back" >&2; exit 3; }
    if [ "$local_sum" != "$remote_sum" ]; then
      echo "the copy on the store differs from $file (sha256 $remote_sum, expected $local_sum)" >&2
      exit 4
    fi
    echo "copied: $dest $local_sum"
    ;;
  ls)
    [ $# -eq 2 ] || usage
    subdir "$2"
    on_store "cd '$BACKUP_STORE_DIR/$2' 2>/dev/null && ls -1t | while read -r f; do
        [ -f \"\$f\" ] && printf '%s\t%s\t%s\n' \"\$f\" \"\$(stat -c %s \"\$f\")\" \"\$(stat -c %Y \"\$f\")\"; done; true" \
      || { echo "cannot reach the store ($BACKUP_STORE port $BACKUP_STORE_PORT)" >&2; exit 3; }
    ;;
  run)
    [ $# -eq 2 ] || usage
    on_store "$2"
    ;;
  -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) usage ;;
esac
