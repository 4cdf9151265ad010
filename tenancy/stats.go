package tenancy

import (
	"context"
	"fmt"
)

// Backlog returns how many tasks of tenant are held in queue.
func (s *Scheduler) Backlog(ctx context.Context, queue, tenant string) (int64, error) {
	n, err := s.rdb.ZCard(ctx, holdKey(queue, tenant)).Result()
	if err != nil {
		return 0, fmt.Errorf("tenancy: backlog of %s in %s: %w", tenant, queue, err)
	}
	return n, nil
}

// DropQueue forgets every task held in queue (after asynq's queue itself
// was deleted): the hold sets of its tenants and the due set.
func (s *Scheduler) DropQueue(ctx context.Context, queue string) error {
	tenants, err := s.rdb.ZRange(ctx, dueKey(queue), 0, -1).Result()
	if err != nil {
		return fmt.Errorf("tenancy: drop queue %s: %w", queue, err)
	}
	keys := []string{dueKey(queue)}
	for _, t := range tenants {
		keys = append(keys, holdKey(queue, t))
	}
	for _, k := range keys {
		if err := s.rdb.Del(ctx, k).Err(); err != nil {
			return fmt.Errorf("tenancy: drop queue %s: %w", queue, err)
		}
	}
	return nil
}
