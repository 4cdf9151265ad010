package outcome

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// TenantEvent is an entry of the outcome stream about a tenant rather than
// a task: "tenant_paused" or "tenant_resumed". It has no task_id, so a
// reader that looks only at task outcomes (entries with a task_id) skips
// it.
type TenantEvent struct {
	Event  string
	Tenant string
	At     time.Time
	// By is who paused or resumed: "breaker" or an operator's name.
	By     string
	Reason string
	// Cause is the breaker's cause as JSON (code, message, category,
	// dead-letter id); empty for a pause by hand.
	Cause string
}

// PublishTenantEvent appends e to the outcome stream.
func (p *Publisher) PublishTenantEvent(ctx context.Context, e TenantEvent) error {
	if e.At.IsZero() {
		e.At = p.cfg.Now()
	}
	fields := []any{"event", e.Event, "tenant", e.Tenant, "at", e.At.UTC().Format(time.RFC3339Nano)}
	for _, kv := range [][2]string{{"by", e.By}, {"reason", e.Reason}, {"cause", e.Cause}} {
		if kv[1] != "" {
			fields = append(fields, kv[0], kv[1])
		}
	}
	err := p.rdb.XAdd(ctx, &redis.XAddArgs{Stream: p.cfg.Stream, MaxLen: p.cfg.MaxLen, Approx: true, Values: fields}).Err()
	if err != nil {
		return fmt.Errorf("outcome: publish %s of tenant %s: %w", e.Event, e.Tenant, err)
	}
	return nil
}
