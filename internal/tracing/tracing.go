// Package tracing is vlensq's OpenTelemetry tracing: the W3C trace context
// that travels in asynq task headers, the worker middleware that opens one
// "vlensq.process" span per attempt, the small helpers the other packages
// use to open child spans, the recorder through which the handler reports
// its verdict to the middleware, the zerolog hook that puts trace_id and
// span_id on log lines, and the set-up from the standard OTEL_* environment
// variables.
//
// Tracing is off unless the environment asks for it. Off, nothing here
// starts a span: Start returns at once when the context carries no
// recording span, and the worker is not wrapped in the middleware at all.
//
// Span attributes hold identifiers and verdicts only: task type, tenant name,
// queue, attempt, class, category, Vlens code, HTTP method and URL. Never a
// header, a body, a token, a password, an API key or an image.
//
// This package imports no other vlensq package, so that every one of them
// (vlens, tasks, handlers) can use it.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of vlensq's spans.
const ScopeName = "github.com/vlensq/vlensq"

// Task header names. asynq keeps a task's headers across retries; they are
// not part of the payload.
const (
	// HeaderTraceparent and HeaderTracestate carry the producer's W3C trace
	// context: the attempts' spans are its children.
	HeaderTraceparent = "traceparent"
	HeaderTracestate  = "tracestate"
	// HeaderLink is the traceparent of a span the attempts link to without
	// being its children: a requeued task links to the attempt that
	// dead-lettered the original.
	HeaderLink = "vlensq-link"
	// HeaderReadyAt is when the task became due (enqueue time plus its
	// delay), in Unix milliseconds: the first attempt's queue wait counts
	// from it.
	HeaderReadyAt = "vlensq-ready-at"
)

// Span names.
const (
	SpanProcess       = "vlensq.process"
	SpanTokenRefresh  = "vlens.token_refresh"
	SpanRateLimitWait = "vlens.rate_limit_wait"
	// SpanFairWait is the time a task waited in its tenant's hold for its
	// turn (package tenancy): from when it became due to the attempt.
	SpanFairWait       = "vlensq.fair_wait"
	SpanDeadLetter     = "vlensq.dead_letter.write"
	SpanOutcomePublish = "vlensq.outcome.publish"
	SpanRequeue        = "vlensq.requeue"
)

// Attribute keys of vlensq's spans.
const (
	AttrType        = attribute.Key("vlensq.task.type")
	AttrTaskID      = attribute.Key("vlensq.task.id")
	AttrTenant      = attribute.Key("vlensq.tenant")
	AttrQueue       = attribute.Key("vlensq.queue")
	AttrAttempt     = attribute.Key("vlensq.attempt")
	AttrClass       = attribute.Key("vlensq.class")
	AttrCategory    = attribute.Key("vlensq.category")
	AttrErrorCode   = attribute.Key("vlensq.error_code")
	AttrQueueWaitMS = attribute.Key("vlensq.queue_wait_ms")
	AttrAgeMS       = attribute.Key("vlensq.task_age_ms")
	AttrStatus      = attribute.Key("vlensq.outcome.status")
	AttrDeadLetter  = attribute.Key("vlensq.dead_letter.id")
	AttrTokenKind   = attribute.Key("vlens.token.kind")
	AttrWaitMS      = attribute.Key("vlens.rate_limit.wait_ms")
	AttrLinkKind    = attribute.Key("vlensq.link")
)

// Propagator is the only propagation format vlensq reads and writes: W3C
// trace context. (Baggage is not carried: it could hold personal data.)
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}

// Start opens a child span of the span in ctx, named name, when that span is
// recording (it came from a configured tracer provider and is sampled);
// otherwise it returns ctx and its non-recording span, at no cost. The child
// uses the parent's tracer provider, so no global state is needed. Callers
// end the span with End.
func Start(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, parent
	}
	return parent.TracerProvider().Tracer(ScopeName).Start(ctx, name, trace.WithAttributes(attrs...))
}

// End ends span, marking it failed when err is not nil. The error's text
// goes in the status description: callers pass errors whose text is safe
// (vlensq's errors never hold bodies or secrets).
func End(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// Recording reports whether ctx carries a recording span.
func Recording(ctx context.Context) bool { return trace.SpanFromContext(ctx).IsRecording() }

// RecordWait records a finished wait from since to now as a child span
// name of the span in ctx, with its length in AttrWaitMS. It costs nothing
// when ctx is not traced.
func RecordWait(ctx context.Context, name string, since time.Time, attrs ...attribute.KeyValue) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return
	}
	now := time.Now()
	attrs = append(attrs, AttrWaitMS.Int64(now.Sub(since).Milliseconds()))
	_, span := parent.TracerProvider().Tracer(ScopeName).Start(ctx, name, trace.WithTimestamp(since), trace.WithAttributes(attrs...))
	span.End(trace.WithTimestamp(now))
}

// IDs returns the trace id and the W3C traceparent of the span in ctx, or
// empty strings when there is none.
func IDs(ctx context.Context) (traceID, traceparent string) {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return "", ""
	}
	return sc.TraceID().String(), Traceparent(sc)
}

// Traceparent renders sc as a W3C traceparent header value.
func Traceparent(sc trace.SpanContext) string {
	return fmt.Sprintf("00-%s-%s-%s", sc.TraceID(), sc.SpanID(), sc.TraceFlags())
}

// ErrTraceparent reports a value that is not a W3C traceparent.
var ErrTraceparent = errors.New(`not a W3C traceparent ("00-" + 32 hex digits of trace id + "-" + 16 hex digits of parent id + "-" + 2 hex digits of flags)`)

// ParseTraceparent checks a traceparent header value and returns its span
// context (remote). The error wraps ErrTraceparent.
func ParseTraceparent(v string) (trace.SpanContext, error) {
	sc := trace.SpanContextFromContext(Propagator.Extract(context.Background(), propagation.MapCarrier{HeaderTraceparent: v}))
	if !sc.IsValid() {
		return trace.SpanContext{}, ErrTraceparent
	}
	return sc, nil
}

// Headers returns the task headers that carry the trace context: the span
// in ctx (or traceparent, when given, which wins), the link (a traceparent,
// may be empty) and readyAt. It returns nil when there is no trace context
// and no link, so that untraced tasks carry no headers at all. traceparent
// and link must have been checked with ParseTraceparent.
func Headers(ctx context.Context, traceparent, link string, readyAt time.Time) map[string]string {
	var h map[string]string
	if traceparent != "" {
		h = map[string]string{HeaderTraceparent: traceparent}
	} else if trace.SpanContextFromContext(ctx).IsValid() {
		h = make(map[string]string, 4)
		Propagator.Inject(ctx, propagation.MapCarrier(h))
	}
	if link != "" {
		if h == nil {
			h = make(map[string]string, 2)
		}
		h[HeaderLink] = link
	}
	if h != nil {
		h[HeaderReadyAt] = strconv.FormatInt(readyAt.UnixMilli(), 10)
	}
	return h
}
