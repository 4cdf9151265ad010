package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/vlensq/vlensq/handlers"
	"github.com/vlensq/vlensq/tasks"
)

// Targets of issue 8.
const (
	ThroughputRatioTarget  = 0.9
	EnqueueRatioTarget     = 0.9
	BatchTasksPerSecTarget = 50_000
	InFlightRSSTargetMB    = 256
	RetryP99TargetMS       = 150
	ClaimCheckTargetBytes  = 10 << 10
)

// Run performs the selected scenarios and returns the report. A scenario
// that cannot run (Redis gone, a timeout) ends Run with an error.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e, err := newEnv(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer e.close()
	r := &runner{env: e, report: &Report{Machine: machine()}}
	r.total = r.steps()
	for _, s := range Scenarios {
		if !cfg.wants(s) {
			continue
		}
		var err error
		switch s {
		case ScenarioClaimCheck:
			err = r.claimCheck(ctx)
		case ScenarioEnqueue:
			err = r.enqueue(ctx)
		case ScenarioThroughput:
			err = r.throughput(ctx, false)
		case ScenarioRateLimit:
			err = r.throughput(ctx, true)
		case ScenarioRetry:
			err = r.retry(ctx)
		case ScenarioInFlight:
			err = r.inFlight(ctx)
		case ScenarioFairness:
			err = r.fairness(ctx)
		}
		if err != nil {
			return r.report, fmt.Errorf("%s: %w", s, err)
		}
	}
	return r.report, nil
}

type runner struct {
	*env
	report      *Report
	done, total int
}

// steps counts the progress steps of the selected scenarios.
func (r *runner) steps() int {
	c, n := r.cfg, 0
	for _, s := range c.Only {
		switch s {
		case ScenarioClaimCheck, ScenarioRetry:
			n++
		case ScenarioEnqueue:
			n += c.Repeat + 2
		case ScenarioThroughput:
			n += 2 * c.Repeat * len(c.Latencies)
		case ScenarioRateLimit:
			n += 2 * c.Repeat
		case ScenarioInFlight:
			n += 2
		case ScenarioFairness:
			n += len(c.FloodSizes) + 1
		}
	}
	return n
}

func (r *runner) step(name string) {
	r.done++
	if r.cfg.Progress != nil {
		r.cfg.Progress(Step{Done: r.done, Total: r.total, Name: name})
	}
}

func (r *runner) add(row Row) { r.report.Rows = append(r.report.Rows, row) }

// pair runs f for both sides Repeat times, alternating which goes first, and
// returns the per-side values.
func (r *runner) pair(name string, f func(side) (float64, error)) (vq, bare []float64, err error) {
	for i := range r.cfg.Repeat {
		order := []side{sideBare, sideVlensq}
		if i%2 == 1 {
			order = []side{sideVlensq, sideBare}
		}
		for _, s := range order {
			v, err := f(s)
			if err != nil {
				return nil, nil, err
			}
			if s == sideVlensq {
				vq = append(vq, v)
			} else {
				bare = append(bare, v)
			}
			r.step(fmt.Sprintf("%s %s %d/%d", name, s, i+1, r.cfg.Repeat))
		}
	}
	return vq, bare, nil
}

func noise(vq, bare []float64) string {
	if len(vq) < 2 {
		return ""
	}
	return fmt.Sprintf("median of %d; spread vlensq %.0f%%, bare %.0f%%", len(vq), 100*spread(vq), 100*spread(bare))
}

func (r *runner) throughput(ctx context.Context, rateLimit bool) error {
	scenario, lats := ScenarioThroughput, r.cfg.Latencies
	if rateLimit {
		scenario, lats = ScenarioRateLimit, lats[:1]
	}
	for _, lat := range lats {
		vq, bare, err := r.pair(fmt.Sprintf("%s @%v", scenario, lat), func(s side) (float64, error) {
			res, err := r.process(ctx, runOpts{side: s, tasks: r.cfg.Tasks, concurrency: r.cfg.Concurrency, latency: lat,
				rateLimit: rateLimit && s == sideVlensq})
			return res.tasksPerSec, err
		})
		if err != nil {
			return err
		}
		row := Row{Scenario: scenario, Metric: fmt.Sprintf("tasks/s @ latency %v, concurrency %d", lat, r.cfg.Concurrency), Unit: "tasks/s",
			VlensQ: median(vq), Bare: median(bare), Target: fmt.Sprintf("≥ %.1f× bare", ThroughputRatioTarget), Note: noise(vq, bare)}
		if rateLimit {
			row.Note = "rate limiter on (never throttling); " + row.Note
		} else {
			row.Note = "rate limit off; " + row.Note
		}
		row.Pass = row.Ratio() >= ThroughputRatioTarget
		r.add(row)
	}
	return nil
}

