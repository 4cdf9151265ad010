package tracing_test

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/vlensq/vlensq/internal/tracing"
)

type ctxKey int

// BenchmarkUntracedAttempt is everything tracing adds to one attempt when it
// is off: the task headers at enqueue, the recorder reports, the child-span
// helpers (token refresh, dead-letter write, outcome publish), the trace ids
// of a dead letter and the exemplar's span context, on a context as deep as
// asynq's.
func BenchmarkUntracedAttempt(b *testing.B) {
	ctx := context.Background()
	for i := range 8 { // asynq's task metadata, deadline, cancel, …
		ctx = context.WithValue(ctx, ctxKey(i), i)
	}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if h := tracing.Headers(ctx, "", "", now); h != nil {
			b.Fatal("headers on an untraced task")
		}
		tracing.SetTenant(ctx, "acme")
		for _, name := range []string{tracing.SpanTokenRefresh, tracing.SpanOutcomePublish} {
			_, s := tracing.Start(ctx, name)
			tracing.End(s, nil)
		}
		tracing.SetVerdict(ctx, "success", "", 0)
		if id, _ := tracing.IDs(ctx); id != "" {
			b.Fatal("trace id without a trace")
		}
		_ = trace.SpanContextFromContext(ctx)
	}
}
