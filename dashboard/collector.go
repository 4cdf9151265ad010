package dashboard

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/internal/metrics"
	"github.com/vlensq/vlensq/tenancy"
)

// QueueStates are the values of the "state" label of vlensq_queue_size.
var QueueStates = []string{"pending", "active", "scheduled", "retry", "archived", "completed", "aggregating"}

// Collector is a prometheus.Collector that reads asynq's queues (through
// the Inspector) and the dead-letter store at every scrape. Run one per
// deployment (the dashboard does): the values are global, not per process.
//
// Labels are queue names (configured by operators), the fixed dead-letter
// dimensions (category, class, task type, tenant from the tenants file) and
// Vlens codes capped at metrics.MaxCodeLabels values (the rest is "other").
type Collector struct {
	insp    *asynq.Inspector
	dlq     *deadletter.Store
	timeout time.Duration
	log     zerolog.Logger

	up, queueSize, queueLatency, queueMemory, queuePaused, processed, failed *prometheus.Desc
	dlqTotal, dlqExhausted, dlqOldest                                        *prometheus.Desc
	dlqCategory, dlqClass, dlqType, dlqTenant, dlqCode                       *prometheus.Desc

	tenants                                                               TenantLister
	tenantBacklog, tenantReady, tenantRunning, tenantPaused, tenantOldest *prometheus.Desc
}

// TenantLister lists the tenants with their state and backlog; a
// *tenancy.Scheduler is one.
type TenantLister interface {
	List(ctx context.Context) ([]tenancy.Status, error)
}

// SetTenants makes the collector report the per-tenant metrics
// (vlensq_tenant_backlog and the rest) from l at every scrape. Call it
// before the collector is registered.
func (c *Collector) SetTenants(l TenantLister) { c.tenants = l }

