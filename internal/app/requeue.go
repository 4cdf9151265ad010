package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/vlensq/vlensq/deadletter"
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
func (a *App) RequeueFunc() func(ctx context.Context, rec *deadletter.Record, payload []byte, newTaskID string) error {
	return func(ctx context.Context, rec *deadletter.Record, payload []byte, newTaskID string) error {
		st, _, ended, err := a.Outcomes.Seen(ctx, newTaskID)
		if err != nil {
			return fmt.Errorf("check the outcome of %s: %w", newTaskID, err)
		}
		if ended {
			return fmt.Errorf("%w: task %s already ended (%s)", deadletter.ErrTaskExists, newTaskID, st)
		}
		p, err := tasks.DecodePayload(payload)
		if err != nil {
			return fmt.Errorf("original payload of %s: %w", rec.ID, err)
		}
		if err := tasks.CheckRequeue(rec.Type, p); err != nil {
			return err
		}
		_, err = a.Tasks.Enqueue(ctx, rec.Type, p, tasks.EnqueueOptions{Queue: rec.Queue, ID: newTaskID})
		if errors.Is(err, tasks.ErrDuplicateID) {
			return fmt.Errorf("%w: %w", deadletter.ErrTaskExists, err)
		}
		return err
	}
}
