package vlens

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"github.com/vlensq/vlensq/internal/redistest"
)

func TestLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc         string
		tenant       Tenant
		wantS, wantM int
	}{
		{desc: "defaults", tenant: Tenant{}, wantS: 10, wantM: 60},
		{desc: "own", tenant: Tenant{RatePerSecond: 15, RatePerMinute: 120}, wantS: 15, wantM: 120},
		{desc: "negative is default", tenant: Tenant{RatePerSecond: -1, RatePerMinute: -1}, wantS: 10, wantM: 60},
	}
	for _, tt := range tests {
		s, m := Limits(tt.tenant)
		if s != tt.wantS || m != tt.wantM {
			t.Errorf("%s: Limits = %d, %d; want %d, %d", tt.desc, s, m, tt.wantS, tt.wantM)
		}
	}
}

// TestRedisLimiterClock drives the limiter with miniredis's clock (redis_rate
// reads Redis TIME), so whole minutes pass without waiting.
func TestRedisLimiterClock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mr := miniredis.RunT(t)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	mr.SetTime(now)
	// Two limiter instances on two connections: two worker processes.
	limiters := make([]*RedisLimiter, 2)
	for i := range limiters {
		rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		t.Cleanup(func() { _ = rdb.Close() })
		limiters[i] = NewRedisLimiter(rdb)
	}
	tenant := Tenant{Name: "clock"}

	// round asks 12 times (alternating instances) within 120µs and returns
	// how many calls were allowed and the last refusal's wait. The clock
	// moves 10µs per call, as Redis's does: with a frozen clock, GCRA's
	// floating-point sums can refuse the last call of a burst.
	round := func() (allowed int, wait time.Duration) {
		for i := range 12 {
			mr.SetTime(now.Add(time.Duration(i) * 10 * time.Microsecond))
			w, err := limiters[i%2].Allow(ctx, tenant)
			if err != nil {
				t.Fatal(err)
			}
			if w == 0 {
				allowed++
			} else {
				wait = w
			}
		}
		return allowed, wait
	}

	allowed, wait := round()
	if allowed != 10 {
		t.Fatalf("first instant: %d allowed, want 10 (per-second burst)", allowed)
	}
	if wait <= 0 || wait > 100*time.Millisecond {
		t.Errorf("wait after the per-second burst = %v, want (0, 100ms]", wait)
	}
	now = now.Add(100 * time.Millisecond)
	mr.SetTime(now)
	if allowed, _ := round(); allowed != 1 {
		t.Errorf("100ms later: %d allowed, want 1 (refill of 10/s)", allowed)
	}

	// One round per second: the per-second limit caps each second at 10, the
	// per-minute burst of 60 runs out, then one call per second remains.
	var perSecond []int
	for range 8 {
		now = now.Add(time.Second)
		mr.SetTime(now)
		allowed, _ = round()
		perSecond = append(perSecond, allowed)
	}
	want := []int{10, 10, 10, 10, 10, 5, 1, 1}
	if diff := cmp.Diff(want, perSecond); diff != "" {
		t.Errorf("allowed per second (-want +got):\n%s", diff)
	}
	// A steady minute in steps of 6 s: 6 calls per step, 60 in the minute.
	var perStep []int
	for range 10 {
		now = now.Add(6 * time.Second)
		mr.SetTime(now)
		allowed, wait = round()
		perStep = append(perStep, allowed)
	}
	if diff := cmp.Diff([]int{6, 6, 6, 6, 6, 6, 6, 6, 6, 6}, perStep); diff != "" {
		t.Errorf("allowed per 6 s over a steady minute (-want +got):\n%s", diff)
	}
	if wait <= 0 || wait > time.Second {
		t.Errorf("wait under the per-minute limit = %v, want (0, 1s]", wait)
	}

	// Tenants do not share budgets.
	if allowed, _ := func() (int, time.Duration) {
		tenant = Tenant{Name: "clock-other", RatePerSecond: 3}
		return round()
	}(); allowed != 3 {
		t.Errorf("other tenant with rate_per_second 3: %d allowed, want 3", allowed)
	}
}

// TestRedisLimiterShared checks the limits on real Redis with two limiter
// instances on separate connections hammering one tenant concurrently. Redis's
// clock moves, so the bound allows for the refill during the measured window.
func TestRedisLimiterShared(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	measure := func(t *testing.T, tenant Tenant, calls int) (allowed int, elapsed time.Duration) {
		t.Helper()
		limiters := []*RedisLimiter{
			NewRedisLimiter(redistest.Client(t, redistest.DBVlens)),
			NewRedisLimiter(redistest.Client(t, redistest.DBVlens)),
		}
		for _, l := range limiters {
			if err := l.Reset(ctx, tenant.Name); err != nil {
				t.Fatal(err)
			}
		}
		var n atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for i := range 8 {
			wg.Go(func() {
				for range calls / 8 {
					w, err := limiters[i%2].Allow(ctx, tenant)
					if err != nil {
						t.Error(err)
						return
					}
					if w == 0 {
						n.Add(1)
					}
				}
			})
		}
		wg.Wait()
		return int(n.Load()), time.Since(start)
	}

	t.Run("per second", func(t *testing.T) {
		t.Parallel()
		allowed, elapsed := measure(t, Tenant{Name: "shared-second"}, 80)
		limit := 10 + int(elapsed/(100*time.Millisecond))
		if allowed < 10 || allowed > limit {
			t.Errorf("allowed %d in %v, want between 10 and %d", allowed, elapsed, limit)
		}
	})

	t.Run("per minute", func(t *testing.T) {
		t.Parallel()
		allowed, elapsed := measure(t, Tenant{Name: "shared-minute", RatePerSecond: 10_000}, 160)
		limit := 60 + int(elapsed/time.Second)
		if allowed < 60 || allowed > limit {
			t.Errorf("allowed %d in %v, want between 60 and %d", allowed, elapsed, limit)
		}
	})
}
