#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
BACKLOG=${BACKLOG:-1200}
$COMPOSE stop -t 3 worker >/dev/null 2>&1
# Push the backlog in one round trip: a Lua loop inside Redis.
redis EVAL "for i = 1, tonumber(ARGV[1]) do
  redis.call('LPUSH', KEYS[1], cjson.encode({id = string.format('00000000-0000-4000-8000-%012d', i),
    kind = 'echo', payload = {backlog = i}, enqueued_at = tonumber(ARGV[2])}))
end
return redis.call('LLEN', KEYS[1])" 1 jobs "$BACKLOG" "$(date +%s)" >/dev/null
note "worker stopped; queue depth $(redis LLEN jobs)"
