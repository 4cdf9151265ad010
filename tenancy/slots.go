package tenancy

import (
	"context"
	"sync/atomic"

	"github.com/hibiken/asynq"
)

// Slots counts the busy worker slots of one process, so that its dispatcher
// moves to pending only as many tasks as the process can start.
type Slots struct {
	size  int64
	busy  atomic.Int64
	freed chan struct{}
}

// NewSlots returns the slots of a process that runs size tasks at once (its
// asynq Concurrency).
func NewSlots(size int) *Slots {
	return &Slots{size: int64(size), freed: make(chan struct{}, 1)}
}

// Free returns how many slots are free now.
func (s *Slots) Free() int { return int(max(s.size-s.busy.Load(), 0)) }

// Wrap counts h's tasks as busy slots and wakes the dispatcher when one
// ends.
func (s *Slots) Wrap(h asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		s.busy.Add(1)
		defer func() {
			s.busy.Add(-1)
			select {
			case s.freed <- struct{}{}:
			default:
			}
		}()
		return h.ProcessTask(ctx, t)
	})
}
