package app

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/internal/tracing"
	"github.com/vlensq/vlensq/tasks"
)

// RequeueFunc returns the enqueue step of a dead-letter requeue: the
// record's original payload goes back on its original queue under
// newTaskID. It is validated again, and its claim-checked images must still
// exist (their TTL is extended); an expired image is reported, not enqueued.
func (a *App) RequeueFunc() func(ctx context.Context, rec *deadletter.Record, payload []byte, newTaskID string) error {
	return func(ctx context.Context, rec *deadletter.Record, payload []byte, newTaskID string) (err error) {
		p, err := tasks.DecodePayload(payload)
		if err != nil {
			return fmt.Errorf("original payload of %s: %w", rec.ID, err)
		}
		// The new task's spans link to the attempt that dead-lettered the
		// original (its trace stays reachable from the new one); with tracing
		// on, they are children of a requeue span, itself linked too.
		opts := tasks.EnqueueOptions{Queue: rec.Queue, ID: newTaskID, Link: linkOf(rec)}
		if a.tracer != nil {
			var span trace.Span
			ctx, span = a.tracer.Tracer(tracing.ScopeName).Start(ctx, tracing.SpanRequeue, trace.WithSpanKind(trace.SpanKindProducer),
				trace.WithAttributes(tracing.AttrType.String(rec.Type), tracing.AttrTenant.String(rec.Tenant),
					tracing.AttrQueue.String(rec.Queue), tracing.AttrDeadLetter.String(rec.ID)),
				trace.WithLinks(links(opts.Link)...))
			defer func() { tracing.End(span, err) }()
		}
		_, err = a.Tasks.Enqueue(ctx, rec.Type, p, opts)
		return err
	}
}

// linkOf returns the record's traceparent when it is a valid one (records
// written before tracing, or edited by hand, have none).
func linkOf(rec *deadletter.Record) string {
	if _, err := tracing.ParseTraceparent(rec.Traceparent); err != nil {
		return ""
	}
	return rec.Traceparent
}

func links(traceparent string) []trace.Link {
	sc, err := tracing.ParseTraceparent(traceparent)
	if err != nil {
		return nil
	}
	return []trace.Link{{SpanContext: sc, Attributes: []attribute.KeyValue{tracing.AttrLinkKind.String("requeued_from")}}}
}
