package tenancy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/vlensq/vlensq/vlens"
)

// Defaults of Config.
const (
	// TickDefault is how often an idle dispatcher looks for newly held work.
	// A task held while its tenant has budget and a slot is free waits at
	// most about this long (plus asynq's pickup, 50 ms in vlensq).
	TickDefault = 20 * time.Millisecond
	// StaleAfterDefault is how long a hold entry may wait for its task to
	// appear (the producer holds first, then enqueues) before the entry is
	// taken for the leftover of a producer that died in between.
	StaleAfterDefault = time.Minute
	// PrefetchDefault (0) makes a dispatcher keep as many tasks pending
	// beyond its free slots as its process has slots: asynq's workers poll
	// an empty queue only every 25-75 ms, so a slot freed between two polls
	// must find work waiting, or 50 ms calls would leave slots idle a third
	// of the time. It bounds what a newly arriving tenant can find ahead of
	// it: one round of the process's slots, however large the backlogs.
	PrefetchDefault = 0
)

// Limiter reserves calls against a tenant's Vlens rate limit, several at
// once (vlens.RedisLimiter).
type Limiter interface {
	AllowAtMost(ctx context.Context, t vlens.Tenant, n int) (allowed int, wait time.Duration, err error)
}

// Observer receives the dispatcher's measurements, for metrics. Every
// function is optional, runs synchronously and must be cheap.
type Observer struct {
	// Dispatched counts tasks of tenant moved from queue's hold to pending.
	Dispatched func(queue, tenant string, n int)
	// Throttled reports that tenant had ready work but its rate limit asked
	// it to wait d.
	Throttled func(tenant string, d time.Duration)
}

// Config configures a Scheduler.
type Config struct {
	// Redis holds the hold sets; it is the Redis of asynq. Required.
	Redis redis.UniversalClient
	// Tenants gives each tenant's rate limits and weight. Required by Run.
	Tenants vlens.TenantSource
	// Limiter is the per-tenant rate limit. Nil dispatches without one
	// (benchmarks).
	Limiter Limiter
	// States tells which tenants are paused. Nil: none is.
	States *States
	// Tick is how often an idle dispatcher looks for newly held work.
	// Default TickDefault.
	Tick time.Duration
	// StaleAfter is how long a hold entry may wait for its task before it is
	// dropped as a producer's leftover. Default StaleAfterDefault.
	StaleAfter time.Duration
	// Prefetch is how many tasks a dispatcher keeps pending beyond its free
	// slots. Default PrefetchDefault: the process's slot count; negative
	// means none.
	Prefetch int
	// Observer receives measurements.
	Observer Observer
	// Logger receives errors of the dispatch loop. Default: disabled.
	Logger *zerolog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Scheduler holds tasks per tenant and dispatches them fairly. It is safe
// for concurrent use; producers need only Hold, workers also Run.
type Scheduler struct {
	cfg Config
	rdb redis.UniversalClient
	log zerolog.Logger
	// turns is what is left of the current turn of tenants kept at the
	// head of their queue's line, by queue and tenant; only Run's goroutine
	// uses it.
	turns map[string]int
}

// New returns a Scheduler.
func New(cfg Config) (*Scheduler, error) {
	if cfg.Redis == nil {
		return nil, errors.New("tenancy: Config.Redis is required")
	}
	if cfg.Tick < 0 || cfg.StaleAfter < 0 {
		return nil, errors.New("tenancy: Config.Tick and Config.StaleAfter must not be negative")
	}
	cfg.Tick = cmp.Or(cfg.Tick, TickDefault)
	cfg.StaleAfter = cmp.Or(cfg.StaleAfter, StaleAfterDefault)
	cfg.Prefetch = max(cfg.Prefetch, -1) // -1: none; 0: the slot count (see Run)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := zerolog.Nop()
	if cfg.Logger != nil {
		log = cfg.Logger.With().Str("component", "dispatcher").Logger()
	}
	return &Scheduler{cfg: cfg, rdb: cfg.Redis, log: log, turns: map[string]int{}}, nil
}

// Hold puts task id of tenant in queue's hold set, due at due. The task
// itself must be (or be about to be) parked in asynq: enqueued with
// asynq.ProcessAt(ParkAt), or, for a task being run, returned to asynq with
// a retry delay that ends at ParkAt (see ParkDelay). Holding first and
// enqueueing second is safe: the dispatcher waits StaleAfter for a task that
// is not there yet.
//
// c runs the script: the Scheduler's Redis when nil, or e.g. a pipeliner
// that batches it with other commands.
func (s *Scheduler) Hold(ctx context.Context, c redis.Scripter, queue, tenant, id string, due time.Time) error {
	if c == nil {
		c = s.rdb
	}
	err := holdScript.Run(ctx, c, []string{holdKey(queue, tenant), dueKey(queue)}, id, due.UnixMilli(), tenant).Err()
	if err != nil {
		return fmt.Errorf("tenancy: hold task %s of tenant %s: %w", id, tenant, err)
	}
	return nil
}

// ParkDelay is the retry delay that parks a task returned to asynq now: its
// retry comes due at ParkAt, and only the dispatcher releases it earlier.
func ParkDelay(now time.Time) time.Duration { return ParkAt.Sub(now) }

// States returns the tenant states the Scheduler honours (nil when none).
func (s *Scheduler) States() *States { return s.cfg.States }
