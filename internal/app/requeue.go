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
func (a *App) RequeueFunc() func(ctx context.Context, rec *deadletter.Record, payload []byte, newTaskID string) error {
	return func(ctx context.Context, rec *deadletter.Record, payload []byte, newTaskID string) error {
		p, err := tasks.DecodePayload(payload)
		if err != nil {
			return fmt.Errorf("original payload of %s: %w", rec.ID, err)
		}
		_, err = a.Tasks.Enqueue(ctx, rec.Type, p, tasks.EnqueueOptions{Queue: rec.Queue, ID: newTaskID})
		return err
	}
}
