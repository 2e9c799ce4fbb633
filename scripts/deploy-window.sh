#!/usr/bin/env bash
# Is now a deploy window? No deploys from Friday 16:00 to Monday 08:00 (DEPLOY_TZ, default UTC),
# nor inside a freeze window of runbooks/deployment/freeze-windows.txt, unless an override reason is given.
#
# Usage: scripts/deploy-window.sh [-t TIME] [-f FILE] [-o REASON]
#   -t TIME    the time to judge (default: now; any `date -d` time, e.g. 2026-12-04T17:00Z)
#   -f FILE    freeze windows, lines of `START END REASON` (default:
#              runbooks/deployment/freeze-windows.txt; a missing file means no freeze windows)
#   -o REASON  deploy anyway, for this reason (printed, so the run's transcript records it)
#
# Prints `deploy window: open (...)`, `deploy window: closed (...), overridden: REASON`, or
# `deploy window: closed (...)` on stderr. Exit status: 0 when a deploy may go ahead, 1 when
# the window is closed and there is no override, 2 on a usage error.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
when=now
file=$here/runbooks/deployment/freeze-windows.txt
override=""
usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while getopts "t:f:o:h" opt; do
  case $opt in
    t) when=$OPTARG ;;
    f) file=$OPTARG ;;
    o) override=$OPTARG ;;
    *) usage ;;
  esac
done
tz=${DEPLOY_TZ:-UTC}
now=$(TZ=$tz date -d "$when" +%s 2>/dev/null) || { echo "deploy-window: cannot read the time '$when'" >&2; exit 2; }
day=$(TZ=$tz date -d "@$now" +%u)   # 1 = Monday ... 7 = Sunday
hour=$(TZ=$tz date -d "@$now" +%H%M)
stamp=$(TZ=$tz date -d "@$now" '+%a %Y-%m-%d %H:%M %Z')

closed=""
if { [ "$day" -eq 5 ] && [ "$hour" -ge 1600 ]; } || [ "$day" -ge 6 ] || { [ "$day" -eq 1 ] && [ "$hour" -lt 0800 ]; }; then
  closed="weekend: no deploys from Friday 16:00 to Monday 08:00 ($stamp)"
fi
if [ -z "$closed" ] && [ -f "$file" ]; then
  number=0
  while IFS= read -r line || [ -n "$line" ]; do
    number=$((number + 1))
    line=${line%%#*}
    [ -n "${line// }" ] || continue
    read -r start end reason <<<"$line"
    from=$(date -d "$start" +%s 2>/dev/null) && [ -n "${end:-}" ] && to=$(date -d "$end" +%s 2>/dev/null) || {
      echo "deploy-window: $file:$number: expected START END REASON with times date can read" >&2; exit 2; }
    if [ "$now" -ge "$from" ] && [ "$now" -lt "$to" ]; then
      closed="freeze window $start to $end: ${reason:-no reason given} ($file:$number; now $stamp)"
      break
    fi
  done <"$file"
fi

if [ -z "$closed" ]; then
  echo "deploy window: open ($stamp)${override:+; override given, not needed: $override}"
elif [ -n "$override" ]; then
  echo "deploy window: closed ($closed), overridden: $override"
else
  echo "deploy window: closed ($closed)" >&2
  echo "deploy later, or give a reason to deploy anyway: --param FREEZE_OVERRIDE=\"...\"" >&2
  exit 1
fi
