package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/otel/trace"
)

func TestCodeLabelIsBounded(t *testing.T) {
	t.Parallel()
	m := New()
	if got := m.Code(0); got != "" {
		t.Errorf("Code(0) = %q", got)
	}
	for i := 1; i <= MaxCodeLabels; i++ {
		if got := m.Code(i); got == "other" {
			t.Fatalf("code %d became other before the cap", i)
		}
	}
	if got := m.Code(MaxCodeLabels + 1); got != "other" {
		t.Errorf("code past the cap = %q, want other", got)
	}
	if got := m.Code(1); got != "1" {
		t.Errorf("a code seen before the cap = %q, want 1", got)
	}
}

func TestRegistryExposesMetrics(t *testing.T) {
	t.Parallel()
	m := New()
	m.TasksProcessed.WithLabelValues("ocr:id_front", "permanent", "identity_verification", m.Code(3011)).Inc()
	n, err := testutil.GatherAndCount(m.Registry, "vlensq_tasks_processed_total")
	if err != nil || n != 1 {
		t.Fatalf("gathered %d series, err %v", n, err)
	}
	err = testutil.GatherAndCompare(m.Registry, strings.NewReader(`
# HELP vlensq_tasks_processed_total Task attempts by type and verdict (class, category, Vlens code).
# TYPE vlensq_tasks_processed_total counter
vlensq_tasks_processed_total{category="identity_verification",class="permanent",code="3011",type="ocr:id_front"} 1
`), "vlensq_tasks_processed_total")
	if err != nil {
		t.Fatal(err)
	}
}

func TestLatencyExemplarNamesTheTrace(t *testing.T) {
	t.Parallel()
	m := New()
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	sampled := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
	Observe(m.TaskDuration.WithLabelValues("ocr:id_front", "success"), 0.3, sampled)
	Observe(m.TaskDuration.WithLabelValues("ocr:id_front", "permanent"), 0.3, trace.SpanContext{})
	Observe(m.VlensCalls.WithLabelValues("/v1/ocr/id/front", "success"), 0.2, sampled.WithTraceFlags(0))

	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	exemplars := map[string]string{} // class or endpoint -> trace id
	count := map[string]uint64{}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			h := mt.GetHistogram()
			if h == nil || !strings.HasPrefix(mf.GetName(), "vlensq_") {
				continue
			}
			key := mf.GetName()
			for _, lp := range mt.GetLabel() {
				if lp.GetName() == "class" {
					key += "/" + lp.GetValue()
				}
			}
			count[key] = h.GetSampleCount()
			for _, b := range h.GetBucket() {
				if e := b.GetExemplar(); e != nil {
					for _, lp := range e.GetLabel() {
						exemplars[key] = lp.GetName() + "=" + lp.GetValue()
					}
				}
			}
		}
	}
	if got := exemplars["vlensq_task_duration_seconds/success"]; got != "trace_id=4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("exemplar of a traced observation = %q", got)
	}
	for _, k := range []string{"vlensq_task_duration_seconds/permanent", "vlensq_vlens_call_duration_seconds/success"} {
		if count[k] != 1 {
			t.Errorf("%s: %d observations, want 1", k, count[k])
		}
		if got, ok := exemplars[k]; ok {
			t.Errorf("%s: exemplar %q for an untraced (or unsampled) observation", k, got)
		}
	}
}
