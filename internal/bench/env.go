package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/vlensq/vlensq/handlers"
	"github.com/vlensq/vlensq/internal/app"
	"github.com/vlensq/vlensq/internal/config"
	"github.com/vlensq/vlensq/internal/memsample"
	"github.com/vlensq/vlensq/tasks"
	"github.com/vlensq/vlensq/tenancy"
	"github.com/vlensq/vlensq/vlens"
	"github.com/vlensq/vlensq/vlens/vlenstest"
)

// env is what every scenario of one Run shares: the sandbox, the tenant, a
// producer, and one Redis connection per side.
type env struct {
	cfg      Config
	run      string
	seq      atomic.Int64
	fake     *vlenstest.Server
	tenant   vlens.Tenant
	tenants  *vlens.TenantSet
	producer *tasks.Client
	// fairProducer holds its tasks for fair dispatch, as vlensq's own
	// producers do: the vlensq side's tasks come from it.
	fairProducer *tasks.Client
	fair         *tenancy.Scheduler
	// One connection per side, so neither waits on the other's pool.
	prodRedis, vqRedis, bareRedis *config.Redis
	inspector                     *asynq.Inspector
	// The bare side's HTTP client and tenant token.
	bareHTTP *http.Client
	token    string
}

const benchURLPath = "/v1/ocr/aml/validate"

func newEnv(ctx context.Context, cfg Config) (_ *env, err error) {
	e := &env{cfg: cfg, run: fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano()%1e9)}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	e.tenant = vlens.Tenant{Name: "bench-" + e.run, APIKey: "bench-key-" + e.run, Username: "bench", Password: randomHex(8),
		// High enough never to throttle: the ratelimit scenario measures
		// the limiter's cost, not its waits.
		RatePerSecond: 1_000_000, RatePerMinute: 60_000_000}
	if e.tenants, err = vlens.NewTenantSet(e.tenant); err != nil {
		return nil, err
	}
	e.fake = vlenstest.NewServer(vlenstest.Options{Tenants: []vlens.Tenant{e.tenant}})
	for _, r := range []**config.Redis{&e.prodRedis, &e.vqRedis, &e.bareRedis} {
		if *r, err = config.OpenRedis(cfg.RedisURL); err != nil {
			return nil, err
		}
	}
	if err := e.prodRedis.Client.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("bench: redis %s does not answer: %w", e.prodRedis.Display, err)
	}
	e.inspector = asynq.NewInspectorFromRedisClient(e.prodRedis.Client)
	if e.producer, err = tasks.NewClient(e.prodRedis.Client, tasks.ClientConfig{Tenants: e.tenants}); err != nil {
		return nil, err
	}
	if e.fair, err = tenancy.New(tenancy.Config{Redis: e.prodRedis.Client, Tenants: e.tenants}); err != nil {
		return nil, err
	}
	if e.fairProducer, err = tasks.NewClient(e.prodRedis.Client, tasks.ClientConfig{Tenants: e.tenants, Hold: e.fair}); err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// The same pool sizes as the vlens client's default transport.
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost, tr.IdleConnTimeout = 1024, 256, 90*time.Second
	e.bareHTTP = &http.Client{Transport: tr}
	if e.token, err = e.login(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *env) close() {
	if e.fake != nil {
		e.fake.Close()
	}
	if e.bareHTTP != nil {
		e.bareHTTP.CloseIdleConnections()
	}
	for _, r := range []*config.Redis{e.prodRedis, e.vqRedis, e.bareRedis} {
		if r != nil {
			_ = r.Close()
		}
	}
}

