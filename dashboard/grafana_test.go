package dashboard

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/vlensq/vlensq/internal/metrics"
)

var (
	metricName = regexp.MustCompile(`vlensq_[a-z0-9_]+`)
	descName   = regexp.MustCompile(`fqName: "([^"]+)"`)
)

// knownMetrics lists the metric names the dashboard's collectors and the
// worker metrics (internal/metrics) expose.
func knownMetrics(t *testing.T) map[string]bool {
	t.Helper()
	known := map[string]bool{}
	ch := make(chan *prometheus.Desc, 100)
	m := metrics.New()
	v := reflect.ValueOf(m).Elem()
	for i := range v.NumField() {
		if !v.Type().Field(i).IsExported() {
			continue
		}
		if c, ok := v.Field(i).Interface().(prometheus.Collector); ok {
			c.Describe(ch)
		}
	}
	NewCollector(nil, nil, 0, zerolog.Nop()).Describe(ch)
	prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vlensq_dashboard_auth_failures_total"}, []string{"method"}).Describe(ch)
	close(ch)
	for d := range ch {
		if m := descName.FindStringSubmatch(d.String()); m != nil {
			known[m[1]] = true
		}
	}
	return known
}

func TestGrafanaDashboardUsesRealMetrics(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../deploy/grafana/vlensq.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("deploy/grafana/vlensq.json is not valid JSON: %v", err)
	}
	known := knownMetrics(t)
	used := map[string]bool{}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, name := range metricName.FindAllString(tg.Expr, -1) {
				base := name
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if b, ok := strings.CutSuffix(name, suffix); ok && known[b] {
						base = b
					}
				}
				if !known[base] {
					t.Errorf("panel %q queries %s, which no collector exposes", p.Title, name)
				}
				used[base] = true
			}
		}
	}
	for _, want := range []string{
		"vlensq_queue_size", "vlensq_queue_latency_seconds", "vlensq_queue_processed_total", "vlensq_queue_failed_total",
		"vlensq_dead_letter_records", "vlensq_tasks_processed_total", "vlensq_task_duration_seconds", "vlensq_dead_letters_total",
		"vlensq_tenant_backlog", "vlensq_tenant_ready", "vlensq_tenant_running", "vlensq_tenant_paused", "vlensq_tenant_oldest_waiting_seconds", "vlensq_tenant_events_total",
	} {
		if !used[want] {
			t.Errorf("the Grafana dashboard does not chart %s", want)
		}
	}
}
