package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/vlensq/vlensq/internal/app"
	"github.com/vlensq/vlensq/tasks"
	"github.com/vlensq/vlensq/vlens"
	"github.com/vlensq/vlensq/vlens/vlenstest"
)

// Targets of issue 14.
const (
	FairWaitP99TargetMS = 250
	FloodRateTarget     = 0.95
)

// fairnessRun is what one flood measured.
type fairnessRun struct {
	waits        []time.Duration // the trickling tenant's, enqueue to start
	floodStarted int             // the flooding tenant's tasks started within the window
	floodAllowed float64         // what its rate limits allow within the window
	commands     int64           // Redis commands during the window
	started      int             // tasks started during the window, both tenants
}

// fairness measures how one tenant's flood affects another tenant: both at
// Vlens's default limits (10/s, 60/min) on one worker (concurrency
// FairConcurrency, sandbox latency FairLatency). The flooding tenant
// enqueues each of FloodSizes at once; the other sends one task every
// FairTrickle for FairWindow. Without fair dispatch (the baseline, first
// flood size only) the trickle waits behind the flood.
func (r *runner) fairness(ctx context.Context) error {
	for i, n := range r.cfg.FloodSizes {
		res, err := r.fairRun(ctx, n, true)
		if err != nil {
			return err
		}
		r.step(fmt.Sprintf("fairness flood %d", n))
		var base *fairnessRun
		if i == 0 {
			b, err := r.fairRun(ctx, n, false)
			if err != nil {
				return err
			}
			base = &b
			r.step(fmt.Sprintf("fairness flood %d without fair dispatch", n))
		}
		r.addFairness(n, res, base)
	}
	return nil
}

func (r *runner) addFairness(n int, res fairnessRun, base *fairnessRun) {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	note := fmt.Sprintf("%d trickle tasks", len(res.waits))
	row := func(metric string, p float64) Row {
		out := Row{Scenario: ScenarioFairness, Metric: fmt.Sprintf("trickle wait %s, flood %d", metric, n), Unit: "ms",
			VlensQ: ms(percentile(res.waits, p)), Note: note}
		if base != nil {
			out.Bare = ms(percentile(base.waits, p))
			out.Note += "; baseline column: vlensq without fair dispatch"
		}
		return out
	}
	p99 := row("p99", 99)
	p99.Target, p99.Pass = fmt.Sprintf("≤ %d ms", FairWaitP99TargetMS), p99.VlensQ <= FairWaitP99TargetMS
	r.add(row("p50", 50))
	r.add(p99)
	r.add(row("max", 100))
	rate := float64(res.floodStarted) / res.floodAllowed
	r.add(Row{Scenario: ScenarioFairness, Metric: fmt.Sprintf("flood rate / its limit, flood %d", n), Unit: "×",
		VlensQ: rate, Target: fmt.Sprintf("≥ %.2f", FloodRateTarget), Pass: rate >= FloodRateTarget,
		Note: fmt.Sprintf("%d started in %v; limits allow %.0f", res.floodStarted, r.cfg.FairWindow, res.floodAllowed)})
	perTask := func(x fairnessRun) float64 { return float64(x.commands) / float64(max(x.started, 1)) }
	cmds := Row{Scenario: ScenarioFairness, Metric: fmt.Sprintf("Redis commands per started task, flood %d", n), Unit: "cmds",
		VlensQ: perTask(res), Note: "every Redis command during the window (idle pollers included) / tasks started"}
	if base != nil {
		cmds.Bare = perTask(*base)
		cmds.Note += "; baseline column: without fair dispatch"
	}
	r.add(cmds)
}

