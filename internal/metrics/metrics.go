// Package metrics defines vlensq's Prometheus metrics. Every label has a
// bounded set of values: task types, classes and categories are fixed lists,
// endpoints are path templates, tenants come from the tenants file, and Vlens
// codes are capped (see Code). No secret or payload value is ever a label.
package metrics

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
)

// MaxCodeLabels bounds the distinct values of the "code" label. Codes beyond
// it are counted under "other", so a misbehaving server cannot blow up the
// series count.
const MaxCodeLabels = 200

// Metrics holds the collectors. The zero value is not usable; call New.
type Metrics struct {
	Registry *prometheus.Registry

	TasksProcessed  *prometheus.CounterVec   // type, class, category, code
	TaskAttempts    *prometheus.HistogramVec // type, status
	TaskDuration    *prometheus.HistogramVec // type, class
	VlensCalls      *prometheus.HistogramVec // endpoint, class
	TokenRefreshes  *prometheus.CounterVec   // kind, result
	RateLimitWaits  *prometheus.CounterVec   // tenant
	DeadLetters     *prometheus.CounterVec   // type, category
	UnknownCodes    *prometheus.CounterVec   // code
	DeadLetterTrims *prometheus.CounterVec   // reason
	Callbacks       *prometheus.CounterVec   // result

	// Fair dispatch (package tenancy).
	TenantWait       *prometheus.HistogramVec // tenant
	TenantDispatched *prometheus.CounterVec   // queue, tenant
	TenantThrottled  *prometheus.CounterVec   // tenant
	TenantEvents     *prometheus.CounterVec   // tenant, event

	mu    sync.Mutex
	codes map[int]struct{}
}

// New registers vlensq's metrics, plus the Go and process collectors, on a
// new registry.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		TasksProcessed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vlensq_tasks_processed_total",
			Help: "Task attempts by type and verdict (class, category, Vlens code).",
		}, []string{"type", "class", "category", "code"}),
		TaskAttempts: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vlensq_task_attempts",
			Help:    "Attempts a task took until its terminal outcome.",
			Buckets: []float64{1, 2, 3, 4, 5, 8, 13},
		}, []string{"type", "status"}),
		TaskDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vlensq_task_duration_seconds",
			Help:    "Handler time per attempt.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 12),
		}, []string{"type", "class"}),
		VlensCalls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vlensq_vlens_call_duration_seconds",
			Help:    "Vlens HTTP call latency by endpoint (path template) and class.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 12),
		}, []string{"endpoint", "class"}),
		TokenRefreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vlensq_token_refreshes_total",
			Help: "Token refreshes and logins by owner kind (tenant, user) and result.",
		}, []string{"kind", "result"}),
		RateLimitWaits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vlensq_rate_limit_waits_total",
			Help: "Calls held back by the per-tenant rate limit.",
		}, []string{"tenant"}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vlensq_dead_letters_total",
			Help: "Tasks dead-lettered by type and category.",
		}, []string{"type", "category"}),
		UnknownCodes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vlensq_unknown_codes_total",
			Help: "Vlens answers whose code or message the classification table does not know.",
		}, []string{"code"}),
		DeadLetterTrims: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vlensq_dead_letter_trimmed_total",
			Help: "Dead-letter records removed by retention, by reason (age, count).",
		}, []string{"reason"}),
		Callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vlensq_callbacks_total",
			Help: "Callback deliveries by result.",
		}, []string{"result"}),
		TenantWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vlensq_tenant_wait_seconds",
			Help:    "Time from when a task became due (enqueue, or a retry's due time) until it started, by tenant.",
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
		}, []string{"tenant"}),
		TenantDispatched: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vlensq_tenant_dispatched_total",
			Help: "Tasks the fair dispatcher started, by queue and tenant.",
		}, []string{"queue", "tenant"}),
		TenantThrottled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vlensq_tenant_throttled_seconds_total",
			Help: "Time tenants with ready work waited for their own rate limit (sum of the waits the limiter asked for).",
		}, []string{"tenant"}),
		TenantEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vlensq_tenant_events_total",
			Help: "Tenant pauses and resumes (event tenant_paused, tenant_resumed); breaker trips are the pauses by \"breaker\".",
		}, []string{"tenant", "event"}),
		codes: map[int]struct{}{},
	}
	m.Registry.MustRegister(
		m.TenantWait, m.TenantDispatched, m.TenantThrottled, m.TenantEvents,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}),
		m.TasksProcessed, m.TaskAttempts, m.TaskDuration, m.VlensCalls, m.TokenRefreshes,
		m.RateLimitWaits, m.DeadLetters, m.UnknownCodes, m.DeadLetterTrims, m.Callbacks,
	)
	return m
}

// Code renders a Vlens code as a bounded label value: "" for none, the number
// for the first MaxCodeLabels distinct codes seen, "other" after that.
func (m *Metrics) Code(code int) string {
	if code == 0 {
		return ""
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.codes[code]; !ok {
		if len(m.codes) >= MaxCodeLabels {
			return "other"
		}
		m.codes[code] = struct{}{}
	}
	return strconv.Itoa(code)
}

// Observe records v in o, with the trace id of sc as the observation's
// exemplar when sc is sampled (so that a latency bucket links to a trace in
// the OpenMetrics exposition). Without a sampled trace it is o.Observe(v).
func Observe(o prometheus.Observer, v float64, sc trace.SpanContext) {
	if sc.IsValid() && sc.IsSampled() {
		if eo, ok := o.(prometheus.ExemplarObserver); ok {
			eo.ObserveWithExemplar(v, prometheus.Labels{"trace_id": sc.TraceID().String()})
			return
		}
	}
	o.Observe(v)
}
