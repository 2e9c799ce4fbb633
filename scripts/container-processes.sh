#!/bin/sh
# The processes of one container, busiest first: run it inside the container, e.g.
#   docker exec -i CONTAINER sh -s -- [SECONDS] < scripts/container-processes.sh
#
# For each process: pid, parent pid, CPU use over SECONDS (default 2; 100 = one core), resident
# memory in MiB, whether it belongs to the container's own process tree (under pid 1) or was
# started from outside (`docker exec`: its chain of parents ends at 0, not at 1), and its command.
# Only /proc and POSIX sh: it works in any Linux container. Reads only.
set -eu
seconds=${1:-2}
ticks=$(getconf CLK_TCK 2>/dev/null || echo 100)
page_kib=$(( $(getconf PAGESIZE 2>/dev/null || echo 4096) / 1024 ))
me=$$

snapshot() {  # pid ppid utime+stime rss_pages, one line per process
  for stat in /proc/[0-9]*/stat; do
    # comm (field 2) may hold spaces: cut the line after its closing parenthesis.
    line=$(cat "$stat" 2>/dev/null) || continue
    pid=${line%% *}
    rest=${line##*) }
    # shellcheck disable=SC2086
    set -- $rest
    echo "$pid $2 $(( ${12} + ${13} )) ${22}"
  done
}

before=$(snapshot)
sleep "$seconds"
after=$(snapshot)

{
  echo "$before" | sed 's/^/B /'
  echo "$after" | while read -r pid ppid cpu rss; do
    [ "$pid" = "$me" ] && continue
    cmd=$( (tr '\0' ' ' </proc/"$pid"/cmdline) 2>/dev/null | cut -c1-120)
    [ -n "$cmd" ] && echo "A $pid $ppid $cpu $rss $cmd"  # no command: gone since, or a kernel thread
  done
} | awk -v ticks="$ticks" -v seconds="$seconds" -v page_kib="$page_kib" '
  $1 == "B" { was[$2] = $4; next }
  {
    pid = $2; parent[pid] = $3; cpu[pid] = $4; rss[pid] = $5
    cmd = $0; for (i = 1; i <= 5; i++) sub(/^[^ ]+ /, "", cmd); command[pid] = cmd
  }
  END {
    print "cpu% pid ppid rss_mib tree command"
    for (pid in cpu) {
      p = pid; depth = 0
      while (p != "" && p != 0 && p != 1 && depth++ < 64) p = parent[p]
      tree = (p == 1) ? "service" : "outside"
      before = (pid in was) ? was[pid] : cpu[pid]
      printf "%d %s %s %d %s %s\n", (cpu[pid] - before) * 100 / ticks / seconds, pid, parent[pid],
             rss[pid] * page_kib / 1024, tree, command[pid] | "sort -rn"
    }
  }'
