package deadletter

import (
	"context"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Key layout shared by addScript and removeScript:
//
//	KEYS[1] task map, KEYS[2] record, KEYS[3] payload, KEYS[4] all,
//	KEYS[5] exhausted, KEYS[6] trimming,
//	then for each indexed dimension of the record a pair:
//	KEYS[6+2i-1] the dimension's index ZSET, KEYS[6+2i] its value SET.
//
// Every key is declared, so the scripts are valid on Redis Cluster (all keys
// share the store's hash tag).

// addScript stores a record unless its task id already has one.
// ARGV: id, record JSON, payload, score, exhausted ("1"/"0"), then one value
// per dimension pair. Returns {id, created(1|0)}.
var addScript = redis.NewScript(`
local existing = redis.call('GET', KEYS[1])
if existing then
  return {existing, 0}
end
local id = ARGV[1]
redis.call('SET', KEYS[1], id)
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SET', KEYS[3], ARGV[3])
redis.call('ZADD', KEYS[4], ARGV[4], id)
if ARGV[5] == '1' then
  redis.call('ZADD', KEYS[5], ARGV[4], id)
end
local npairs = (#KEYS - 6) / 2
for i = 1, npairs do
  redis.call('ZADD', KEYS[6 + 2*i - 1], ARGV[4], id)
  redis.call('SADD', KEYS[6 + 2*i], ARGV[5 + i])
end
return {id, 1}
`)

// removeScript deletes a record, its payload, its task map entry (when it
// still points at this record) and its index entries; a dimension value
// whose index becomes empty leaves the value SET. ARGV: id, then one value
// per dimension pair. Returns 1 when the record existed.
var removeScript = redis.NewScript(`
local id = ARGV[1]
local existed = redis.call('DEL', KEYS[2])
redis.call('DEL', KEYS[3])
if redis.call('GET', KEYS[1]) == id then
  redis.call('DEL', KEYS[1])
end
redis.call('ZREM', KEYS[4], id)
redis.call('ZREM', KEYS[5], id)
redis.call('ZREM', KEYS[6], id)
local npairs = (#KEYS - 6) / 2
for i = 1, npairs do
  local idx = KEYS[6 + 2*i - 1]
  redis.call('ZREM', idx, id)
  if redis.call('ZCARD', idx) == 0 then
    redis.call('SREM', KEYS[6 + 2*i], ARGV[1 + i])
  end
end
return existed
`)

// claimScript atomically moves the oldest records beyond a count from the
// "all" index to the "trimming" ZSET, so that concurrent trimmers never pick
// the same records and never remove more than the excess.
// KEYS: all, trimming. ARGV: max count, batch size, claim time (ms).
// Returns the claimed ids.
var claimScript = redis.NewScript(`
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[1])
if excess <= 0 then
  return {}
end
local n = math.min(excess, tonumber(ARGV[2]))
local ids = redis.call('ZRANGE', KEYS[1], 0, n - 1)
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[2], ARGV[3], id)
  redis.call('ZREM', KEYS[1], id)
end
return ids
`)

// scriptCall is one pipelined script invocation.
type scriptCall struct {
	keys []string
	args []any
}

// runPipelined runs script once per call in one pipeline and returns the
// commands in call order. When Redis has lost the script (restart, SCRIPT
// FLUSH) it loads it and runs the pipeline again; the scripts used here are
// idempotent.
func runPipelined(ctx context.Context, rdb redis.UniversalClient, script *redis.Script, calls []scriptCall) ([]*redis.Cmd, error) {
	for attempt := 0; ; attempt++ {
		cmds := make([]*redis.Cmd, len(calls))
		_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, c := range calls {
				cmds[i] = script.EvalSha(ctx, p, c.keys, c.args...)
			}
			return nil
		})
		if err != nil && attempt == 0 && isNoScript(err) {
			if lerr := script.Load(ctx, rdb).Err(); lerr != nil {
				return nil, lerr
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		return cmds, nil
	}
}

func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}
