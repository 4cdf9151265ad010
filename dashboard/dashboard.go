package dashboard

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/internal/metrics"
	"github.com/vlensq/vlensq/outcome"
	"github.com/vlensq/vlensq/tenancy"
)

// Dashboard serves the dashboard. Create it with New, serve Handler, and
// Close it when done.
type Dashboard struct {
	cfg Config
	rdb redis.UniversalClient
	dlq *deadletter.Store
	log zerolog.Logger

	sessionKey []byte
	// compare is the constant-time comparison of token digests
	// (subtle.ConstantTimeCompare; tests observe it).
	compare    func(a, b []byte) int
	dummyOnce  sync.Once
	dummy      []byte
	basicCache verifiedCache
	logins     *loginLimiter

	monitoring    *asynqmon.HTTPHandler
	monitoringCSP string
	insp          *asynq.Inspector
	outcomes      *outcome.Publisher
	pages         *pages
	// fair lists tenants; states pauses and resumes them (built from
	// Redis and Config.Tenants alone).
	fair   *tenancy.Scheduler
	states *tenancy.States
	// tenantEvents counts pauses and resumes made here (the worker metric
	// vlensq_tenant_events_total); nil without Config.Metrics.
	tenantEvents *prometheus.CounterVec

	registry     *prometheus.Registry
	collector    *Collector
	authFailures *prometheus.CounterVec

	handler   http.Handler
	closeOnce sync.Once
	closeErr  error
}

// New returns a dashboard for cfg. It refuses a configuration without a
// token or users unless cfg.InsecureNoAuth (the error wraps ErrNoAuth), and
// does no I/O: Redis is first used by a request.
func New(cfg Config) (*Dashboard, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	d := &Dashboard{
		cfg: cfg, rdb: cfg.Redis.Client, dlq: cfg.DLQ, log: *cfg.Logger,
		sessionKey: cfg.SessionKey, compare: subtle.ConstantTimeCompare,
		logins: newLoginLimiter(cfg.LoginFailuresPerIP, cfg.LoginFailuresPerUser, cfg.LoginWindow),
	}
	if d.sessionKey == nil {
		d.sessionKey = make([]byte, 32)
		_, _ = rand.Read(d.sessionKey)
	}
	var err error
	if d.pages, err = parsePages(); err != nil {
		return nil, err
	}
	m := cfg.Metrics
	if m == nil {
		m = metrics.New()
	}
	d.registry = m.Registry
	d.insp = asynq.NewInspectorFromRedisClient(d.rdb)
	d.outcomes = outcome.NewPublisher(d.rdb, nil, outcome.Config{})
	if err := d.tenancy(m); err != nil {
		return nil, err
	}
	d.collector = NewCollector(d.insp, d.dlq, cfg.ScrapeTimeout, d.log)
	d.collector.SetTenants(d.fair)
	d.authFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vlensq_dashboard_auth_failures_total",
		Help: "Dashboard requests refused for bad credentials, by method (bearer, basic, other, session, login).",
	}, []string{"method"})
	if err := d.registry.Register(d.collector); err != nil {
		return nil, errors.New("dashboard: the metrics registry already has a dashboard collector (close the other dashboard first)")
	}
	if err := d.registry.Register(d.authFailures); err != nil {
		d.registry.Unregister(d.collector)
		return nil, errors.New("dashboard: the metrics registry already has the dashboard's auth-failure counter")
	}
	d.monitoring, d.monitoringCSP = newMonitoring(cfg)
	d.handler = d.routes()
	return d, nil
}

// Handler returns the dashboard's HTTP handler.
func (d *Dashboard) Handler() http.Handler { return d.handler }

// Close releases Asynqmon's connections and removes the dashboard's
// collectors from the registry. It does not close Config.Redis.
func (d *Dashboard) Close() error {
	d.closeOnce.Do(func() {
		d.registry.Unregister(d.collector)
		d.registry.Unregister(d.authFailures)
		// The Inspector runs on Config.Redis, which the caller closes
		// (asynq refuses to close a shared client).
		d.closeErr = d.monitoring.Close()
	})
	return d.closeErr
}

func (d *Dashboard) routes() http.Handler {
	mux := http.NewServeMux()
	auth := func(h http.HandlerFunc) http.Handler { return d.requireAuth(h) }

	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /readyz", d.readyz)
	mux.Handle("GET /static/", staticHandler())
	mux.HandleFunc("GET /login", d.loginPage)
	mux.HandleFunc("POST /login", d.login)
	mux.Handle("POST /logout", auth(d.logout))

	mux.Handle("GET /metrics", d.requireAuth(promhttp.HandlerFor(d.registry, promhttp.HandlerOpts{})))
	mux.Handle(monitoringRoot+"/", d.requireAuth(d.monitoringHandler()))

	mux.Handle("GET /{$}", auth(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/dlq/", http.StatusFound)
	}))
	mux.Handle("GET /dlq", auth(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/dlq/", http.StatusMovedPermanently)
	}))
	mux.Handle("GET /dlq/{$}", auth(d.listPage))
	mux.Handle("GET /dlq/requeue", auth(d.requeuePage))
	mux.Handle("POST /dlq/requeue", auth(d.requeueSubmit))
	mux.Handle("GET /dlq/purge", auth(d.purgePage))
	mux.Handle("POST /dlq/purge", auth(d.purgeSubmit))
	mux.Handle("GET /dlq/{id}", auth(d.recordPage))

	mux.Handle("GET /tenants", auth(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/tenants/", http.StatusMovedPermanently)
	}))
	mux.Handle("GET /tenants/{$}", auth(d.tenantsPage))
	mux.Handle("POST /tenants/{name}/pause", auth(d.tenantPauseSubmit))
	mux.Handle("POST /tenants/{name}/resume", auth(d.tenantResumeSubmit))
	mux.Handle("GET /api/tenants", auth(d.apiTenants))
	mux.Handle("POST /api/tenants/{name}/pause", auth(d.apiTenantPause))
	mux.Handle("POST /api/tenants/{name}/resume", auth(d.apiTenantResume))

	mux.Handle("GET /api/dlq", auth(d.apiList))
	mux.Handle("GET /api/dlq/stats", auth(d.apiStats))
	mux.Handle("GET /api/dlq/export", auth(d.apiExport))
	mux.Handle("GET /api/dlq/{id}", auth(d.apiGet))
	mux.Handle("GET /api/dlq/{id}/ticket", auth(d.apiTicket))
	mux.Handle("POST /api/dlq/requeue", auth(d.apiRequeue))
	mux.Handle("POST /api/dlq/purge", auth(d.apiPurge))

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.log.Warn().Str("path", r.URL.Path).Str("origin", r.Header.Get("Origin")).Msg("dashboard: cross-origin request refused")
		writeError(w, http.StatusForbidden, "cross-origin request refused")
	}))
	return d.securityHeaders(cop.Handler(mux))
}

// monitoringHandler is Asynqmon, with error messages redacted on its API.
func (d *Dashboard) monitoringHandler() http.Handler {
	api := redactErrorMessages(d.monitoring)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, monitoringRoot+"/api/") {
			api.ServeHTTP(w, r)
			return
		}
		d.monitoring.ServeHTTP(w, r)
	})
}

// writeJSON writes v as the JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// apiError is the body of every JSON error response.
type apiError struct {
	Error string `json:"error"`
	// Field names the bad input, when one is to blame.
	Field string `json:"field,omitempty"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiError{Error: msg})
}
