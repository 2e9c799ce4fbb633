#!/usr/bin/env bash
# Prepare a Debian/Ubuntu host for the opsbook sandbox and runbook steps, idempotently:
#   - Debian packages: docker engine + compose, debootstrap (air-gapped base image),
#     psql, redis-cli, curl, jq, promtool, ssh (the off-site store), chromium (site tests)
#   - start dockerd in the background when it is not running, wait for its socket
# Safe to run twice; quiet unless something is installed or fails. Needs root (or sudo).
set -euo pipefail

PACKAGES=(docker.io docker-compose debootstrap postgresql-client redis-tools curl jq prometheus openssh-client
          chromium fonts-liberation ca-certificates)
# A Docker installation of its own (docker-ce with the compose plugin, as on GitHub's runners):
# Debian's docker.io would conflict with it, so it is used as it is.
if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1 \
    && ! dpkg-query -W -f='${Status}' docker.io 2>/dev/null | grep -q "install ok installed"; then
  PACKAGES=("${PACKAGES[@]/#docker.io/}"); PACKAGES=("${PACKAGES[@]/#docker-compose/}")
fi
# OPSBOOK_HOST_BROWSER=0: no Chromium (a CI job that verifies runbooks builds no site in a browser).
if [ "${OPSBOOK_HOST_BROWSER:-1}" = 0 ]; then
  PACKAGES=("${PACKAGES[@]/#chromium/}"); PACKAGES=("${PACKAGES[@]/#fonts-liberation/}")
fi
SOCKET=${DOCKER_SOCKET:-/var/run/docker.sock}
LOG=${SETUP_HOST_LOG:-/tmp/opsbook-setup-host.log}

say() { printf 'setup-host: %s\n' "$*"; }
die() { printf 'setup-host: error: %s\n' "$*" >&2; exit 1; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "run as root (or install sudo)"
  SUDO=(sudo -n)
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  [ -n "$pkg" ] || continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]} (log: $LOG)"
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update >"$LOG" 2>&1 || die "apt-get update failed; see $LOG"
  # prometheus is wanted for promtool only: do not start its daemon during install.
  "${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >>"$LOG" 2>&1 \
    || { tail -n 20 "$LOG" >&2; die "apt-get install failed; see $LOG"; }
  say "packages installed"
else
  say "packages already installed"
fi

docker_answers() { "${SUDO[@]}" docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

if docker_answers; then
  say "docker engine running ($("${SUDO[@]}" docker version --format '{{.Server.Version}}'))"
else
  # A pid file left by an engine that died with the machine can name a live process that is
  # not containerd or dockerd any more (pids are reused); dockerd then waits for it forever.
  for pidfile in /var/run/docker/containerd/containerd.pid /var/run/docker.pid; do
    if [ -f "$pidfile" ]; then
      comm=$(ps -p "$(cat "$pidfile" 2>/dev/null)" -o comm= 2>/dev/null || true)
      case "$comm" in
        containerd|dockerd) ;;
        *) say "removing stale $pidfile (its process is gone)"; "${SUDO[@]}" rm -f "$pidfile" ;;
      esac
    fi
  done
  say "starting dockerd in the background (log: /var/log/dockerd.log)"
  # setsid: dockerd outlives this script and the CI step's process group.
  "${SUDO[@]}" sh -c 'setsid dockerd >/var/log/dockerd.log 2>&1 < /dev/null &'
  for _ in $(seq 1 60); do
    [ -S "$SOCKET" ] && docker_answers && break
    sleep 1
  done
  docker_answers || { tail -n 20 /var/log/dockerd.log >&2 || true; die "dockerd did not answer on $SOCKET within 60s"; }
  say "docker engine running ($("${SUDO[@]}" docker version --format '{{.Server.Version}}'))"
fi

if docker compose version >/dev/null 2>&1; then
  say "compose: docker compose $(docker compose version --short)"
elif command -v docker-compose >/dev/null 2>&1; then
  say "compose: docker-compose $(docker-compose version --short)"
else
  die "no docker compose after installing docker-compose"
fi
