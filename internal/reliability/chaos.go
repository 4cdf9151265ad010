package reliability

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/handlers"
	"github.com/vlensq/vlensq/internal/app"
	"github.com/vlensq/vlensq/internal/config"
	"github.com/vlensq/vlensq/outcome"
	"github.com/vlensq/vlensq/tasks"
	"github.com/vlensq/vlensq/vlens"
	"github.com/vlensq/vlensq/vlens/vlenstest"
)

// Defaults of ChaosConfig.
const (
	// ChaosTasksDefault is the number of tasks of a chaos run (issue 7).
	ChaosTasksDefault = 5000
	// ChaosFaultsDefault injects a fault into 30 % of the calls, spread
	// evenly over eight kinds, plus 0–20 ms of latency on every call.
	ChaosFaultsDefault = "latency=0s-20ms,5xx=0.0375,reset=0.0375,html=0.0375,truncated=0.0375,empty=0.0375," +
		"429=0.0375,401=0.0375,4003=0.0375"
	// ChaosConcurrencyDefault is the worker's concurrency.
	ChaosConcurrencyDefault = 50
	// ChaosTimeoutDefault bounds a run.
	ChaosTimeoutDefault = 15 * time.Minute
	// ChaosTableOverride is the classification override of a chaos run:
	// code 4003 waits 1 s instead of the default 60 s, so throttled tasks
	// come back within the run. Everything else is vlens.DefaultTable.
	ChaosTableOverride = `{"codes":{"4003":{"retry_after":"1s"}}}`
)

// ChaosPolicyDefault keeps the default policy's shape (×2 backoff, 3
// attempts) at a tenth of its delays, so that a run takes seconds, not
// minutes. Throttled waits keep their default minimum of 1 s.
var ChaosPolicyDefault = handlers.Policy{BaseDelay: 50 * time.Millisecond, MaxDelay: 800 * time.Millisecond, Jitter: 0.2}

// ChaosConfig configures RunChaos.
type ChaosConfig struct {
	// Redis is where the run's queue, outcomes and dead letters live.
	// Required. RunChaos does not close it.
	Redis redis.UniversalClient
	// Tasks is the number of ocr:id_front tasks. Default ChaosTasksDefault
	// (5,000).
	Tasks int
	// Faults is the fake's fault spec (vlenstest.ParseFaults). Default
	// ChaosFaultsDefault (30 % faults).
	Faults string
	// Seed makes the fault draws reproducible. Default 0: from the clock.
	Seed int64
	// Concurrency is the worker's concurrency. Default
	// ChaosConcurrencyDefault (50).
	Concurrency int
	// Queue is the asynq queue of the run. Default "chaos-<random>". It is
	// deleted at the end of the run.
	Queue string
	// Policy is the retry policy. Default ChaosPolicyDefault.
	Policy *handlers.Policy
	// Table is the classification table. Default: ChaosTableOverride over
	// vlens.DefaultTable.
	Table *vlens.Table
	// Timeout bounds the run. Default ChaosTimeoutDefault (15 min).
	Timeout time.Duration
	// Logger receives the worker's logs. Default: none.
	Logger *zerolog.Logger
	// Progress, when set, is called about every 200 ms with the number of
	// terminal tasks.
	Progress func(terminal, total int)
}

func (c ChaosConfig) withDefaults() (ChaosConfig, error) {
	c.Tasks = cmp.Or(c.Tasks, ChaosTasksDefault)
	c.Faults = cmp.Or(c.Faults, ChaosFaultsDefault)
	c.Concurrency = cmp.Or(c.Concurrency, ChaosConcurrencyDefault)
	c.Queue = cmp.Or(c.Queue, "chaos-"+randomHex(6))
	c.Timeout = cmp.Or(c.Timeout, ChaosTimeoutDefault)
	if c.Policy == nil {
		p := ChaosPolicyDefault
		c.Policy = &p
	}
	if c.Table == nil {
		t, err := vlens.ParseTable(strings.NewReader(ChaosTableOverride))
		if err != nil {
			return c, err
		}
		c.Table = t
	}
	return c, nil
}

func (c ChaosConfig) validate() error {
	switch {
	case c.Redis == nil:
		return errors.New("reliability: ChaosConfig.Redis is required")
	case c.Tasks < 1:
		return fmt.Errorf("reliability: ChaosConfig.Tasks must be at least 1, got %d", c.Tasks)
	case c.Concurrency < 1:
		return fmt.Errorf("reliability: ChaosConfig.Concurrency must be at least 1, got %d", c.Concurrency)
	case c.Timeout <= 0:
		return fmt.Errorf("reliability: ChaosConfig.Timeout must be positive, got %v", c.Timeout)
	}
	return nil
}

