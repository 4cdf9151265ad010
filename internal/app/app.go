// Package app assembles a vlensq process from its configuration: one Redis
// connection shared by the Vlens client (tokens, sessions, rate limit), the
// producer client, the dead-letter store, the outcome publisher and the
// handlers. The worker, the dashboard, the demo and the end-to-end tests all
// build on it, so they are wired the same way.
package app

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/handlers"
	"github.com/vlensq/vlensq/internal/config"
	"github.com/vlensq/vlensq/internal/metrics"
	"github.com/vlensq/vlensq/internal/tracing"
	"github.com/vlensq/vlensq/outcome"
	"github.com/vlensq/vlensq/tasks"
	"github.com/vlensq/vlensq/tenancy"
	"github.com/vlensq/vlensq/vlens"
)

// Options configure an App. Zero values take the documented defaults.
type Options struct {
	// Redis is an open connection (see config.OpenRedis). Required. The App
	// does not close it.
	Redis *config.Redis
	// Tenants are the Vlens tenants with their secrets (vlens.LoadTenants).
	// Only a process that calls Vlens sets it (worker, demo). Without it the
	// App has no Vlens client and no task handler (Vlens, Handler and
	// Callbacks are nil; do not call NewServer or Mux): that is all the
	// dashboard, the dlq commands, enqueue and session put need.
	Tenants *vlens.TenantSet
	// Directory names the tenants that exist, with their limits and weight
	// but no secrets; the producer client (Tasks) refuses a payload for
	// another tenant. Default: Tenants when set, else the tenants registry
	// the workers publish to Redis (vlens.TenantRegistry).
	Directory vlens.TenantSource
	// VlensBaseURL is the API root. Default vlens.BaseURLDefault.
	VlensBaseURL string
	// Table is the classification table. Default vlens.DefaultTable().
	Table *vlens.Table
	// HTTPClient makes the Vlens calls. Default: the Vlens client's pooled
	// transport.
	HTTPClient *http.Client
	// VlensTimeout bounds one Vlens call. Default vlens.TimeoutDefault.
	VlensTimeout time.Duration
	// Policy is the retry policy.
	Policy handlers.Policy
	// DeadLetters configures retention of the dead-letter store.
	DeadLetters deadletter.Config
	// CallbackSecret signs callback bodies when set.
	CallbackSecret []byte
	// Callbacks configures callback delivery (allowed targets, timeout);
	// CallbackSecret, when set, overrides its Secret.
	Callbacks outcome.CallbackConfig
	// Outcomes configures the outcome stream (length and age limits).
	Outcomes outcome.Config
	// Results says what a successful task keeps as its result.
	Results handlers.ResultPolicy
	// DisableRateLimit turns the per-tenant rate limit off (benchmarks).
	DisableRateLimit bool
	// RateLimitWait is how long a call waits in its worker slot for the
	// tenant's rate limit before the task goes back to the queue as throttled
	// (without spending an attempt). Waiting in the slot is backpressure: a
	// tenant's backlog drains at its rate instead of cycling through Redis.
	// Default RateLimitWaitDefault; negative never waits.
	RateLimitWait time.Duration
	// Breaker configures the circuit breaker's probes and trials.
	Breaker tenancy.BreakerConfig
	// DisableFairness sends tasks straight to asynq's pending list, first
	// come first served, without holding them per tenant (package tenancy).
	// It exists to measure what fair dispatch changes (vlensq bench
	// --only fairness); a fleet must agree on it.
	DisableFairness bool
	// Logger is the process logger. Default: disabled.
	Logger *zerolog.Logger
	// Metrics, when set, is fed by every component.
	Metrics *metrics.Metrics
	// TracerProvider, when set, turns tracing on: the worker opens one span
	// per attempt (tracing.Middleware), the Vlens calls are traced with
	// otelhttp, log lines of traced tasks carry trace_id and span_id, and
	// requeues link to the dead-lettered attempt. Default nil: off (see
	// tracing.FromEnv for the OTEL_* settings).
	TracerProvider trace.TracerProvider
}

