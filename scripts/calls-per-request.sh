#!/usr/bin/env bash
# How many times each SQL statement runs per request of one route: pg_stat_statements read
# before and after COUNT requests to URL, divided by the requests that route answered meanwhile
# (the serving process's own counter, so other clients of the route count too).
#
# Usage: scripts/calls-per-request.sh [-n COUNT] [-r ROUTE] URL
#   -n COUNT  requests to send (default 20), one after the other
#   -r ROUTE  the route label of URL in opsbook_http_requests_total
#             (default: /api/organisations/{slug}/jobs)
#   URL       e.g. "$APP_URL/api/organisations/org-0001/jobs?limit=50"; the metrics are read
#             from the same host's /metrics
#
# Reads DATABASE_ADMIN_URL (or DATABASE_URL: a role with pg_monitor reads every statement).
# Prints `requests: N to ROUTE, mean M ms`, then up to 5 statements, most calls per request
# first, each as `CALLS_PER_REQUEST<TAB>MEAN_MS<TAB>QUERYID<TAB>TEXT` (text on one line, 120
# characters at most). Statements run fewer than once per two requests are left out.
# Exit status: 0; 2 on a usage error; 3 if a request or the database fails.
set -euo pipefail

count=20
route='/api/organisations/{slug}/jobs'
while getopts "n:r:h" opt; do
  case $opt in
    n) count=$OPTARG ;;
    r) route=$OPTARG ;;
    *) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { echo "usage: scripts/calls-per-request.sh [-n COUNT] [-r ROUTE] URL" >&2; exit 2; }
[[ $count =~ ^[1-9][0-9]*$ ]] || { echo "-n takes a positive whole number, not '$count'" >&2; exit 2; }
url=$1
[[ $url =~ ^(https?://[^/]+)/ ]] || { echo "URL must be http(s)://host[:port]/path, not '$url'" >&2; exit 2; }
metrics_url="${BASH_REMATCH[1]}/metrics"
db=${DATABASE_ADMIN_URL:-${DATABASE_URL:?DATABASE_URL is not set: eval \"\$(opsbook sandbox env)\" or load the env file of the target}}

snapshot() {
  psql "$db" -XAtq -F $'\t' -v ON_ERROR_STOP=1 -c "select queryid, calls, total_exec_time from pg_stat_statements
    where dbid = (select oid from pg_database where datname = current_database())" || exit 3
}
answered() {
  # The route's requests so far, all statuses; the route is compared as a string, never a pattern.
  curl -fsS --max-time 5 "$metrics_url" | awk -v route="$route" '
    index($0, "opsbook_http_requests_total{") == 1 && index($0, "route=\"" route "\"") { n += $NF }
    END { printf "%d\n", n }' || { echo "cannot read $metrics_url" >&2; exit 3; }
}

before_requests=$(answered)
before=$(snapshot)
started=$(date +%s%N)
for _ in $(seq 1 "$count"); do
  curl -fsS --max-time 10 -o /dev/null "$url" || { echo "request to $url failed" >&2; exit 3; }
done
elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
after=$(snapshot)
requests=$(( $(answered) - before_requests ))
if [ "$requests" -lt 1 ]; then
  echo "the route $route counted no request at $metrics_url: is -r the route URL is served as?" >&2
  exit 3
fi
echo "requests: $requests to $route, mean $(( elapsed_ms / count )) ms"

texts=$(psql "$db" -XAtq -F $'\t' -v ON_ERROR_STOP=1 -c "select queryid, left(regexp_replace(query, '\s+', ' ', 'g'), 120)
  from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())") || exit 3
awk -F'\t' -v requests="$requests" '
  FILENAME == ARGV[1] { calls0[$1] = $2; time0[$1] = $3; next }
  FILENAME == ARGV[2] { text[$1] = $2; next }
  {
    calls = $2 - calls0[$1]
    if (calls * 2 < requests) next
    printf "%.1f\t%.2f\t%s\t%s\n", calls / requests, ($3 - time0[$1]) / calls, $1, text[$1]
  }' <(printf '%s\n' "$before") <(printf '%s\n' "$texts") <(printf '%s\n' "$after") \
  | sort -t $'\t' -k1,1gr | head -n 5