func (r *runner) inFlight(ctx context.Context) error {
	var rows [2]runResult
	for i, s := range []side{sideBare, sideVlensq} {
		res, err := r.process(ctx, runOpts{side: s, tasks: 2 * r.cfg.InFlight, concurrency: r.cfg.InFlight, latency: r.cfg.InFlightLatency})
		if err != nil {
			return err
		}
		rows[i] = res
		r.step(fmt.Sprintf("inflight %s", s))
	}
	bare, vq := rows[0], rows[1]
	mb := func(b int64) float64 { return float64(b) / (1 << 20) }
	note := fmt.Sprintf("whole process (sandbox and producer included); RSS before: vlensq %.0f MB, bare %.0f MB", mb(vq.baseRSS), mb(bare.baseRSS))
	if vq.peakRSS == 0 {
		note = errNoRSS.Error()
	}
	r.add(Row{Scenario: ScenarioInFlight, Metric: fmt.Sprintf("peak RSS, %d in flight @ %v", r.cfg.InFlight, r.cfg.InFlightLatency), Unit: "MB",
		VlensQ: mb(vq.peakRSS), Bare: mb(bare.peakRSS), Target: fmt.Sprintf("≤ %d MB", InFlightRSSTargetMB),
		Pass: vq.peakRSS > 0 && mb(vq.peakRSS) <= InFlightRSSTargetMB, Note: note})
	r.add(Row{Scenario: ScenarioInFlight, Metric: "peak handlers in flight", Unit: "tasks",
		VlensQ: float64(vq.peakActive), Bare: float64(bare.peakActive), Target: fmt.Sprintf("= %d", r.cfg.InFlight),
		Pass: vq.peakActive >= int64(r.cfg.InFlight)})
	r.add(Row{Scenario: ScenarioInFlight, Metric: fmt.Sprintf("tasks/s, %d tasks", 2*r.cfg.InFlight), Unit: "tasks/s",
		VlensQ: vq.tasksPerSec, Bare: bare.tasksPerSec,
		Note: fmt.Sprintf("ideal %.0f tasks/s", float64(r.cfg.InFlight)/max(r.cfg.InFlightLatency.Seconds(), 1e-3))})
	return nil
}

func (r *runner) enqueue(ctx context.Context) error {
	p := &tasks.Payload{Tenant: r.tenant.Name, IDNumber: "29001011234567", Name: "Bench Person"}
	raw, err := json.Marshal(p)
	if err != nil {
		return err
	}
	aq := asynq.NewClientFromRedisClient(r.bareRedis.Client)
	defer aq.Close()
	// The same options as the producer's defaults.
	opts := func(q string) []asynq.Option {
		return []asynq.Option{asynq.Queue(q), asynq.MaxRetry(tasks.MaxRetryDefault), asynq.Timeout(tasks.TimeoutDefault), asynq.Retention(tasks.RetentionDefault)}
	}
	// Interleaved: each vlensq enqueue is paired with a bare one (which goes
	// first alternates), each timed alone, so that load changes on a shared
	// machine hit both sides alike instead of whichever run they fall in.
	n := r.cfg.EnqueueTasks
	var vq, bare []float64
	for i := range r.cfg.Repeat {
		qv, qb := r.queue(), r.queue()
		var tv, tb time.Duration
		for j := range n {
			for k := range 2 {
				start := time.Now()
				var err error
				if (j+k)%2 == 0 {
					_, err = r.fairProducer.Enqueue(ctx, tasks.TypeOCRAML, p, tasks.EnqueueOptions{Queue: qv})
					tv += time.Since(start)
				} else {
					_, err = aq.EnqueueContext(ctx, asynq.NewTask(tasks.TypeOCRAML, raw), opts(qb)...)
					tb += time.Since(start)
				}
				if err != nil {
					return err
				}
			}
		}
		r.dropQueue(qv)
		r.dropQueue(qb)
		vq, bare = append(vq, float64(n)/tv.Seconds()), append(bare, float64(n)/tb.Seconds())
		r.step(fmt.Sprintf("enqueue %d/%d", i+1, r.cfg.Repeat))
	}
	row := Row{Scenario: ScenarioEnqueue, Metric: "Enqueue, 1 goroutine", Unit: "tasks/s", VlensQ: median(vq), Bare: median(bare),
		Target: fmt.Sprintf("≥ %.1f× bare", EnqueueRatioTarget), Note: noise(vq, bare)}
	row.Pass = row.Ratio() >= EnqueueRatioTarget
	r.add(row)

	// EnqueueBatch against as many bare enqueues from as many goroutines.
	m := r.cfg.BatchTasks
	items := make([]tasks.BatchItem, m)
	var batchVQ, batchBare float64
	for _, s := range []side{sideBare, sideVlensq} {
		q := r.queue()
		for i := range items {
			items[i] = tasks.BatchItem{Type: tasks.TypeOCRAML, Payload: p, Options: tasks.EnqueueOptions{Queue: q}}
		}
		start := time.Now()
		if s == sideVlensq {
			for _, res := range r.fairProducer.EnqueueBatch(ctx, items) {
				if res.Err != nil {
					return res.Err
				}
			}
			batchVQ = float64(m) / time.Since(start).Seconds()
		} else {
			if err := bareBatch(ctx, aq, raw, m, opts(q)); err != nil {
				return err
			}
			batchBare = float64(m) / time.Since(start).Seconds()
		}
		r.dropQueue(q)
		r.step("enqueue batch " + string(s))
	}
	r.add(Row{Scenario: ScenarioEnqueue, Metric: fmt.Sprintf("EnqueueBatch of %d", m), Unit: "tasks/s", VlensQ: batchVQ, Bare: batchBare,
		Target: fmt.Sprintf("≥ %d tasks/s", BatchTasksPerSecTarget), Pass: batchVQ >= BatchTasksPerSecTarget,
		Note: fmt.Sprintf("bare: %d goroutines over one asynq.Client", tasks.BatchConcurrencyDefault)})
	return nil
}