// fairRun runs one flood; fair false turns fair dispatch off.
func (r *runner) fairRun(ctx context.Context, flood int, fair bool) (fairnessRun, error) {
	id := fmt.Sprintf("%s-%d", r.run, r.seq.Add(1))
	flooder := vlens.Tenant{Name: "flood-" + id, APIKey: "k-flood-" + id, Username: "u", Password: randomHex(8)}
	trickler := vlens.Tenant{Name: "trickle-" + id, APIKey: "k-trickle-" + id, Username: "u", Password: randomHex(8)}
	set, err := vlens.NewTenantSet(flooder, trickler)
	if err != nil {
		return fairnessRun{}, err
	}
	fake := vlenstest.NewServer(vlenstest.Options{Tenants: []vlens.Tenant{flooder, trickler},
		Faults: vlenstest.Faults{LatencyMin: r.cfg.FairLatency, LatencyMax: r.cfg.FairLatency}})
	defer fake.Close()
	a, err := app.New(app.Options{Redis: r.vqRedis, Tenants: set, VlensBaseURL: fake.URL, DisableFairness: !fair})
	if err != nil {
		return fairnessRun{}, err
	}
	defer a.Close()
	defer a.Vlens.CloseIdleConnections()
	q := r.queue()
	defer r.dropQueue(q)

	payload := func(t vlens.Tenant) *tasks.Payload {
		return &tasks.Payload{Tenant: t.Name, IDNumber: "29001011234567", Name: "Bench Person"}
	}
	items := make([]tasks.BatchItem, flood)
	for i := range items {
		items[i] = tasks.BatchItem{Type: tasks.TypeOCRAML, Payload: payload(flooder), Options: tasks.EnqueueOptions{Queue: q}}
	}
	for _, res := range a.Tasks.EnqueueBatch(ctx, items) {
		if res.Err != nil {
			return fairnessRun{}, fmt.Errorf("bench: enqueue flood: %w", res.Err)
		}
	}

	var mu sync.Mutex
	startedAt := map[string]time.Time{}
	floodStarted, started := 0, 0
	var windowEnd time.Time
	srv := a.NewServer(app.ServerOptions{Queues: map[string]int{q: 1}, Concurrency: r.cfg.FairConcurrency, ShutdownTimeout: 5 * time.Second})
	h := a.Mux()
	err = srv.Start(asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		now := time.Now()
		tid, _ := asynq.GetTaskID(ctx)
		mu.Lock()
		if _, seen := startedAt[tid]; !seen {
			startedAt[tid] = now
			if windowEnd.IsZero() || now.Before(windowEnd) {
				started++
				if strings.Contains(string(t.Payload()), `"`+flooder.Name+`"`) {
					floodStarted++
				}
			}
		}
		mu.Unlock()
		return h.ProcessTask(ctx, t)
	}))
	if err != nil {
		return fairnessRun{}, err
	}
	defer srv.Shutdown()
	before, err := commandCount(ctx, r)
	if err != nil {
		return fairnessRun{}, err
	}
	start := time.Now()
	mu.Lock()
	windowEnd = start.Add(r.cfg.FairWindow)
	mu.Unlock()

	enqueuedAt := map[string]time.Time{}
	tick := time.NewTicker(r.cfg.FairTrickle)
	defer tick.Stop()
	for i := 0; time.Now().Before(windowEnd.Add(-r.cfg.FairTrickle)); i++ {
		tid := fmt.Sprintf("trickle-%s-%d", id, i)
		enqueuedAt[tid] = time.Now()
		if _, err := a.Tasks.Enqueue(ctx, tasks.TypeOCRAML, payload(trickler), tasks.EnqueueOptions{Queue: q, ID: tid}); err != nil {
			return fairnessRun{}, fmt.Errorf("bench: enqueue trickle: %w", err)
		}
		select {
		case <-ctx.Done():
			return fairnessRun{}, ctx.Err()
		case <-tick.C:
		}
	}
	time.Sleep(time.Until(windowEnd))
	after, err := commandCount(ctx, r)
	if err != nil {
		return fairnessRun{}, err
	}
	// The last trickle tasks may start after the window: wait for them.
	deadline := time.Now().Add(r.cfg.Timeout)
	res := fairnessRun{commands: after - before}
	for tid, at := range enqueuedAt {
		for {
			mu.Lock()
			s, ok := startedAt[tid]
			mu.Unlock()
			if ok {
				res.waits = append(res.waits, s.Sub(at))
				break
			}
			if time.Now().After(deadline) {
				return fairnessRun{}, fmt.Errorf("bench: fairness: trickle task %s did not start within %v", tid, r.cfg.Timeout)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	mu.Lock()
	res.floodStarted, res.started = floodStarted, started
	mu.Unlock()
	perSecond, perMinute := vlens.Limits(flooder)
	w := r.cfg.FairWindow.Seconds()
	// GCRA: a burst of the limit, then its rate; the smaller bound holds.
	res.floodAllowed = min(float64(perSecond)*(1+w), float64(perMinute)*(1+w/60))
	return res, nil
}

// commandCount is the number of commands the Redis server has run
// (INFO stats total_commands_processed).
func commandCount(ctx context.Context, r *runner) (int64, error) {
	info, err := r.prodRedis.Client.Info(ctx, "stats").Result()
	if err != nil {
		return 0, fmt.Errorf("bench: redis INFO: %w", err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "total_commands_processed:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("bench: redis INFO has no total_commands_processed")
}