// App is an assembled vlensq process.
type App struct {
	Redis     *config.Redis
	Tenants   *vlens.TenantSet // nil unless Options.Tenants: see there
	Directory vlens.TenantSource
	Vlens     *vlens.Client
	Sessions  *vlens.RedisSessionStore
	Blobs     *tasks.BlobStore
	Tasks     *tasks.Client
	DLQ       *deadletter.Store
	Outcomes  *outcome.Publisher
	Handler   *handlers.Handler
	Callbacks *outcome.CallbackHandler
	// Fair holds tasks per tenant and dispatches them fairly; States are
	// the tenants' pauses.
	Fair    *tenancy.Scheduler
	States  *tenancy.States
	Metrics *metrics.Metrics
	Log     zerolog.Logger

	asynqClient *asynq.Client
	tracer      trace.TracerProvider // nil when tracing is off
}

// New assembles an App.
func New(o Options) (*App, error) {
	if o.Redis == nil {
		return nil, errors.New("app: Options.Redis is required")
	}
	log := zerolog.Nop()
	if o.Logger != nil {
		log = *o.Logger
	}
	if o.TracerProvider != nil {
		log = log.Hook(tracing.LogHook{})
		o.HTTPClient = tracedHTTPClient(o.HTTPClient, o.TracerProvider)
	}
	rdb := o.Redis.Client
	a := &App{Redis: o.Redis, Tenants: o.Tenants, Directory: directory(o), Metrics: o.Metrics, Log: log, tracer: o.TracerProvider}
	a.Sessions = vlens.NewRedisSessionStore(rdb)
	vc := vlens.Config{
		BaseURL:    cmp.Or(o.VlensBaseURL, vlens.BaseURLDefault),
		Tenants:    o.Tenants,
		Sessions:   a.Sessions,
		Table:      o.Table,
		HTTPClient: o.HTTPClient,
		Timeout:    o.VlensTimeout,
		Hooks:      hooks(o.Metrics),
	}
	if !o.DisableRateLimit {
		vc.Limiter = vlens.NewRedisLimiter(rdb)
		vc.ThrottleWait = max(cmp.Or(o.RateLimitWait, RateLimitWaitDefault), 0)
	}
	var err error
	if o.Tenants != nil { // without secrets, no Vlens client
		if a.Vlens, err = vlens.New(vc); err != nil {
			return nil, err
		}
	}
	a.asynqClient = asynq.NewClientFromRedisClient(rdb)
	a.Outcomes = outcome.NewPublisher(rdb, a.asynqClient, o.Outcomes)
	if a.States, err = tenancy.NewStates(tenancy.StatesConfig{
		Redis:   rdb,
		Known:   func(_ context.Context, name string) (bool, error) { _, ok := a.Directory.Tenant(name); return ok, nil },
		OnEvent: a.tenantEvent,
		Breaker: o.Breaker,
	}); err != nil {
		return nil, err
	}
	fc := tenancy.Config{Redis: rdb, Tenants: a.Directory, States: a.States, Logger: &log, Observer: fairObserver(o.Metrics)}
	if vc.Limiter != nil {
		fc.Limiter = vlens.NewRedisLimiter(rdb)
	}
	if a.Fair, err = tenancy.New(fc); err != nil {
		return nil, err
	}
	a.Blobs = tasks.NewBlobStore(rdb, 0)
	cc := tasks.ClientConfig{Tenants: a.Directory, Blobs: a.Blobs, Hold: a.Fair}
	if o.DisableFairness {
		a.Fair, cc.Hold = nil, nil
	}
	if a.Tasks, err = tasks.NewClient(rdb, cc); err != nil {
		return nil, err
	}
	dlqCfg := o.DeadLetters
	if dlqCfg.OnTrim == nil {
		dlqCfg.OnTrim = func(n int, reason string) {
			log.Warn().Int("records", n).Str("reason", reason).Msg("dead-letter retention trimmed records")
			if o.Metrics != nil {
				o.Metrics.DeadLetterTrims.WithLabelValues(reason).Add(float64(n))
			}
		}
	}
	if a.DLQ, err = deadletter.New(rdb, dlqCfg); err != nil {
		return nil, err
	}
	if a.Vlens == nil {
		return a, nil // no Vlens client: no handler either
	}
	cb := o.Callbacks
	if len(o.CallbackSecret) > 0 {
		cb.Secret = o.CallbackSecret
	}
	a.Callbacks = outcome.NewCallbackHandler(cb)
	a.Handler, err = handlers.New(handlers.Config{
		Redis: rdb, Vlens: a.Vlens, Blobs: a.Blobs, DeadLetters: a.DLQ, Outcomes: a.Outcomes,
		Policy: o.Policy, Metrics: o.Metrics, Logger: &log, Requeue: a.RequeueFunc(), Results: o.Results, Fair: a.Fair,
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// directory is Options.Directory or its default.
func directory(o Options) vlens.TenantSource {
	switch {
	case o.Directory != nil:
		return o.Directory
	case o.Tenants != nil:
		return o.Tenants
	}
	return vlens.NewTenantRegistry(o.Redis.Client, vlens.RegistryConfig{})
}

// ServerOptions configure a worker server.
type ServerOptions struct {
	// Queues maps queue names to priority weights. Default {"default": 1}.
	Queues map[string]int
	// StrictPriority drains higher-weight queues first.
	StrictPriority bool
	// Concurrency is the number of tasks in flight. Default ConcurrencyDefault.
	Concurrency int
	// ShutdownTimeout is how long a graceful stop waits for in-flight tasks
	// before handing them back to the queue. Default
	// handlers.ShutdownTimeoutDefault.
	ShutdownTimeout time.Duration
}

// RateLimitWaitDefault is the default of Options.RateLimitWait.
const RateLimitWaitDefault = time.Second

// ConcurrencyDefault is the worker's default number of tasks in flight. Vlens
// calls are I/O-bound (seconds for OCR and liveness), so it is well above the
// number of cores.
const ConcurrencyDefault = 50

// NewServer returns a worker server wired to the App's handlers: asynq's
// server plus the process's fair dispatcher. Start it with
// srv.Start(a.Mux()).
func (a *App) NewServer(o ServerOptions) *Server {
	queues := o.Queues
	if len(queues) == 0 {
		queues = map[string]int{"default": 1}
	}
	concurrency := cmp.Or(o.Concurrency, ConcurrencyDefault)
	cfg := a.Handler.ServerConfig(asynq.Config{
		Queues:          queues,
		StrictPriority:  o.StrictPriority,
		Concurrency:     concurrency,
		ShutdownTimeout: o.ShutdownTimeout,
	})
	return &Server{
		Server: asynq.NewServerFromRedisClient(a.Redis.Client, cfg),
		fair:   a.Fair, queues: queues, slots: tenancy.NewSlots(concurrency), log: a.Log,
	}
}

// Server is a worker: asynq's server and the fair dispatcher that feeds it.
type Server struct {
	*asynq.Server
	fair   *tenancy.Scheduler
	queues map[string]int
	slots  *tenancy.Slots
	log    zerolog.Logger
	stop   context.CancelFunc
	done   chan struct{}
}

// Start starts processing tasks with h, and the dispatcher.
func (s *Server) Start(h asynq.Handler) error {
	if err := s.Server.Start(s.slots.Wrap(h)); err != nil {
		return err
	}
	if s.fair == nil {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stop, s.done = cancel, make(chan struct{})
	go func() {
		defer close(s.done)
		if err := s.fair.Run(ctx, s.queues, s.slots); err != nil {
			s.log.Error().Err(err).Msg("fair dispatcher stopped")
		}
	}()
	return nil
}

// Stop stops dispatching and fetching new tasks; in-flight tasks go on.
func (s *Server) Stop() {
	s.stopDispatch()
	s.Server.Stop()
}

// Shutdown stops dispatching, then shuts asynq's server down gracefully.
func (s *Server) Shutdown() {
	s.stopDispatch()
	s.Server.Shutdown()
}

func (s *Server) stopDispatch() {
	if s.stop != nil {
		s.stop()
		<-s.done
		s.stop = nil
	}
}

// Mux is the handler of every task type the worker runs; with tracing on,
// wrapped in tracing.Middleware.
func (a *App) Mux() asynq.Handler {
	h := a.Handler.Router(a.Callbacks)
	if a.tracer == nil {
		return h
	}
	return tracing.Middleware(tracing.MiddlewareConfig{TracerProvider: a.tracer})(h)
}

// tracedHTTPClient returns a copy of hc (default: the Vlens client's) whose
// transport traces each request with otelhttp: one client span per HTTP
// exchange, child of the caller's span, with the method, the URL (the Vlens
// base URL and path: no query, no user info), the status and the server
// address. otelhttp records no header and no body; its metrics are off
// (vlensq's metrics are Prometheus). A request outside a traced task gets no
// span.
func tracedHTTPClient(hc *http.Client, tp trace.TracerProvider) *http.Client {
	if hc == nil {
		hc = vlens.DefaultHTTPClient()
	}
	base := cmp.Or[http.RoundTripper](hc.Transport, http.DefaultTransport)
	cp := *hc
	cp.Transport = otelhttp.NewTransport(base,
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(tracing.Propagator),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithFilter(func(r *http.Request) bool { return tracing.Recording(r.Context()) }),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			return "vlens " + r.Method + " " + vlens.RouteTemplate(r.URL.Path)
		}),
	)
	return &cp
}

// Close releases the App's own clients (not the Redis connection).
func (a *App) Close() error {
	return errors.Join(a.Tasks.Close(), a.asynqClient.Close())
}

func hooks(m *metrics.Metrics) vlens.Hooks {
	if m == nil {
		return vlens.Hooks{}
	}
	return vlens.Hooks{
		OnCall: func(ci vlens.CallInfo) {
			metrics.Observe(m.VlensCalls.WithLabelValues(ci.Route, string(ci.Class)), ci.Duration.Seconds(), ci.Trace)
		},
		OnRefresh: func(_ string, user bool, err error) {
			kind, result := "tenant", "ok"
			if user {
				kind = "user"
			}
			if err != nil {
				result = "error"
			}
			m.TokenRefreshes.WithLabelValues(kind, result).Inc()
		},
		OnThrottle: func(tenant string, _ time.Duration) {
			m.RateLimitWaits.WithLabelValues(tenant).Inc()
		},
	}
}

// tenantEvent publishes a pause or resume on the outcome stream and logs it.
func (a *App) tenantEvent(ctx context.Context, e tenancy.Event) {
	ev := a.Log.Warn().Str("event", e.Event).Str("tenant", e.Tenant).Str("by", e.By).Str("reason", e.Reason)
	cause := ""
	if e.Cause != nil {
		b, _ := json.Marshal(e.Cause)
		cause = string(b)
		ev = ev.Int("code", e.Cause.Code).Str("category", e.Cause.Category).Str("dead_letter_id", e.Cause.DeadLetterID)
	}
	ev.Msg("tenant " + strings.TrimPrefix(e.Event, "tenant_"))
	err := a.Outcomes.PublishTenantEvent(ctx, outcome.TenantEvent{Event: e.Event, Tenant: e.Tenant, At: e.At, By: e.By, Reason: e.Reason, Cause: cause})
	if err != nil {
		a.Log.Error().Err(err).Str("tenant", e.Tenant).Msg("could not publish the tenant event on the outcome stream")
	}
	if a.Metrics != nil {
		a.Metrics.TenantEvents.WithLabelValues(e.Tenant, e.Event).Inc()
	}
}

func fairObserver(m *metrics.Metrics) tenancy.Observer {
	if m == nil {
		return tenancy.Observer{}
	}
	return tenancy.Observer{
		Dispatched: func(q, tenant string, n int) { m.TenantDispatched.WithLabelValues(q, tenant).Add(float64(n)) },
		Throttled:  func(tenant string, d time.Duration) { m.TenantThrottled.WithLabelValues(tenant).Add(d.Seconds()) },
	}
}