// ChaosReport is what a chaos run found.
type ChaosReport struct {
	// Faults is the fault spec in force.
	Faults string
	// Tasks is the number of tasks enqueued.
	Tasks int
	// Terminal counts the tasks with an outcome; Lost = Tasks - Terminal.
	Terminal, Lost int
	// Duplicates counts tasks with more than one outcome, and
	// DuplicateDeadLetters tasks with more than one dead-letter record.
	Duplicates, DuplicateDeadLetters int
	// Outcomes counts outcomes by "status/class", e.g.
	// "dead_lettered/transient".
	Outcomes map[string]int
	// Requests is the number of Vlens calls the fake received for the run's
	// tasks; Injected counts the faults it injected by kind.
	Requests int
	Injected map[string]int
	// Mismatches are the tasks whose outcome disagrees with the faults the
	// fake injected into their calls.
	Mismatches []Mismatch
	// Duration is the time from the first enqueue to the last outcome.
	Duration time.Duration
}

// Mismatch is a task whose outcome is not the one its calls' faults imply.
type Mismatch struct {
	TaskID string
	// Calls are the task's calls in order, as "fault:status" ("-" for no
	// fault).
	Calls []string
	// Want and Got are "status/class" of the expected and actual outcome.
	Want, Got string
	// Detail explains the disagreement.
	Detail string
}

func (m Mismatch) String() string {
	return fmt.Sprintf("task %s: want %s, got %s (%s); calls %s", m.TaskID, m.Want, m.Got, m.Detail, strings.Join(m.Calls, " "))
}

// Err is nil when every task ended exactly once with the outcome its faults
// imply; otherwise it says what went wrong.
func (r ChaosReport) Err() error {
	var errs []error
	if r.Lost > 0 {
		errs = append(errs, fmt.Errorf("%d of %d tasks have no outcome", r.Lost, r.Tasks))
	}
	if r.Duplicates > 0 {
		errs = append(errs, fmt.Errorf("%d tasks have more than one outcome", r.Duplicates))
	}
	if r.DuplicateDeadLetters > 0 {
		errs = append(errs, fmt.Errorf("%d tasks have more than one dead-letter record", r.DuplicateDeadLetters))
	}
	for i, m := range r.Mismatches {
		if i == 20 {
			errs = append(errs, fmt.Errorf("… and %d more mismatches", len(r.Mismatches)-i))
			break
		}
		errs = append(errs, errors.New(m.String()))
	}
	return errors.Join(errs...)
}

// String renders the report as a few lines for a terminal or a document.
func (r ChaosReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "chaos: %d tasks, faults %s\n", r.Tasks, r.Faults)
	fmt.Fprintf(&b, "  terminal %d (%.2f%%), lost %d, duplicate outcomes %d, duplicate dead letters %d, mismatches %d\n",
		r.Terminal, 100*float64(r.Terminal)/float64(max(r.Tasks, 1)), r.Lost, r.Duplicates, r.DuplicateDeadLetters, len(r.Mismatches))
	fmt.Fprintf(&b, "  outcomes: %s\n", formatCounts(r.Outcomes))
	fmt.Fprintf(&b, "  vlens calls %d, injected: %s\n", r.Requests, formatCounts(r.Injected))
	fmt.Fprintf(&b, "  duration %v (%.0f tasks/s)\n", r.Duration.Round(time.Millisecond), float64(r.Tasks)/max(r.Duration.Seconds(), 1e-9))
	return b.String()
}

func formatCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

