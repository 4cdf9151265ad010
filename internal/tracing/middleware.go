package tracing

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Verdict is what the handler reports about one attempt (see SetVerdict).
// Its class and category are the vlens.Class and vlens.Category strings.
type Verdict struct {
	Tenant   string
	Class    string
	Category string
	Code     int
}

type recorderKey struct{}

// recorder is filled by the handler, read by the middleware once the
// attempt returns.
type recorder struct {
	mu sync.Mutex
	v  Verdict
}

// SetTenant reports the task's tenant (once its payload is decoded) to the
// attempt's span. It does nothing on an untraced attempt.
func SetTenant(ctx context.Context, tenant string) {
	if r, ok := ctx.Value(recorderKey{}).(*recorder); ok {
		r.mu.Lock()
		r.v.Tenant = tenant
		r.mu.Unlock()
	}
}

// SetVerdict reports the attempt's classification (class, category, Vlens
// code) to its span; the last report wins. It does nothing on an untraced
// attempt.
func SetVerdict(ctx context.Context, class, category string, code int) {
	if r, ok := ctx.Value(recorderKey{}).(*recorder); ok {
		r.mu.Lock()
		r.v.Class, r.v.Category, r.v.Code = class, category, code
		r.mu.Unlock()
	}
}

// MiddlewareConfig configures Middleware.
type MiddlewareConfig struct {
	// TracerProvider makes the spans. Default: none (a no-op provider; the
	// middleware then only passes tasks through).
	TracerProvider trace.TracerProvider
	// Now is the clock of the queue wait. Default time.Now.
	Now func() time.Time
}

// Middleware returns the asynq middleware that opens one SpanProcess span
// per attempt: the child of the trace context in the task's headers (or a
// new trace), linked to the span named by HeaderLink (a requeue's original
// attempt). The handler runs under it and reports its verdict through
// SetTenant and SetVerdict. The span status follows the verdict: a
// permanent failure, an exhausted or a transient one and any unclassified
// error are errors; a success and a throttle (which spends no attempt) are
// not.
func Middleware(cfg MiddlewareConfig) asynq.MiddlewareFunc {
	tp := cfg.TracerProvider
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	tracer := tp.Tracer(ScopeName)
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			start := now()
			h := t.Headers()
			ctx = Propagator.Extract(ctx, propagation.MapCarrier(h))
			queue, _ := asynq.GetQueueName(ctx)
			id, _ := asynq.GetTaskID(ctx)
			retried, _ := asynq.GetRetryCount(ctx)
			attrs := []attribute.KeyValue{
				AttrType.String(t.Type()), AttrTaskID.String(id), AttrQueue.String(queue), AttrAttempt.Int(retried + 1),
			}
			if ms, err := strconv.ParseInt(h[HeaderReadyAt], 10, 64); err == nil {
				age := max(start.Sub(time.UnixMilli(ms)), 0).Milliseconds()
				attrs = append(attrs, AttrAgeMS.Int64(age))
				if retried == 0 {
					attrs = append(attrs, AttrQueueWaitMS.Int64(age))
				}
			}
			opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer), trace.WithTimestamp(start), trace.WithAttributes(attrs...)}
			if l := h[HeaderLink]; l != "" {
				if sc, err := ParseTraceparent(l); err == nil {
					opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc, Attributes: []attribute.KeyValue{AttrLinkKind.String("requeued_from")}}))
				}
			}
			ctx, span := tracer.Start(ctx, SpanProcess, opts...)
			rec := &recorder{}
			ctx = context.WithValue(ctx, recorderKey{}, rec)
			defer span.End()

			err := next.ProcessTask(ctx, t)

			rec.mu.Lock()
			v := rec.v
			rec.mu.Unlock()
			if v.Tenant != "" {
				span.SetAttributes(AttrTenant.String(v.Tenant))
			}
			if v.Class != "" {
				span.SetAttributes(AttrClass.String(v.Class), AttrCategory.String(v.Category), AttrErrorCode.Int(v.Code))
			}
			setStatus(span, v, err)
			return err
		})
	}
}

// setStatus maps the verdict to the span status. Descriptions carry the
// class and category only, never an error's text.
func setStatus(span trace.Span, v Verdict, err error) {
	switch {
	case v.Class == "throttled":
		// Backpressure, not a failure: the task waits its turn.
	case v.Class == "success" && err == nil:
		span.SetStatus(codes.Ok, "")
	case v.Class != "" && v.Class != "success":
		span.SetStatus(codes.Error, v.Class+"/"+v.Category)
	case err != nil && !errors.Is(err, asynq.SkipRetry):
		// Redis trouble, a shutdown: asynq retries the attempt.
		span.SetStatus(codes.Error, "attempt failed before a verdict")
	}
}
