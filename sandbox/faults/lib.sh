# Shared helpers for fault scripts. Sourced by inject.sh / heal.sh, which opsbook runs with
# the sandbox's variables exported (`opsbook sandbox env`): COMPOSE, COMPOSE_PROJECT_NAME, ...
set -euo pipefail
: "${COMPOSE:?run through opsbook sandbox fault/heal, or eval \"\$(opsbook sandbox env)\" first}"
: "${COMPOSE_PROJECT_NAME:?COMPOSE_PROJECT_NAME is not set}"

# container SERVICE: id of the service's container in this project (empty if none); plain
# `docker ps` because it answers in milliseconds where `$COMPOSE ps -q` takes a second.
container() {
  docker ps -aq --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" \
    --filter "label=com.docker.compose.service=$1" --filter "label=com.docker.compose.oneoff=False" | head -n 1
}

running() {
  local id
  id=$(container "$1")
  [ -n "$id" ] && [ "$(docker inspect -f '{{.State.Running}}' "$id")" = true ]
}

# sql: run SQL from stdin as the superuser in the app database, inside the postgres container.
sql() {
  docker exec -i "$(container postgres)" psql -X -q -At -v ON_ERROR_STOP=1 -U postgres -d opsbook "$@"
}

redis() {
  docker exec -i "$(container redis)" redis-cli --no-auth-warning "$@"
}

# wait_healthy SERVICE [SECONDS]: until docker reports the container healthy.
wait_healthy() {
  local service=$1 limit=${2:-60} id status
  for _ in $(seq 1 $((limit * 2))); do
    id=$(container "$service")
    status=$( [ -n "$id" ] && docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id" || echo missing)
    [ "$status" = healthy ] && return 0
    sleep 0.5
  done
  echo "$service is not healthy after ${limit}s (state: $status)" >&2
  docker logs --tail 20 "$id" >&2 2>&1 || true
  return 1
}

# A fault's process inside a container, tracked by a pid file in that container.
# process_alive CONTAINER PIDFILE: the process is running.
process_alive() { docker exec "$1" sh -c 'kill -0 "$(cat "$1" 2>/dev/null)" 2>/dev/null' _ "$2"; }
# stop_process CONTAINER PIDFILE [FILE ...]: end the process, remove its pid file and FILEs.
stop_process() {
  local id=$1
  shift
  docker exec "$id" sh -c 'pid=$(cat "$1" 2>/dev/null) && kill "$pid" 2>/dev/null; rm -f "$@"' _ "$@"
}

note() { printf '%s\n' "$*"; }
