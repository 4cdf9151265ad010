package app

import (
	"context"
	"fmt"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/tasks"
)

// RequeueFunc returns the enqueue step of a dead-letter requeue: the
// record's original payload goes back on its original queue under
// newTaskID. It is validated again, and its claim-checked images must still
// exist (their TTL is extended); an expired image is reported, not enqueued.
// A business:validate_otp task is refused with a *tasks.SingleUseError: its
// OTP code was not kept, the customer needs a fresh one.
func (a *App) RequeueFunc() func(ctx context.Context, rec *deadletter.Record, payload []byte, newTaskID string) error {
	return func(ctx context.Context, rec *deadletter.Record, payload []byte, newTaskID string) error {
		p, err := tasks.DecodePayload(payload)
		if err != nil {
			return fmt.Errorf("original payload of %s: %w", rec.ID, err)
		}
		if err := tasks.CheckRequeue(rec.Type, p); err != nil {
			return err
		}
		_, err = a.Tasks.Enqueue(ctx, rec.Type, p, tasks.EnqueueOptions{Queue: rec.Queue, ID: newTaskID})
		return err
	}
}
