package bench

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// Scenario names, as accepted by Config.Only and `vlensq bench --only`.
const (
	ScenarioThroughput = "throughput"
	ScenarioRateLimit  = "ratelimit"
	ScenarioInFlight   = "inflight"
	ScenarioEnqueue    = "enqueue"
	ScenarioRetry      = "retry"
	ScenarioClaimCheck = "claimcheck"
	ScenarioFairness   = "fairness"
)

// Scenarios lists every scenario in the order Run performs them.
var Scenarios = []string{ScenarioClaimCheck, ScenarioEnqueue, ScenarioThroughput, ScenarioRateLimit, ScenarioRetry, ScenarioInFlight, ScenarioFairness}

// Defaults of Config. They make the whole default run take about a minute
// and a half on a 2-core machine.
const (
	TasksDefault           = 2000
	ConcurrencyDefault     = 50
	RepeatDefault          = 3
	InFlightDefault        = 1000
	InFlightLatencyDefault = time.Second
	RetryTasksDefault      = 50
	EnqueueTasksDefault    = 2000
	BatchTasksDefault      = 10_000
	TimeoutDefault         = 2 * time.Minute
	// The fairness scenario (issue 14): one worker with 20 slots, 100 ms
	// sandbox latency, one trickle task every 0.5 s for 30 s per flood.
	FairWindowDefault      = 30 * time.Second
	FairTrickleDefault     = 500 * time.Millisecond
	FairConcurrencyDefault = 20
	FairLatencyDefault     = 100 * time.Millisecond
)

// FloodSizesDefault are the flood sizes of the fairness scenario.
var FloodSizesDefault = []int{300, 3000, 30000}

// LatenciesDefault are the sandbox latencies of the throughput scenarios.
var LatenciesDefault = []time.Duration{0, 50 * time.Millisecond}

// Config configures Run.
type Config struct {
	// RedisURL is the Redis to run against, in VLENSQ_REDIS form (not
	// "memory"). Each side opens its own connection. The run uses its own
	// queues and tenants and deletes its queues afterwards; use a scratch
	// database all the same. Required.
	RedisURL string
	// Tasks is the number of tasks per throughput run and side. Default
	// TasksDefault (2000).
	Tasks int
	// Latencies are the sandbox latencies of the throughput and ratelimit
	// scenarios. Default LatenciesDefault (0 and 50 ms).
	Latencies []time.Duration
	// Concurrency is the worker concurrency of both sides in the throughput
	// scenarios. Default ConcurrencyDefault (50, the worker's default).
	Concurrency int
	// Repeat is how many times each throughput measurement runs per side
	// (alternating sides); the report gives medians. Default RepeatDefault (3).
	Repeat int
	// InFlight is the concurrency of the inflight scenario; it processes
	// twice as many tasks. Default InFlightDefault (1000).
	InFlight int
	// InFlightLatency is the sandbox latency of the inflight scenario.
	// Default InFlightLatencyDefault (1 s).
	InFlightLatency time.Duration
	// RetryTasks is the number of tasks (two retries each) of the retry
	// scenario. Default RetryTasksDefault (50).
	RetryTasks int
	// EnqueueTasks is the number of single enqueues per side of the enqueue
	// scenario. Default EnqueueTasksDefault (2000).
	EnqueueTasks int
	// BatchTasks is the size of the EnqueueBatch measured by the enqueue
	// scenario. Default BatchTasksDefault (10000).
	BatchTasks int
	// Only selects scenarios by name (see Scenarios). Default: all.
	Only []string
	// FloodSizes are the fairness scenario's floods. Default
	// FloodSizesDefault.
	FloodSizes []int
	// FairWindow is how long the trickle runs per flood. Default
	// FairWindowDefault.
	FairWindow time.Duration
	// FairTrickle is the interval of the trickling tenant's tasks. Default
	// FairTrickleDefault.
	FairTrickle time.Duration
	// FairConcurrency is the worker's slots in the fairness scenario.
	// Default FairConcurrencyDefault.
	FairConcurrency int
	// FairLatency is the sandbox latency in the fairness scenario. Default
	// FairLatencyDefault.
	FairLatency time.Duration
	// Timeout bounds each single run (one side, one measurement). Default
	// TimeoutDefault (2 min).
	Timeout time.Duration
	// Progress, when set, receives one line per finished step. Default nil:
	// silent.
	Progress func(step Step)
	// TracerProvider, when set, traces the vlensq side (app.Options
	// TracerProvider), to measure what tracing costs. Default nil: off, as
	// in a worker without OTEL_* settings.
	TracerProvider trace.TracerProvider
}

