package dashboard

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vlensq/vlensq/internal/metrics"
	"github.com/vlensq/vlensq/internal/redistest"
)

func TestCappedCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		in   map[int]int64
		max  int
		want map[string]int64
	}{
		{"empty", map[int]int64{}, 3, map[string]int64{}},
		{"under the cap", map[int]int64{3011: 5, 0: 1}, 3, map[string]int64{"3011": 5, "0": 1}},
		{"over the cap keeps the largest", map[int]int64{1: 1, 2: 9, 3: 5, 4: 2}, 2, map[string]int64{"2": 9, "3": 5, "other": 3}},
		{"ties keep the lower code", map[int]int64{7: 1, 5: 1, 6: 1}, 1, map[string]int64{"5": 1, "other": 2}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if d := cmp.Diff(tt.want, cappedCodes(tt.in, tt.max)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestMetricsEndpoint(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	b := setup(t, func(c *Config) { c.Metrics = m })
	mixedRecords(b)
	client := asynq.NewClient(redistest.Opt(t, redistest.DBDashboard))
	defer client.Close()
	q := unique("metrics")
	for range 3 {
		if _, err := client.Enqueue(asynq.NewTask("ocr:id_front", []byte(`{}`)), asynq.Queue(q)); err != nil {
			t.Fatal(err)
		}
	}
	m.DeadLetters.WithLabelValues("ocr:id_front", "validation").Inc() // a worker metric on the shared registry

	body := b.get("/metrics", http.StatusOK)
	for _, want := range []string{
		`vlensq_queue_size{queue="` + q + `",state="pending"} 3`,
		`vlensq_queue_size{queue="` + q + `",state="archived"} 0`,
		`vlensq_queue_latency_seconds{queue="` + q + `"}`,
		`vlensq_queue_processed_total{queue="` + q + `"} 0`,
		`vlensq_collector_up{source="queues"} 1`,
		`vlensq_collector_up{source="dead_letters"} 1`,
		"vlensq_dead_letter_records 9",
		"vlensq_dead_letter_records_retries_exhausted 1",
		`vlensq_dead_letter_records_by_category{category="validation"} 2`,
		`vlensq_dead_letter_records_by_code{code="3011"} 6`,
		`vlensq_dead_letter_records_by_class{class="transient"} 1`,
		`vlensq_dead_letter_records_by_tenant{tenant="` + b.tenant + `"} 8`,
		`vlensq_dead_letters_total{category="validation",type="ocr:id_front"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "CANARY") || strings.Contains(body, canarySecret) {
		t.Error("a payload value became a label")
	}
	if n, err := testutil.GatherAndCount(m.Registry, "vlensq_dashboard_auth_failures_total"); err != nil || n != 0 {
		t.Errorf("auth failures before any: %d %v", n, err)
	}

	// Close removes the dashboard's collectors, so another dashboard can
	// register on the same registry.
	if err := b.d.Close(); err != nil {
		t.Fatal(err)
	}
	d2, err := New(Config{Redis: b.redis, DLQ: b.store, Token: testToken, ReadOnly: true, Metrics: m})
	if err != nil {
		t.Fatalf("a second dashboard on the registry after Close: %v", err)
	}
	d2.Close()
}
