#!/usr/bin/env bash
# Write a target's env file (opsbook.toml env_file, e.g. .env.production) from the environment,
# for a pipeline whose secrets store holds the file's content:
#
#   TARGET_ENV="$(cat .env.production)" scripts/target-env.sh production
#
# TARGET_ENV       the whole env file (KEY=value lines), required
# TARGET_SSH_KEY   optional: the off-site store's private key; written next to it (mode 600) and
#                  BACKUP_STORE_SSH_KEY set to it. TARGET_KNOWN_HOSTS likewise (BACKUP_STORE_KNOWN_HOSTS).
#
# Files are created mode 600 before anything is written to them; no value is ever printed.
set -euo pipefail

die() { printf 'target-env: error: %s\n' "$*" >&2; exit 2; }

target=${1:-}
[[ $target =~ ^[a-z][a-z0-9_-]*$ ]] || die "give the target's name (e.g. production): got '${target}'"
[ -n "${TARGET_ENV:-}" ] || die "TARGET_ENV is empty: put the content of .env.$target in the pipeline's secrets and pass it as TARGET_ENV"
cd "$(dirname "$0")/.."

umask 077
file=".env.$target"
tmp=$(mktemp "$file.XXXXXX")
trap 'rm -f "$tmp"' EXIT
printf '%s\n' "$TARGET_ENV" >"$tmp"
keys=".state/targets/$target"
if [ -n "${TARGET_SSH_KEY:-}" ]; then
  mkdir -p "$keys"
  printf '%s\n' "$TARGET_SSH_KEY" >"$keys/backup-store-key"
  printf 'BACKUP_STORE_SSH_KEY=%s\n' "$PWD/$keys/backup-store-key" >>"$tmp"
fi
if [ -n "${TARGET_KNOWN_HOSTS:-}" ]; then
  mkdir -p "$keys"
  printf '%s\n' "$TARGET_KNOWN_HOSTS" >"$keys/known_hosts"
  printf 'BACKUP_STORE_KNOWN_HOSTS=%s\n' "$PWD/$keys/known_hosts" >>"$tmp"
fi
mv "$tmp" "$file"
trap - EXIT
printf 'target-env: wrote %s (%s lines, mode 600)\n' "$file" "$(wc -l <"$file")"