// Step is a progress notice: Done of Total steps finished, the last named
// Name.
type Step struct {
	Done, Total int
	Name        string
}

func (c Config) withDefaults() Config {
	c.Tasks = cmp.Or(c.Tasks, TasksDefault)
	if len(c.Latencies) == 0 {
		c.Latencies = LatenciesDefault
	}
	c.Concurrency = cmp.Or(c.Concurrency, ConcurrencyDefault)
	c.Repeat = cmp.Or(c.Repeat, RepeatDefault)
	c.InFlight = cmp.Or(c.InFlight, InFlightDefault)
	c.InFlightLatency = cmp.Or(c.InFlightLatency, InFlightLatencyDefault)
	c.RetryTasks = cmp.Or(c.RetryTasks, RetryTasksDefault)
	c.EnqueueTasks = cmp.Or(c.EnqueueTasks, EnqueueTasksDefault)
	c.BatchTasks = cmp.Or(c.BatchTasks, BatchTasksDefault)
	c.Timeout = cmp.Or(c.Timeout, TimeoutDefault)
	if len(c.FloodSizes) == 0 {
		c.FloodSizes = FloodSizesDefault
	}
	c.FairWindow = cmp.Or(c.FairWindow, FairWindowDefault)
	c.FairTrickle = cmp.Or(c.FairTrickle, FairTrickleDefault)
	c.FairConcurrency = cmp.Or(c.FairConcurrency, FairConcurrencyDefault)
	c.FairLatency = cmp.Or(c.FairLatency, FairLatencyDefault)
	if len(c.Only) == 0 {
		c.Only = Scenarios
	}
	return c
}

// ConfigError is an invalid Config: the caller's input, not a failed run.
type ConfigError struct{ Problem string }

func (e *ConfigError) Error() string { return "bench: " + e.Problem }

// IsConfigError reports whether err is a *ConfigError.
func IsConfigError(err error) bool {
	var ce *ConfigError
	return errors.As(err, &ce)
}

func (c Config) validate() error {
	if err := c.check(); err != nil {
		return &ConfigError{Problem: strings.TrimPrefix(err.Error(), "bench: ")}
	}
	return nil
}

func (c Config) check() error {
	switch {
	case strings.TrimSpace(c.RedisURL) == "":
		return errors.New("bench: RedisURL is required")
	case c.RedisURL == "memory":
		return errors.New("bench: RedisURL must be a real Redis, not memory (miniredis is ~4x slower and would measure itself)")
	case c.Tasks < 1:
		return fmt.Errorf("bench: Tasks must be positive, got %d", c.Tasks)
	case c.Concurrency < 1:
		return fmt.Errorf("bench: Concurrency must be positive, got %d", c.Concurrency)
	case c.Repeat < 1:
		return fmt.Errorf("bench: Repeat must be positive, got %d", c.Repeat)
	case c.InFlight < 1:
		return fmt.Errorf("bench: InFlight must be positive, got %d", c.InFlight)
	case c.InFlightLatency < 0:
		return errors.New("bench: InFlightLatency must not be negative")
	case c.RetryTasks < 1:
		return fmt.Errorf("bench: RetryTasks must be positive, got %d", c.RetryTasks)
	case c.EnqueueTasks < 1:
		return fmt.Errorf("bench: EnqueueTasks must be positive, got %d", c.EnqueueTasks)
	case c.BatchTasks < 1:
		return fmt.Errorf("bench: BatchTasks must be positive, got %d", c.BatchTasks)
	case c.Timeout <= 0:
		return errors.New("bench: Timeout must be positive")
	case c.FairWindow < 2*c.FairTrickle || c.FairTrickle <= 0:
		return fmt.Errorf("bench: FairWindow (%v) must be at least two FairTrickle intervals (%v)", c.FairWindow, c.FairTrickle)
	case c.FairConcurrency < 1:
		return fmt.Errorf("bench: FairConcurrency must be positive, got %d", c.FairConcurrency)
	}
	for _, n := range c.FloodSizes {
		if n < 1 {
			return fmt.Errorf("bench: flood size %d must be positive", n)
		}
	}
	for _, l := range c.Latencies {
		if l < 0 {
			return fmt.Errorf("bench: latency %v must not be negative", l)
		}
	}
	for _, s := range c.Only {
		if !slices.Contains(Scenarios, s) {
			return fmt.Errorf("bench: unknown scenario %q (want one of %s)", s, strings.Join(Scenarios, ", "))
		}
	}
	return nil
}

func (c Config) wants(s string) bool { return slices.Contains(c.Only, s) }
