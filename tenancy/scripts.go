package tenancy

import "github.com/redis/go-redis/v9"

// holdScript records a held task and makes its tenant due no later than the
// task. LT keeps the earlier time of an entry already there, so holding a
// task twice never moves it back in its tenant's line.
//
// KEYS[1] hold set, KEYS[2] due set; ARGV[1] task id, ARGV[2] due (ms),
// ARGV[3] tenant.
var holdScript = redis.NewScript(`
redis.call('ZADD', KEYS[1], 'LT', ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[2], 'LT', ARGV[2], ARGV[3])
return 1`)

// takeScript moves up to ARGV[2] of a tenant's ready tasks from asynq's
// parked (scheduled or retry) set to its pending list, the way asynq's
// forwarder does, and leaves the grant on each. An entry whose task is
// active (its handler is holding it again right now) or not yet created
// (its enqueue is still in flight, up to the grace period) stays; entries of
// tasks that asynq released by itself, that ran, or that were deleted are
// dropped. It then sets when to look at the tenant next: now (the tail of
// the line) when it has more ready work, its next due time otherwise, never
// when it has none; or leaves its place when its turn goes on.
// It returns {moved, next due ms or -1}.
//
// KEYS[1] hold set, KEYS[2] due set, KEYS[3] asynq scheduled, KEYS[4] asynq
// retry, KEYS[5] asynq pending; ARGV[1] tenant, ARGV[2] n, ARGV[3] now (ms),
// ARGV[4] entries without a task older than this (ms) are stale, ARGV[5]
// asynq task key prefix, ARGV[6] now (ns, asynq's pending_since), ARGV[7]
// park floor (Unix s), ARGV[8] grant field, ARGV[9] grant kind (the grant
// is "<kind>:<the entry's due time>", or the due time alone), ARGV[10] "1" keeps the tenant's place in the due
// set (its turn goes on).
var takeScript = redis.NewScript(`
local n = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local stale = tonumber(ARGV[4])
local floor = tonumber(ARGV[7])
local moved, offset, scanned = 0, 0, 0
while moved < n and scanned < n + 64 do
  local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', offset, n - moved)
  if #ids == 0 then break end
  for i = 1, #ids, 2 do
    local id, score = ids[i], ids[i + 1]
    scanned = scanned + 1
    local key = ARGV[5] .. id
    local state = redis.call('HGET', key, 'state')
    local from = nil
    if state == 'scheduled' then from = KEYS[3] elseif state == 'retry' then from = KEYS[4] end
    if from then
      local sc = redis.call('ZSCORE', from, id)
      redis.call('ZREM', KEYS[1], id)
      if sc and tonumber(sc) >= floor then
        redis.call('ZREM', from, id)
        redis.call('LPUSH', KEYS[5], id)
        local grant = score
        if ARGV[9] ~= '' then grant = ARGV[9] .. ':' .. score end
        redis.call('HSET', key, 'state', 'pending', 'pending_since', ARGV[6], ARGV[8], grant)
        moved = moved + 1
      end
    elseif state == 'active' or ((not state) and tonumber(score) > stale) then
      offset = offset + 1
    else
      redis.call('ZREM', KEYS[1], id)
    end
  end
end
local head = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #head == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {moved, -1}
end
if ARGV[10] == '1' then
  return {moved, now}
end
local nextAt = math.max(tonumber(head[2]), now)
redis.call('ZADD', KEYS[2], nextAt, ARGV[1])
return {moved, nextAt}`)