// login gets the tenant token for the bare side, as vlensq's client does
// once per tenant.
func (e *env) login(ctx context.Context) (string, error) {
	body, _ := json.Marshal(map[string]string{"tenancyName": e.tenant.Name, "userNameOrEmailAddress": e.tenant.Username, "password": e.tenant.Password})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.fake.URL+"/api/credentials/Login", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	e.headers(req)
	resp, err := e.bareHTTP.Do(req)
	if err != nil {
		return "", fmt.Errorf("bench: sandbox login: %w", err)
	}
	defer resp.Body.Close()
	var env struct {
		Data struct {
			AccessToken string `json:"accessToken"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || env.Data.AccessToken == "" {
		return "", fmt.Errorf("bench: sandbox login: HTTP %d, no access token", resp.StatusCode)
	}
	return env.Data.AccessToken, nil
}

func (e *env) headers(req *http.Request) {
	req.Header.Set("ApiKey", e.tenant.APIKey)
	req.Header.Set("TenancyName", e.tenant.Name)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Request-Id", randomHex(16))
}

// bareHandler makes the HTTP request vlensq makes for an ocr:aml task (same
// URL, body and headers) and does nothing else.
func (e *env) bareHandler() asynq.Handler {
	url := e.fake.URL + benchURLPath
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		var p struct {
			IDNumber string `json:"idNumber"`
			Name     string `json:"name"`
		}
		if err := json.Unmarshal(t.Payload(), &p); err != nil {
			return err
		}
		body, err := json.Marshal(p)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		e.headers(req)
		req.Header.Set("Authorization", "Bearer "+e.token)
		resp, err := e.bareHTTP.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.ReadAll(resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return nil
	})
}

// side is one of the two workers compared.
type side string

const (
	sideVlensq side = "vlensq"
	sideBare   side = "bare"
)

// runOpts describe one processing run.
type runOpts struct {
	side        side
	tasks       int
	concurrency int
	latency     time.Duration
	rateLimit   bool
	policy      handlers.Policy
	// name returns the "name" field of task i (default: a plain name).
	name func(i int) string
}

// runResult is what one processing run measured.
type runResult struct {
	elapsed     time.Duration
	peakActive  int64
	failures    int64
	ok          int64
	baseRSS     int64
	peakRSS     int64
	tasksPerSec float64
}

func (e *env) queue() string { return fmt.Sprintf("bench-%s-%d", e.run, e.seq.Add(1)) }

// process enqueues o.tasks tasks into a fresh queue, then starts the side's
// worker and measures the time until all of them succeeded.
func (e *env) process(ctx context.Context, o runOpts) (runResult, error) {
	e.fake.SetFaults(vlenstest.Faults{LatencyMin: o.latency, LatencyMax: o.latency})
	q := e.queue()
	defer e.dropQueue(q)
	if err := e.prefill(ctx, q, o); err != nil {
		return runResult{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()

	c := &counter{want: int64(o.tasks), done: make(chan struct{})}
	var srv interface {
		Start(asynq.Handler) error
		Shutdown()
	}
	var h asynq.Handler
	switch o.side {
	case sideVlensq:
		a, err := app.New(app.Options{Redis: e.vqRedis, Tenants: e.tenants, VlensBaseURL: e.fake.URL,
			Policy: o.policy, DisableRateLimit: !o.rateLimit, TracerProvider: e.cfg.TracerProvider})
		if err != nil {
			return runResult{}, err
		}
		defer a.Close()
		defer a.Vlens.CloseIdleConnections()
		srv = a.NewServer(app.ServerOptions{Queues: map[string]int{q: 1}, Concurrency: o.concurrency, ShutdownTimeout: 5 * time.Second})
		h = a.Mux()
	case sideBare:
		srv = asynq.NewServerFromRedisClient(e.bareRedis.Client, asynq.Config{
			Queues: map[string]int{q: 1}, Concurrency: o.concurrency, ShutdownTimeout: 5 * time.Second,
			DelayedTaskCheckInterval: handlers.DelayedTaskCheckIntervalDefault,
			TaskCheckInterval:        handlers.TaskCheckIntervalDefault,
			Logger:                   handlers.AsynqLogger(zerolog.Nop()),
		})
		h = e.bareHandler()
	}
	base, rss := memsample.Start(20*time.Millisecond, false)
	start := time.Now()
	if err := srv.Start(c.wrap(h)); err != nil {
		rss.Stop()
		return runResult{}, err
	}
	var err error
	select {
	case <-c.done:
	case <-ctx.Done():
		err = fmt.Errorf("bench: %s: %d of %d tasks done within %v (%d failed attempts)", o.side, c.ok.Load(), o.tasks, e.cfg.Timeout, c.failures.Load())
	}
	elapsed := time.Since(start)
	peak := rss.Stop()
	srv.Shutdown()
	r := runResult{elapsed: elapsed, peakActive: c.peak.Load(), failures: c.failures.Load(), ok: c.ok.Load(),
		baseRSS: base.RSS, peakRSS: peak.RSS, tasksPerSec: float64(o.tasks) / elapsed.Seconds()}
	return r, err
}

// dropQueue deletes q and whatever is held for it.
func (e *env) dropQueue(q string) {
	_ = e.inspector.DeleteQueue(q, true)
	_ = e.fair.DropQueue(context.Background(), q)
}

// prefill enqueues the run's tasks through the producer client (the same
// tasks for both sides).
func (e *env) prefill(ctx context.Context, q string, o runOpts) error {
	items := make([]tasks.BatchItem, o.tasks)
	for i := range items {
		name := "Bench Person"
		if o.name != nil {
			name = o.name(i)
		}
		items[i] = tasks.BatchItem{Type: tasks.TypeOCRAML, Options: tasks.EnqueueOptions{Queue: q},
			Payload: &tasks.Payload{Tenant: e.tenant.Name, IDNumber: "29001011234567", Name: name}}
	}
	producer := e.producer
	if o.side == sideVlensq {
		producer = e.fairProducer
	}
	for _, r := range producer.EnqueueBatch(ctx, items) {
		if r.Err != nil {
			return fmt.Errorf("bench: enqueue: %w", r.Err)
		}
	}
	return nil
}

// counter wraps a handler: it counts successes (closing done at want),
// failed attempts and the peak number of handlers running at once.
type counter struct {
	want                 int64
	ok, failures, active atomic.Int64
	peak                 atomic.Int64
	done                 chan struct{}
	closed               atomic.Bool
}

func (c *counter) wrap(h asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		n := c.active.Add(1)
		for {
			p := c.peak.Load()
			if n <= p || c.peak.CompareAndSwap(p, n) {
				break
			}
		}
		err := h.ProcessTask(ctx, t)
		c.active.Add(-1)
		if err != nil {
			c.failures.Add(1)
			return err
		}
		if c.ok.Add(1) >= c.want && c.closed.CompareAndSwap(false, true) {
			close(c.done)
		}
		return nil
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var errNoRSS = errors.New("RSS is not available on this system (no /proc)")
