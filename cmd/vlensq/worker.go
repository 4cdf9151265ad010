package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/handlers"
	"github.com/vlensq/vlensq/internal/app"
	"github.com/vlensq/vlensq/internal/metrics"
	"github.com/vlensq/vlensq/outcome"
	"github.com/vlensq/vlensq/tenancy"
	"github.com/vlensq/vlensq/vlens"
)

// dlqMaxAgeDefault is the worker's dead-letter age limit: longer than
// asynq's 90-day archive, so records outlive the archived tasks.
const dlqMaxAgeDefault = 180 * 24 * time.Hour

type workerOpts struct {
	queues          string
	strict          bool
	concurrency     int
	metricsAddr     string
	shutdownTimeout time.Duration
	policy          handlers.Policy
	dlqMaxAge       time.Duration
	dlqMaxCount     int
	callbackSecret  string
	callbackPrivate bool
	callbackHTTP    bool
	outcomeMaxAge   time.Duration
	breaker         tenancy.BreakerConfig
	resultFull      bool
	resultFields    string
	rateLimitWait   time.Duration
	vlensTimeout    time.Duration
}

func newWorkerCmd(g *globals) *cobra.Command {
	o := &workerOpts{}
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Process tasks: call Vlens, classify, retry or dead-letter",
		Long: `worker dequeues tasks from the given queues and runs them. It stops gracefully on SIGTERM or
Ctrl-C: in-flight tasks get --shutdown-timeout to finish, then go back to their queue.

Needs: VLENSQ_REDIS; VLENSQ_TENANTS, the tenants file with the Vlens secrets (inline, or as
api_key_file / password_file paths, or ${ENV_NAME} references, so a Kubernetes or Docker secret
is mounted into the worker only); VLENS_BASE_URL; optionally VLENSQ_CODES. The worker is the one
long-running process that reads Vlens secrets. It publishes the tenants' names, rate limits and
weights (never a secret) to Redis (` + "`vlensq:tenants:registry`" + `), where enqueue, session put and
requeues find them, and refreshes that every minute.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runWorker(cmd.Context(), g, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.queues, "queues", env("VLENSQ_QUEUES", "critical=6,default=3,low=1"), "queues and priority weights, q=weight,... (env VLENSQ_QUEUES)")
	f.BoolVar(&o.strict, "strict-priority", os.Getenv("VLENSQ_STRICT_PRIORITY") == "true", "always drain higher-weight queues first (env VLENSQ_STRICT_PRIORITY)")
	f.IntVar(&o.concurrency, "concurrency", envInt("VLENSQ_CONCURRENCY", app.ConcurrencyDefault), "tasks in flight (env VLENSQ_CONCURRENCY)")
	f.StringVar(&o.metricsAddr, "metrics", env("VLENSQ_METRICS", ""), "serve /metrics and /healthz on this address, e.g. :9090 (env VLENSQ_METRICS)")
	f.DurationVar(&o.shutdownTimeout, "shutdown-timeout", envDuration("VLENSQ_SHUTDOWN_TIMEOUT", handlers.ShutdownTimeoutDefault), "how long a graceful stop waits for in-flight tasks (env VLENSQ_SHUTDOWN_TIMEOUT)")
	bindPolicy(f, &o.policy)
	f.DurationVar(&o.dlqMaxAge, "dlq-max-age", envDuration("VLENSQ_DLQ_MAX_AGE", dlqMaxAgeDefault), "drop dead letters older than this, counted from the dead-letter time; 0 keeps them whatever their age (env VLENSQ_DLQ_MAX_AGE)")
	f.IntVar(&o.dlqMaxCount, "dlq-max-count", envInt("VLENSQ_DLQ_MAX_COUNT", 0), "keep at most this many dead letters, oldest dropped first; 0 means the store's default (env VLENSQ_DLQ_MAX_COUNT)")
	f.DurationVar(&o.rateLimitWait, "rate-limit-wait", envDuration("VLENSQ_RATE_LIMIT_WAIT", app.RateLimitWaitDefault), "how long a call waits in its slot for the tenant's rate limit before the task is requeued as throttled (env VLENSQ_RATE_LIMIT_WAIT)")
	f.DurationVar(&o.vlensTimeout, "vlens-timeout", envDuration("VLENSQ_VLENS_TIMEOUT", vlens.TimeoutDefault), "bound on one Vlens call; OCR and liveness calls can take seconds (env VLENSQ_VLENS_TIMEOUT)")
	f.StringVar(&o.callbackSecret, "callback-secret", "", "HMAC key to sign callback bodies (prefer env VLENSQ_CALLBACK_SECRET)")
	f.BoolVar(&o.callbackPrivate, "callback-allow-private", os.Getenv("VLENSQ_CALLBACK_ALLOW_PRIVATE") == "true", "allow callback URLs on loopback, private and link-local addresses (env VLENSQ_CALLBACK_ALLOW_PRIVATE=true)")
	f.BoolVar(&o.callbackHTTP, "callback-allow-http", os.Getenv("VLENSQ_CALLBACK_ALLOW_HTTP") == "true", "allow plain http callback URLs; https only by default (env VLENSQ_CALLBACK_ALLOW_HTTP=true)")
	f.DurationVar(&o.breaker.ProbeInterval, "breaker-probe-interval", envDuration("VLENSQ_BREAKER_PROBE_INTERVAL", tenancy.ProbeIntervalDefault), "wait before the first probe of a tenant paused by its circuit breaker; doubles after each failed probe (env VLENSQ_BREAKER_PROBE_INTERVAL)")
	f.DurationVar(&o.breaker.ProbeMax, "breaker-probe-max", envDuration("VLENSQ_BREAKER_PROBE_MAX", tenancy.ProbeMaxDefault), "longest wait between two probes (env VLENSQ_BREAKER_PROBE_MAX)")
	f.DurationVar(&o.breaker.HealthyFor, "tenant-healthy-for", envDuration("VLENSQ_TENANT_HEALTHY_FOR", tenancy.HealthyForDefault), "a tenant without a success for this long runs one task at a time until one succeeds, so a broken account costs one call; negative turns this off (env VLENSQ_TENANT_HEALTHY_FOR)")
	f.DurationVar(&o.outcomeMaxAge, "outcome-max-age", envDuration("VLENSQ_OUTCOME_MAX_AGE", outcome.MaxAgeDefault), "drop outcome stream entries older than this; negative keeps them whatever their age (env VLENSQ_OUTCOME_MAX_AGE)")
	f.BoolVar(&o.resultFull, "result-full", os.Getenv("VLENSQ_RESULT_FULL") == "true", "keep every data field Vlens returned in a success's result, not only the per-type allow-list (env VLENSQ_RESULT_FULL=true)")
	f.StringVar(&o.resultFields, "result-fields", env("VLENSQ_RESULT_FIELDS", ""), "per-type allow-list of result data fields, 'type=field|field;type=field' (env VLENSQ_RESULT_FIELDS)")
	return cmd
}

type flagSet interface {
	DurationVar(p *time.Duration, name string, value time.Duration, usage string)
	IntVar(p *int, name string, value int, usage string)
	Float64Var(p *float64, name string, value float64, usage string)
}

// bindPolicy adds the retry policy flags.
func bindPolicy(f flagSet, p *handlers.Policy) {
	f.IntVar(&p.MaxAttempts, "max-attempts", envInt("VLENSQ_MAX_ATTEMPTS", handlers.MaxAttemptsDefault), "attempts of a transiently failing task before it is dead-lettered as retries_exhausted (env VLENSQ_MAX_ATTEMPTS)")
	f.DurationVar(&p.BaseDelay, "retry-base", envDuration("VLENSQ_RETRY_BASE", handlers.BaseDelayDefault), "first retry delay (env VLENSQ_RETRY_BASE)")
	f.DurationVar(&p.MaxDelay, "retry-max", envDuration("VLENSQ_RETRY_MAX", handlers.MaxDelayDefault), "retry delay cap (env VLENSQ_RETRY_MAX)")
	f.Float64Var(&p.Jitter, "retry-jitter", envFloat("VLENSQ_RETRY_JITTER", handlers.JitterDefault), "fraction taken off each delay at random, 0 to <1; negative disables (env VLENSQ_RETRY_JITTER)")
	f.DurationVar(&p.ThrottleLimit, "throttle-limit", envDuration("VLENSQ_THROTTLE_LIMIT", handlers.ThrottleLimitDefault), "how long Vlens may keep throttling a task (429, 4003) before it is dead-lettered as throttled_too_long (env VLENSQ_THROTTLE_LIMIT)")
	f.IntVar(&p.InternalAttempts, "internal-attempts", envInt("VLENSQ_INTERNAL_ATTEMPTS", handlers.InternalAttemptsDefault), "attempts of a task failing for a reason of vlensq's own (Redis, image store) before it is dead-lettered with category internal (env VLENSQ_INTERNAL_ATTEMPTS)")
}

func runWorker(ctx context.Context, g *globals, o *workerOpts) error {
	queues, err := parseQueues(o.queues)
	if err != nil {
		return err
	}
	if o.vlensTimeout <= 0 {
		return usageErr("--vlens-timeout must be positive, got %v", o.vlensTimeout)
	}
	if o.concurrency <= 0 {
		return usageErr("--concurrency must be at least 1, got %d", o.concurrency)
	}
	fields, err := handlers.ParseResultFields(o.resultFields)
	if err != nil {
		return usageErr("--result-fields: %v", err)
	}
	dlqAge := o.dlqMaxAge
	if dlqAge < 0 {
		return usageErr("--dlq-max-age must not be negative, got %v", dlqAge)
	}
	m := metrics.New()
	secret := o.callbackSecret
	if secret == "" {
		secret = os.Getenv("VLENSQ_CALLBACK_SECRET")
	}
	p, err := g.open(ctx, app.Options{
		Policy: o.policy, Metrics: m, CallbackSecret: []byte(secret), RateLimitWait: o.rateLimitWait, VlensTimeout: o.vlensTimeout,
		DeadLetters: deadletter.Config{MaxAge: dlqAge, MaxCount: o.dlqMaxCount},
		Callbacks:   outcome.CallbackConfig{AllowPrivate: o.callbackPrivate, AllowHTTP: o.callbackHTTP},
		Outcomes:    outcome.Config{MaxAge: o.outcomeMaxAge},
		Results:     handlers.ResultPolicy{Full: o.resultFull, Fields: fields},
		Breaker:     o.breaker,
	}, tenantsWithSecrets)
	if err != nil {
		return err
	}
	defer p.Close()

	// Publish the tenants' names, limits and weight (no secrets), so that
	// enqueue, session put and requeues know them without the secrets.
	registry := vlens.NewTenantRegistry(p.Redis.Client, vlens.RegistryConfig{})
	if err := registry.Publish(ctx, p.Tenants); err != nil {
		return err
	}
	go registry.KeepPublished(ctx, p.Tenants, vlens.RegistryRefreshDefault, func(err error) {
		p.log.Warn().Err(err).Msg("tenants registry: publish failed; retrying at the next refresh")
	})

	if o.metricsAddr != "" {
		srv := &http.Server{Addr: o.metricsAddr, Handler: metricsMux(m, p.App), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				p.log.Error().Err(err).Str("addr", o.metricsAddr).Msg("metrics server stopped")
			}
		}()
		defer srv.Close()
	}

	srv := p.NewServer(app.ServerOptions{Queues: queues, StrictPriority: o.strict, Concurrency: o.concurrency, ShutdownTimeout: o.shutdownTimeout})
	if err := srv.Start(p.Mux()); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	p.log.Info().Str("redis", p.Redis.Display).Str("queues", o.queues).Int("concurrency", o.concurrency).
		Strs("tenants", p.Tenants.Names()).Bool("tracing", p.traces.Enabled()).Msg("worker started")
	<-ctx.Done()
	p.log.Info().Dur("shutdown_timeout", o.shutdownTimeout).Msg("stopping: in-flight tasks finish or go back to their queue")
	srv.Shutdown()
	p.log.Info().Msg("worker stopped")
	return nil
}

// metricsMux serves /metrics, /healthz and /readyz.
func metricsMux(m *metrics.Metrics, a *app.App) *http.ServeMux {
	mux := http.NewServeMux()
	// OpenMetrics, when the scraper asks for it, carries the latency
	// histograms' exemplars (trace ids).
	mux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := a.Redis.Client.Ping(ctx).Err(); err != nil {
			http.Error(w, "redis unreachable", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

// parseQueues parses "q=weight,q2=weight".
func parseQueues(s string) (map[string]int, error) {
	out := map[string]int{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, w, ok := strings.Cut(item, "=")
		n := 1
		if ok {
			var err error
			if n, err = strconv.Atoi(w); err != nil || n <= 0 {
				return nil, usageErr("--queues: weight of %q must be a whole number >= 1, got %q", name, w)
			}
		}
		if name == "" {
			return nil, usageErr("--queues: empty queue name in %q", s)
		}
		out[name] = n
	}
	if len(out) == 0 {
		return nil, usageErr("--queues: no queue given")
	}
	return out, nil
}

// envErrs collects environment variables that are set but do not parse;
// the root command reports them before running anything.
var envErrs []error

func envParse[T any](name string, def T, parse func(string) (T, error), want string) T {
	raw, ok := os.LookupEnv(name)
	if !ok || raw == "" {
		return def
	}
	v, err := parse(raw)
	if err != nil {
		envErrs = append(envErrs, fmt.Errorf("%s: want %s, got %q", name, want, raw))
		return def
	}
	return v
}

func envInt(name string, def int) int { return envParse(name, def, strconv.Atoi, "a whole number") }

func envFloat(name string, def float64) float64 {
	return envParse(name, def, func(s string) (float64, error) { return strconv.ParseFloat(s, 64) }, "a number")
}

func envDuration(name string, def time.Duration) time.Duration {
	return envParse(name, def, time.ParseDuration, "a duration such as 500ms or 2h")
}