// RunChaos runs cfg.Tasks tasks through a worker against a fake Vlens that
// injects cfg.Faults, waits until every task has ended (or the timeout), and
// checks every outcome against the faults recorded for its calls. An error
// means the run could not be carried out; what the run found is in the
// report (see ChaosReport.Err).
func RunChaos(ctx context.Context, cfg ChaosConfig) (ChaosReport, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return ChaosReport{}, err
	}
	if err := cfg.validate(); err != nil {
		return ChaosReport{}, err
	}
	faults, err := vlenstest.ParseFaults(cfg.Faults)
	if err != nil {
		return ChaosReport{}, fmt.Errorf("reliability: ChaosConfig.Faults: %w", err)
	}
	if cfg.Seed != 0 {
		faults.Seed = cfg.Seed
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()

	run := randomHex(6)
	tenant := vlens.Tenant{Name: "chaos-" + run, APIKey: "chaos-key-" + run, Username: "chaos-admin", Password: "chaos-pw-" + run}
	fake := vlenstest.NewServer(vlenstest.Options{Tenants: []vlens.Tenant{tenant}, Faults: faults,
		RecordLimit: max(vlenstest.RecordLimitDefault, cfg.Tasks*20)})
	defer fake.Close()
	ts, err := vlens.NewTenantSet(tenant)
	if err != nil {
		return ChaosReport{}, err
	}
	rec := newRecorder(http.DefaultTransport)
	a, err := app.New(app.Options{
		Redis: &config.Redis{Client: cfg.Redis, Kind: "standalone", Display: "chaos"}, Tenants: ts,
		VlensBaseURL: fake.URL, Table: cfg.Table, HTTPClient: &http.Client{Transport: rec},
		Policy: *cfg.Policy, DisableRateLimit: true, Logger: cfg.Logger,
	})
	if err != nil {
		return ChaosReport{}, err
	}
	defer a.Close()
	insp := asynq.NewInspectorFromRedisClient(cfg.Redis)
	defer func() { _ = insp.DeleteQueue(cfg.Queue, true) }()

	// Where the outcome stream stands now: only later entries are ours.
	start, err := streamTail(ctx, cfg.Redis)
	if err != nil {
		return ChaosReport{}, err
	}
	srv := a.NewServer(app.ServerOptions{Queues: map[string]int{cfg.Queue: 1}, Concurrency: cfg.Concurrency, ShutdownTimeout: 5 * time.Second})
	if err := srv.Start(a.Mux()); err != nil {
		return ChaosReport{}, fmt.Errorf("reliability: start worker: %w", err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			srv.Shutdown()
		}
	}
	defer stop()

	began := time.Now()
	keyOf, err := enqueueChaos(ctx, a.Tasks, cfg.Queue, tenant.Name, run, cfg.Tasks)
	if err != nil {
		return ChaosReport{}, err
	}
	w := &outcomeWatcher{rdb: cfg.Redis, last: start, want: keyOf, got: map[string][]outcome.Outcome{}}
	werr := w.waitAll(ctx, cfg.Progress)
	duration := time.Since(began)
	// Let nothing run on: the queue must be empty, or a task could still end
	// (twice) after the count.
	if werr == nil {
		werr = waitQueueIdle(ctx, insp, cfg.Queue)
	}
	stop()
	if err := w.poll(context.WithoutCancel(ctx)); err != nil && werr == nil {
		werr = err
	}

	r := ChaosReport{Faults: faults.String(), Tasks: cfg.Tasks, Duration: duration, Outcomes: map[string]int{}, Injected: map[string]int{}}
	calls := correlate(rec.byKey(), fake.Requests())
	for id, key := range keyOf {
		os := w.got[id]
		switch {
		case len(os) == 0:
			r.Lost++
			continue
		case len(os) > 1:
			r.Duplicates++
		}
		r.Terminal++
		o := os[0]
		r.Outcomes[string(o.Status)+"/"+o.Class]++
		var dl *deadletter.Record
		if o.DeadLetterID != "" {
			if dl, err = a.DLQ.Get(context.WithoutCancel(ctx), o.DeadLetterID); err != nil {
				return r, fmt.Errorf("reliability: read dead letter %s of task %s: %w", o.DeadLetterID, id, err)
			}
		}
		cs := calls[key]
		r.Requests += len(cs)
		for _, c := range cs {
			if c.Fault != "" {
				r.Injected[c.Fault]++
			}
		}
		if m, ok := check(id, o, dl, cs, a.Handler.Policy().MaxAttempts); !ok {
			r.Mismatches = append(r.Mismatches, m)
		}
	}
	n, err := a.DLQ.Count(context.WithoutCancel(ctx), deadletter.Filter{Tenant: tenant.Name})
	if err != nil {
		return r, err
	}
	if dead := r.Outcomes["dead_lettered/"+string(vlens.ClassTransient)] + r.Outcomes["dead_lettered/"+string(vlens.ClassPermanent)]; int(n) > dead {
		r.DuplicateDeadLetters = int(n) - dead
	}
	sort.Slice(r.Mismatches, func(i, j int) bool { return r.Mismatches[i].TaskID < r.Mismatches[j].TaskID })
	if werr != nil && r.Lost == 0 {
		return r, werr
	}
	return r, nil
}

// enqueueChaos enqueues n ocr:id_front tasks and returns task id → the
// task's client_transaction_id, which the recorder sees in its calls.
func enqueueChaos(ctx context.Context, c *tasks.Client, queue, tenant, run string, n int) (map[string]string, error) {
	img := tasks.InlineImage(vlenstest.SampleImage(1))
	keyOf := make(map[string]string, n)
	const batch = 500
	for lo := 0; lo < n; lo += batch {
		items := make([]tasks.BatchItem, 0, batch)
		for i := lo; i < min(lo+batch, n); i++ {
			items = append(items, tasks.BatchItem{Type: tasks.TypeOCRIDFront, Options: tasks.EnqueueOptions{Queue: queue},
				Payload: &tasks.Payload{Tenant: tenant, Image: img, Country: "EG", ClientTransactionID: fmt.Sprintf("chaos-%s-%d", run, i)}})
		}
		for _, res := range c.EnqueueBatch(ctx, items) {
			if res.Err != nil {
				return nil, fmt.Errorf("reliability: enqueue task %d: %w", lo+res.Index, res.Err)
			}
			keyOf[res.Info.ID] = items[res.Index].Payload.ClientTransactionID
		}
	}
	return keyOf, nil
}

// waitQueueIdle waits until the queue has no pending, active, scheduled or
// retrying task.
func waitQueueIdle(ctx context.Context, insp *asynq.Inspector, queue string) error {
	for {
		qi, err := insp.GetQueueInfo(queue)
		if err != nil {
			return fmt.Errorf("reliability: inspect queue %s: %w", queue, err)
		}
		if qi.Pending+qi.Active+qi.Scheduled+qi.Retry == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("reliability: queue %s not idle (pending %d, active %d, scheduled %d, retry %d): %w",
				queue, qi.Pending, qi.Active, qi.Scheduled, qi.Retry, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
