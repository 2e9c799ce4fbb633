#!/usr/bin/env bash
# Fill Redis to 93% of maxmemory with 1 MiB values in one hash (never the jobs list), topping
# up until the ratio is there: each value is an allocation of its own, so the sum is exact.
source "$(dirname "$0")/../lib.sh"
KEY=cache:report-export
ratio() { redis INFO memory | tr -d '\r' | awk -F: '$1 == "used_memory" { u = $2 } $1 == "maxmemory" { m = $2 }
                                               END { printf "%d %d\n", u, m }'; }
read -r used max < <(ratio)
[ "$max" -gt 0 ] || { echo "redis has no maxmemory: nothing to fill up" >&2; exit 1; }
chunk=$(( 1024 * 1024 - 64 ))
for _ in $(seq 1 5); do
  read -r used max < <(ratio)
  missing=$(( max * 93 / 100 - used ))
  [ "$missing" -le 0 ] && break
  redis EVAL "local n = redis.call('HLEN', KEYS[1])
    for i = n + 1, n + tonumber(ARGV[1]) do redis.call('HSET', KEYS[1], 'part-' .. i, string.rep('x', tonumber(ARGV[2]))) end
    return redis.call('HLEN', KEYS[1])" 1 "$KEY" $(( (missing + chunk - 1) / (chunk + 64) )) "$chunk" >/dev/null
done
read -r used max < <(ratio)
note "redis uses $(( used * 100 / max ))% of maxmemory ($used of $max bytes); $KEY holds $(redis HLEN "$KEY") parts"