func bareBatch(ctx context.Context, aq *asynq.Client, raw []byte, n int, opts []asynq.Option) error {
	jobs := make(chan struct{}, n)
	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for range tasks.BatchConcurrencyDefault {
		wg.Go(func() {
			for range jobs {
				if _, err := aq.EnqueueContext(ctx, asynq.NewTask(tasks.TypeOCRAML, raw), opts...); err != nil {
					once.Do(func() { first = err })
				}
			}
		})
	}
	wg.Wait()
	return first
}

// retry runs RetryTasks tasks that fail twice with HTTP 503, then succeed,
// under the default policy without jitter (500 ms, then 1 s), and measures
// at the sandbox how much later than the policy delay each retry arrived.
func (r *runner) retry(ctx context.Context) error {
	policy := handlers.Policy{Jitter: -1}
	key := "#retry-" + r.run + "-"
	n := r.cfg.RetryTasks
	_, err := r.process(ctx, runOpts{side: sideVlensq, tasks: n, concurrency: r.cfg.Concurrency, policy: policy,
		name: func(i int) string { return fmt.Sprintf("sandbox:http503,http503,ok%s%d", key, i) }})
	if err != nil {
		return err
	}
	r.step("retry")
	calls := map[string][]time.Time{}
	for _, req := range r.fake.Requests() {
		if strings.Contains(req.Scenario, key) {
			calls[req.Scenario] = append(calls[req.Scenario], req.At)
		}
	}
	p := handlers.Policy{BaseDelay: handlers.BaseDelayDefault, Multiplier: handlers.MultiplierDefault, MaxDelay: handlers.MaxDelayDefault}
	var devs []time.Duration
	for _, at := range calls {
		for i := 1; i < len(at) && i <= 2; i++ {
			devs = append(devs, at[i].Sub(at[i-1])-p.Backoff(i-1))
		}
	}
	if len(devs) != 2*n {
		return fmt.Errorf("saw %d retries at the sandbox, want %d", len(devs), 2*n)
	}
	p50, p99 := percentile(devs, 50), percentile(devs, 99)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	note := fmt.Sprintf("%d retries (500 ms and 1 s), jitter off; min %+.1f ms, max %+.1f ms", len(devs),
		ms(percentile(devs, 0.0001)), ms(percentile(devs, 100)))
	r.add(Row{Scenario: ScenarioRetry, Metric: "retry later than policy, p50", Unit: "ms", VlensQ: ms(p50), Note: note})
	r.add(Row{Scenario: ScenarioRetry, Metric: "retry later than policy, p99", Unit: "ms", VlensQ: ms(p99),
		Target: fmt.Sprintf("≤ +%d ms", RetryP99TargetMS), Pass: p99 >= 0 && ms(p99) <= RetryP99TargetMS})
	return nil
}

// claimCheck measures the asynq payload of a liveness task carrying three
// 500 KB frames, with the claim check on (vlensq) and as inline JSON.
func (r *runner) claimCheck(ctx context.Context) error {
	blobs := tasks.NewBlobStore(r.prodRedis.Client, time.Minute)
	c, err := tasks.NewClient(r.prodRedis.Client, tasks.ClientConfig{Tenants: r.tenants, Blobs: blobs})
	if err != nil {
		return err
	}
	defer c.Close()
	p := &tasks.Payload{Tenant: r.tenant.Name, User: "bench-user", TransactionID: tasks.TextID("tx-" + r.run),
		Face1: tasks.ImageBytes(fakeJPEG(500_000, 1)), Face2: tasks.ImageBytes(fakeJPEG(500_000, 2)), Face3: tasks.ImageBytes(fakeJPEG(500_000, 3))}
	task, _, err := c.NewTask(ctx, tasks.TypeVerifyLiveness, p, tasks.EnqueueOptions{})
	if err != nil {
		return err
	}
	inline, err := json.Marshal(p)
	if err != nil {
		return err
	}
	n := len(task.Payload())
	r.add(Row{Scenario: ScenarioClaimCheck, Metric: "asynq payload, liveness 3×500 KB", Unit: "KB",
		VlensQ: float64(n) / 1024, Bare: float64(len(inline)) / 1024, Target: "≤ 10 KB", Pass: n <= ClaimCheckTargetBytes,
		Note: "bare = the same payload inline (base64 JSON)"})
	r.step("claimcheck")
	return nil
}

// fakeJPEG returns n bytes that sniff as a JPEG.
func fakeJPEG(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31) ^ seed
	}
	copy(b, []byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00})
	return b
}
