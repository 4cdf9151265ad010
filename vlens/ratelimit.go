package vlens

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Limiter bounds the calls made for each tenant. Allow reserves one call: it
// returns 0 when the call may go ahead now, or how long to wait before asking
// again (nothing is reserved then).
type Limiter interface {
	Allow(ctx context.Context, t Tenant) (wait time.Duration, err error)
}

// RedisLimiter is a [Limiter] shared by every worker process through Redis
// (go-redis/redis_rate, GCRA). Each tenant has two limits, both enforced:
// Tenant.RatePerSecond per second (default RatePerSecondDefault, 10) and
// Tenant.RatePerMinute per minute (default RatePerMinuteDefault, 60). Each
// limit allows a burst of its own size and refills evenly (every 100 ms and
// every 1 s with the defaults), so the sustained rate never exceeds the
// smaller of the two.
//
// Keys are "rate:vlensq:{<tenant>}:s" and "rate:vlensq:{<tenant>}:m"
// (redis_rate adds the "rate:" prefix); the time is Redis's own clock, so
// processes with skewed clocks agree.
type RedisLimiter struct {
	rl *redis_rate.Limiter
}

var _ Limiter = (*RedisLimiter)(nil)

// NewRedisLimiter returns a limiter on rdb. The caller keeps ownership of rdb.
func NewRedisLimiter(rdb redis.UniversalClient) *RedisLimiter {
	return &RedisLimiter{rl: redis_rate.NewLimiter(rdb)}
}

// Limits returns the per-second and per-minute limits applied to t.
func Limits(t Tenant) (perSecond, perMinute int) {
	return cmp.Or(max(t.RatePerSecond, 0), RatePerSecondDefault), cmp.Or(max(t.RatePerMinute, 0), RatePerMinuteDefault)
}

// Allow reserves one call for t, or says how long to wait. The per-second
// limit is asked first: when it refuses, the scarcer per-minute budget is not
// touched.
func (l *RedisLimiter) Allow(ctx context.Context, t Tenant) (time.Duration, error) {
	perSecond, perMinute := Limits(t)
	key := "vlensq:{" + t.Name + "}:"
	res, err := l.rl.Allow(ctx, key+"s", redis_rate.PerSecond(perSecond))
	if err != nil {
		return 0, fmt.Errorf("vlens: rate limit of tenant %s: %w", t.Name, err)
	}
	if res.Allowed == 0 {
		return positive(res.RetryAfter), nil
	}
	res, err = l.rl.Allow(ctx, key+"m", redis_rate.PerMinute(perMinute))
	if err != nil {
		return 0, fmt.Errorf("vlens: rate limit of tenant %s: %w", t.Name, err)
	}
	if res.Allowed == 0 {
		return positive(res.RetryAfter), nil
	}
	return 0, nil
}

// AllowAtMost reserves up to n calls for t at once, for a dispatcher that
// hands out several calls in one step. It returns how many were reserved
// (0 to n) and, when none was, how long to wait before asking again. The
// per-second limit is asked first and the per-minute limit only for what the
// first allowed; when the per-minute limit allows fewer, the per-second
// budget of the difference is spent for nothing, which costs at most one
// second of the per-second limit while the per-minute limit is the binding
// one anyway.
func (l *RedisLimiter) AllowAtMost(ctx context.Context, t Tenant, n int) (int, time.Duration, error) {
	if n <= 0 {
		return 0, 0, nil
	}
	perSecond, perMinute := Limits(t)
	key := "vlensq:{" + t.Name + "}:"
	res, err := l.rl.AllowAtMost(ctx, key+"s", redis_rate.PerSecond(perSecond), n)
	if err != nil {
		return 0, 0, fmt.Errorf("vlens: rate limit of tenant %s: %w", t.Name, err)
	}
	if res.Allowed == 0 {
		return 0, positive(res.RetryAfter), nil
	}
	res, err = l.rl.AllowAtMost(ctx, key+"m", redis_rate.PerMinute(perMinute), res.Allowed)
	if err != nil {
		return 0, 0, fmt.Errorf("vlens: rate limit of tenant %s: %w", t.Name, err)
	}
	if res.Allowed == 0 {
		return 0, positive(res.RetryAfter), nil
	}
	return res.Allowed, 0, nil
}

// Reset forgets the usage of tenant, e.g. after changing its limits.
func (l *RedisLimiter) Reset(ctx context.Context, tenant string) error {
	key := "vlensq:{" + tenant + "}:"
	if err := l.rl.Reset(ctx, key+"s"); err != nil {
		return fmt.Errorf("vlens: reset rate limit of tenant %s: %w", tenant, err)
	}
	if err := l.rl.Reset(ctx, key+"m"); err != nil {
		return fmt.Errorf("vlens: reset rate limit of tenant %s: %w", tenant, err)
	}
	return nil
}

// positive keeps a refusal's wait above zero, so that "0 = go ahead" holds.
func positive(d time.Duration) time.Duration {
	return max(d, time.Millisecond)
}
