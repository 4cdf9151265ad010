package handlers_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vlensq/vlensq/handlers"
	"github.com/vlensq/vlensq/internal/metrics"
	"github.com/vlensq/vlensq/outcome"
)

// An unknown code on an HTTP 500 is a server error: retried, and when it
// persists dead-lettered as retries_exhausted with the code visible and
// counted by the unknown-code metric.
func TestUnknownCodeOnServerErrorIsRetriedThenCounted(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorker: true})
	m := metrics.New()
	b.useHandler(t, fastPolicy, func(c *handlers.Config) { c.Metrics = m })
	sc := uniq(t, "http:500:101")
	o := b.waitOutcome(t, b.ocr(t, sc), 15*time.Second)
	if o.Status != outcome.StatusDeadLettered || o.Class != "transient" || o.Category != "unknown" || o.Code != 101 {
		t.Fatalf("outcome = %+v, want dead_lettered transient/unknown code 101", o)
	}
	if rec := b.deadLetter(t, o); !rec.RetriesExhausted || rec.ErrorCode != 101 || rec.HTTPStatus != 500 {
		t.Errorf("record retries_exhausted=%v code=%d http=%d", rec.RetriesExhausted, rec.ErrorCode, rec.HTTPStatus)
	}
	if n := len(b.callsFor(sc)); n != handlers.MaxAttemptsDefault {
		t.Errorf("fake saw %d calls, want %d (retried like any server error)", n, handlers.MaxAttemptsDefault)
	}
	if got := testutil.ToFloat64(m.UnknownCodes.WithLabelValues(m.Code(101))); got != 1 {
		t.Errorf("vlensq_unknown_codes_total{code=101} = %v, want 1", got)
	}
}
