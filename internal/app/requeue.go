package app

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/flows"
	"github.com/vlensq/vlensq/handlers"
	"github.com/vlensq/vlensq/internal/tracing"
	"github.com/vlensq/vlensq/tasks"
)

// RequeueFunc returns the enqueue step of a dead-letter requeue: the
// record's original payload goes back on its original queue under
// newTaskID. It is validated again, and its claim-checked images must still
// exist (their TTL is extended); an expired image is reported, not enqueued.
//
// A requeue interrupted between its enqueue and its note on the record is
// finished by the next run: when a task with newTaskID is still in asynq
// (tasks.ErrDuplicateID), or has already ended (its outcome marker exists,
// though asynq may have dropped the task after its retention), the error
// wraps deadletter.ErrTaskExists and Requeue records the requeue instead of
// enqueueing the task a second time.
//
// A business:validate_otp task is refused with a *tasks.SingleUseError: its
// OTP code was not kept, the customer needs a fresh one.
//
// A flow task (verify:identity) resumes at the step that failed: the steps
// that had succeeded, and the transaction_id, are written to the new task's
// step journal first.
func (a *App) RequeueFunc() func(ctx context.Context, rec *deadletter.Record, payload []byte, newTaskID string) error {
	return a.requeueFunc(false)
}

// RestartFunc is RequeueFunc that starts a flow task again from its first
// step, with a new transaction_id unless the payload names one (Vlens's
// resolution for "transaction not found": restart from verify/id/front).
// Single-call tasks are requeued as RequeueFunc does.
func (a *App) RestartFunc() func(ctx context.Context, rec *deadletter.Record, payload []byte, newTaskID string) error {
	return a.requeueFunc(true)
}

func (a *App) requeueFunc(restart bool) func(ctx context.Context, rec *deadletter.Record, payload []byte, newTaskID string) error {
	return func(ctx context.Context, rec *deadletter.Record, payload []byte, newTaskID string) (err error) {
		st, _, ended, err := a.Outcomes.Seen(ctx, newTaskID)
		if err != nil {
			return fmt.Errorf("check the outcome of %s: %w", newTaskID, err)
		}
		if ended {
			return fmt.Errorf("%w: task %s already ended (%s)", deadletter.ErrTaskExists, newTaskID, st)
		}
		payload, flowState, err := flows.Unpack(payload)
		if err != nil {
			return fmt.Errorf("original payload of %s: %w", rec.ID, err)
		}
		p, err := tasks.DecodePayload(payload)
		if err != nil {
			return fmt.Errorf("original payload of %s: %w", rec.ID, err)
		}
		if err := tasks.CheckRequeue(rec.Type, p); err != nil {
			return err
		}
		if flowState != nil && !restart {
			// Before the enqueue, so the new task finds it when it starts.
			if err := flows.Seed(ctx, a.Redis.Client, newTaskID, flowState, handlers.JournalTTLDefault); err != nil {
				return err
			}
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
		if errors.Is(err, tasks.ErrDuplicateID) {
			return fmt.Errorf("%w: %w", deadletter.ErrTaskExists, err)
		}
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
