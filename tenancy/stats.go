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
