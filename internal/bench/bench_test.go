package bench

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vlensq/vlensq/internal/redistest"
)

func redisURL(t testing.TB) string {
	t.Helper()
	redistest.Client(t, redistest.DBBench) // fails without Redis; flushes once
	return fmt.Sprintf("redis://%s/%d", redistest.Addr(), redistest.DBBench)
}

// TestRunTiny runs every scenario at a tiny size so CI proves the harness
// works end to end: both sides process every task, the report has a row per
// figure with a baseline where there is one.
func TestRunTiny(t *testing.T) {
	var steps []Step
	cfg := Config{
		RedisURL: redisURL(t), Tasks: 100, Latencies: []time.Duration{0, 10 * time.Millisecond}, Concurrency: 20, Repeat: 1,
		InFlight: 100, InFlightLatency: 500 * time.Millisecond, RetryTasks: 5, EnqueueTasks: 50, BatchTasks: 200,
		Timeout: 30 * time.Second, Progress: func(s Step) { steps = append(steps, s) },
	}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
	byMetric := map[string]Row{}
	for _, r := range rep.Rows {
		byMetric[r.Scenario+"/"+r.Metric] = r
		if r.VlensQ <= 0 && r.Scenario != ScenarioRetry {
			t.Errorf("row %s/%s has no vlensq figure", r.Scenario, r.Metric)
		}
	}
	for _, want := range []string{
		"throughput/tasks/s @ latency 0s, concurrency 20",
		"throughput/tasks/s @ latency 10ms, concurrency 20",
		"ratelimit/tasks/s @ latency 0s, concurrency 20",
		"enqueue/Enqueue, 1 goroutine",
		"enqueue/EnqueueBatch of 200",
		"retry/retry later than policy, p99",
		"inflight/peak RSS, 100 in flight @ 500ms",
		"inflight/peak handlers in flight",
		"claimcheck/asynq payload, liveness 3×500 KB",
	} {
		r, ok := byMetric[want]
		if !ok {
			t.Errorf("report has no row %q", want)
			continue
		}
		if strings.HasPrefix(want, "throughput") && r.Bare <= 0 {
			t.Errorf("row %q has no bare baseline", want)
		}
	}
	// Both workers fill their 100 slots (a loaded CI machine may dequeue
	// the last few after the first calls return).
	if r := byMetric["inflight/peak handlers in flight"]; r.VlensQ < 90 || r.VlensQ > 100 || r.Bare < 90 || r.Bare > 100 {
		t.Errorf("peak in flight vlensq %v bare %v, want 90..100 each", r.VlensQ, r.Bare)
	}
	if r := byMetric["claimcheck/asynq payload, liveness 3×500 KB"]; !r.Pass || r.Bare < 1500 {
		t.Errorf("claim check row %+v: want ≤ 10 KB against ~2 MB inline", r)
	}
	if r := byMetric["retry/retry later than policy, p99"]; r.VlensQ < 0 {
		t.Errorf("a retry ran before its policy delay: %+v", r)
	}
	if len(steps) == 0 || steps[len(steps)-1].Done != steps[len(steps)-1].Total {
		t.Errorf("progress steps %+v do not end at the total", steps)
	}
}