// NewCollector returns a collector over insp and dlq; each scrape takes at
// most timeout (ScrapeTimeoutDefault when 0). log receives scrape failures.
func NewCollector(insp *asynq.Inspector, dlq *deadletter.Store, timeout time.Duration, log zerolog.Logger) *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &Collector{
		insp: insp, dlq: dlq, timeout: cmp.Or(timeout, ScrapeTimeoutDefault), log: log,
		up:           d("vlensq_collector_up", "1 when the last scrape of the source (queues, dead_letters, tenants) succeeded, else 0.", "source"),
		queueSize:    d("vlensq_queue_size", "Tasks in an asynq queue by state.", "queue", "state"),
		queueLatency: d("vlensq_queue_latency_seconds", "Age of the oldest pending task of the queue.", "queue"),
		queueMemory:  d("vlensq_queue_memory_usage_bytes", "Approximate Redis memory used by the queue and its tasks (sampled).", "queue"),
		queuePaused:  d("vlensq_queue_paused", "1 when the queue is paused.", "queue"),
		processed:    d("vlensq_queue_processed_total", "Tasks processed (succeeded or failed) since the queue exists, from asynq.", "queue"),
		failed:       d("vlensq_queue_failed_total", "Task attempts that failed since the queue exists, from asynq.", "queue"),
		dlqTotal:     d("vlensq_dead_letter_records", "Records in the dead-letter store."),
		dlqExhausted: d("vlensq_dead_letter_records_retries_exhausted", "Dead-letter records of transient failures that used up their attempts."),
		dlqOldest:    d("vlensq_dead_letter_oldest_timestamp_seconds", "failed_at of the oldest dead-letter record (unix seconds); absent when the store is empty."),
		dlqCategory:  d("vlensq_dead_letter_records_by_category", "Dead-letter records by category.", "category"),
		dlqClass:     d("vlensq_dead_letter_records_by_class", "Dead-letter records by class.", "class"),
		dlqType:      d("vlensq_dead_letter_records_by_type", "Dead-letter records by task type.", "type"),
		dlqTenant:    d("vlensq_dead_letter_records_by_tenant", "Dead-letter records by tenant.", "tenant"),
		dlqCode:      d("vlensq_dead_letter_records_by_code", "Dead-letter records by Vlens error code (0: none; capped, the rest is \"other\").", "code"),

		tenantBacklog: d("vlensq_tenant_backlog", "Held tasks of the tenant in all queues: waiting for their turn, their retry time or the end of a pause.", "tenant"),
		tenantReady:   d("vlensq_tenant_ready", "Held tasks of the tenant that are due now.", "tenant"),
		tenantRunning: d("vlensq_tenant_running", "Tasks of the tenant being processed now (asynq's active tasks).", "tenant"),
		tenantPaused:  d("vlensq_tenant_paused", "1 when the tenant is paused (by hand or by the circuit breaker), else 0.", "tenant"),
		tenantOldest:  d("vlensq_tenant_oldest_waiting_seconds", "How long the tenant's oldest held task has been due (0 when none is).", "tenant"),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.up, c.queueSize, c.queueLatency, c.queueMemory, c.queuePaused, c.processed, c.failed,
		c.dlqTotal, c.dlqExhausted, c.dlqOldest, c.dlqCategory, c.dlqClass, c.dlqType, c.dlqTenant, c.dlqCode,
		c.tenantBacklog, c.tenantReady, c.tenantRunning, c.tenantPaused, c.tenantOldest,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. A source (queues, dead_letters,
// tenants) that fails or takes longer than the timeout reports
// vlensq_collector_up 0 and no values; the other sources are still
// reported.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	queues := make(chan []*asynq.QueueInfo, 1)
	go func() { queues <- c.queueInfos() }()
	var tenants chan []tenancy.Status
	if c.tenants != nil {
		tenants = make(chan []tenancy.Status, 1)
		go func() { tenants <- c.tenantList(ctx) }()
	}
	stats, err := c.dlq.Stats(ctx)
	c.emitUp(ch, "dead_letters", err == nil)
	if err == nil {
		c.collectDLQ(ch, stats)
	} else {
		c.log.Error().Err(err).Msg("dashboard: metrics: read dead-letter stats")
	}
	select {
	case infos := <-queues:
		c.emitUp(ch, "queues", infos != nil)
		for _, qi := range infos {
			c.collectQueue(ch, qi)
		}
	case <-ctx.Done():
		c.log.Error().Dur("timeout", c.timeout).Msg("dashboard: metrics: reading queue stats timed out")
		c.emitUp(ch, "queues", false)
	}
	if tenants == nil {
		return
	}
	select {
	case list := <-tenants:
		c.emitUp(ch, "tenants", list != nil)
		c.collectTenants(ch, list, time.Now())
	case <-ctx.Done():
		c.log.Error().Dur("timeout", c.timeout).Msg("dashboard: metrics: reading tenants timed out")
		c.emitUp(ch, "tenants", false)
	}
}

// tenantList lists the tenants; nil on failure.
func (c *Collector) tenantList(ctx context.Context) []tenancy.Status {
	list, err := c.tenants.List(ctx)
	if err != nil {
		c.log.Error().Err(err).Msg("dashboard: metrics: list tenants")
		return nil
	}
	if list == nil {
		list = []tenancy.Status{}
	}
	return list
}

func (c *Collector) collectTenants(ch chan<- prometheus.Metric, list []tenancy.Status, now time.Time) {
	for _, st := range list {
		paused, oldest := 0.0, 0.0
		if st.Pause != nil {
			paused = 1
		}
		if !st.OldestWaiting.IsZero() && st.OldestWaiting.Before(now) {
			oldest = now.Sub(st.OldestWaiting).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(c.tenantBacklog, prometheus.GaugeValue, float64(st.Backlog), st.Tenant)
		ch <- prometheus.MustNewConstMetric(c.tenantReady, prometheus.GaugeValue, float64(st.Ready), st.Tenant)
		ch <- prometheus.MustNewConstMetric(c.tenantRunning, prometheus.GaugeValue, float64(st.Running), st.Tenant)
		ch <- prometheus.MustNewConstMetric(c.tenantPaused, prometheus.GaugeValue, paused, st.Tenant)
		ch <- prometheus.MustNewConstMetric(c.tenantOldest, prometheus.GaugeValue, oldest, st.Tenant)
	}
}

// queueInfos reads every queue; nil on failure. The Inspector takes no
// context, so Collect waits for it with a timeout instead.
func (c *Collector) queueInfos() []*asynq.QueueInfo {
	names, err := c.insp.Queues()
	if err != nil {
		c.log.Error().Err(err).Msg("dashboard: metrics: list queues")
		return nil
	}
	infos := make([]*asynq.QueueInfo, 0, len(names))
	for _, q := range names {
		qi, err := c.insp.GetQueueInfo(q)
		if err != nil {
			c.log.Error().Err(err).Str("queue", q).Msg("dashboard: metrics: read queue")
			return nil
		}
		infos = append(infos, qi)
	}
	return infos
}

func (c *Collector) emitUp(ch chan<- prometheus.Metric, source string, ok bool) {
	v := 0.0
	if ok {
		v = 1
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, v, source)
}

func (c *Collector) collectQueue(ch chan<- prometheus.Metric, qi *asynq.QueueInfo) {
	q := qi.Queue
	sizes := []int{qi.Pending, qi.Active, qi.Scheduled, qi.Retry, qi.Archived, qi.Completed, qi.Aggregating}
	for i, state := range QueueStates {
		ch <- prometheus.MustNewConstMetric(c.queueSize, prometheus.GaugeValue, float64(sizes[i]), q, state)
	}
	ch <- prometheus.MustNewConstMetric(c.queueLatency, prometheus.GaugeValue, qi.Latency.Seconds(), q)
	ch <- prometheus.MustNewConstMetric(c.queueMemory, prometheus.GaugeValue, float64(qi.MemoryUsage), q)
	paused := 0.0
	if qi.Paused {
		paused = 1
	}
	ch <- prometheus.MustNewConstMetric(c.queuePaused, prometheus.GaugeValue, paused, q)
	ch <- prometheus.MustNewConstMetric(c.processed, prometheus.CounterValue, float64(qi.ProcessedTotal), q)
	ch <- prometheus.MustNewConstMetric(c.failed, prometheus.CounterValue, float64(qi.FailedTotal), q)
}

func (c *Collector) collectDLQ(ch chan<- prometheus.Metric, st deadletter.Stats) {
	ch <- prometheus.MustNewConstMetric(c.dlqTotal, prometheus.GaugeValue, float64(st.Total))
	ch <- prometheus.MustNewConstMetric(c.dlqExhausted, prometheus.GaugeValue, float64(st.RetriesExhausted))
	if !st.Oldest.IsZero() {
		ch <- prometheus.MustNewConstMetric(c.dlqOldest, prometheus.GaugeValue, float64(st.Oldest.UnixMilli())/1000)
	}
	for _, dim := range []struct {
		desc *prometheus.Desc
		m    map[string]int64
	}{
		{c.dlqCategory, st.ByCategory}, {c.dlqClass, st.ByClass}, {c.dlqType, st.ByType}, {c.dlqTenant, st.ByTenant},
	} {
		for v, n := range dim.m {
			ch <- prometheus.MustNewConstMetric(dim.desc, prometheus.GaugeValue, float64(n), v)
		}
	}
	for code, n := range cappedCodes(st.ByCode, metrics.MaxCodeLabels) {
		ch <- prometheus.MustNewConstMetric(c.dlqCode, prometheus.GaugeValue, float64(n), code)
	}
}

// cappedCodes keeps the max most frequent codes (ties: lower code first)
// and sums the rest under "other".
func cappedCodes(byCode map[int]int64, max int) map[string]int64 {
	codes := make([]int, 0, len(byCode))
	for code := range byCode {
		codes = append(codes, code)
	}
	slices.SortFunc(codes, func(a, b int) int {
		return cmp.Or(cmp.Compare(byCode[b], byCode[a]), cmp.Compare(a, b))
	})
	out := make(map[string]int64, min(len(codes), max+1))
	for i, code := range codes {
		if i < max {
			out[strconv.Itoa(code)] = byCode[code]
		} else {
			out["other"] += byCode[code]
		}
	}
	return out
}
