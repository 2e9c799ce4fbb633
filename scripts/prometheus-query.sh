#!/usr/bin/env bash
# Print the value of a PromQL instant query: one line per series, `VALUE` alone when the
# query returns one series without labels, `none` when it returns nothing.
#
# Usage: scripts/prometheus-query.sh QUERY
#   e.g. scripts/prometheus-query.sh 'sum(rate(opsbook_http_requests_total{job="app"}[1m]))'
#
# Reads PROMETHEUS_URL from the environment (`opsbook sandbox env`, or the target's env file).
# Output for several series: `{label="value",...} VALUE` per line, sorted.
# Exit status: 0, 2 on a usage error, 3 if Prometheus does not answer or refuses the query.
set -euo pipefail

[ $# -eq 1 ] || { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
: "${PROMETHEUS_URL:?PROMETHEUS_URL is not set: eval \"\$(opsbook sandbox env)\" or load the env file of the target}"

if ! answer=$(curl -sS --max-time 10 --get --data-urlencode "query=$1" "$PROMETHEUS_URL/api/v1/query" 2>&1); then
  echo "Prometheus at $PROMETHEUS_URL does not answer: $answer" >&2
  exit 3
fi
if [ "$(jq -r '.status' <<<"$answer" 2>/dev/null)" != success ]; then
  echo "Prometheus refused the query: $(jq -r '.error // .' <<<"$answer" 2>/dev/null || echo "$answer")" >&2
  exit 3
fi
jq -r '.data as $d | $d.result
  | if $d.resultType == "scalar" or $d.resultType == "string" then .[1]
    elif length == 0 then "none"
    elif length == 1 and (.[0].metric | length) == 0 then .[0].value[1]
    else map((.metric | to_entries | map("\(.key)=\"\(.value)\"") | join(",") | "{\(.)}") + " " + .value[1]) | sort | .[]
    end' <<<"$answer"
