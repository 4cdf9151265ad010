package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
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
