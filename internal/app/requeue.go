package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/flows"
	"github.com/vlensq/vlensq/handlers"
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
	return func(ctx context.Context, rec *deadletter.Record, payload []byte, newTaskID string) error {
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
		_, err = a.Tasks.Enqueue(ctx, rec.Type, p, tasks.EnqueueOptions{Queue: rec.Queue, ID: newTaskID})
		if errors.Is(err, tasks.ErrDuplicateID) {
			return fmt.Errorf("%w: %w", deadletter.ErrTaskExists, err)
		}
		return err
	}
}
