#!/usr/bin/env bash
# Print the state of each named alert in Prometheus (firing, pending or resolved), one per line.
#
# Usage: scripts/alert-states.sh [--expect firing|resolved] ALERT...
#   --expect STATE  exit 1 unless every named alert is in STATE ("firing" also accepts pending:
#                   the condition is there, the rule's `for:` has not passed yet)
#
# Reads PROMETHEUS_URL from the environment (`opsbook sandbox env`, or the target's env file).
# Output, e.g.:  ApplicationDown: resolved
# Exit status: 0 (or the --expect result), 2 on a usage error, 3 if Prometheus does not answer.
set -euo pipefail

expect=""
if [ "${1:-}" = --expect ]; then
  expect=${2:?--expect needs firing or resolved}
  shift 2
fi
case $expect in ""|firing|resolved) ;; *) echo "--expect must be firing or resolved, not $expect" >&2; exit 2 ;; esac
[ $# -gt 0 ] || { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
: "${PROMETHEUS_URL:?PROMETHEUS_URL is not set: eval \"\$(opsbook sandbox env)\" or load the env file of the target}"

if ! alerts=$(curl -fsS --max-time 10 "$PROMETHEUS_URL/api/v1/alerts"); then
  echo "Prometheus at $PROMETHEUS_URL does not answer" >&2
  exit 3
fi
status=0
for name in "$@"; do
  state=$(jq -r --arg name "$name" '[.data.alerts[] | select(.labels.alertname == $name) | .state]
    | if index("firing") then "firing" elif index("pending") then "pending" else "resolved" end' <<<"$alerts")
  echo "$name: $state"
  case $expect in
    firing) [ "$state" != resolved ] || status=1 ;;
    resolved) [ "$state" = resolved ] || status=1 ;;
  esac
done
exit $status
