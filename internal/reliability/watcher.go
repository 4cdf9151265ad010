package reliability

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vlensq/vlensq/outcome"
)

// streamTail returns the id of the newest outcome entry, "0" when the stream
// is empty: entries after it are new.
func streamTail(ctx context.Context, rdb redis.UniversalClient) (string, error) {
	msgs, err := rdb.XRevRangeN(ctx, outcome.Stream, "+", "-", 1).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("reliability: read outcome stream: %w", err)
	}
	if len(msgs) == 0 {
		return "0", nil
	}
	return msgs[0].ID, nil
}

// outcomeWatcher reads the outcome stream from last on and keeps the
// outcomes of the wanted tasks.
type outcomeWatcher struct {
	rdb  redis.UniversalClient
	last string
	want map[string]string // task id → anything
	got  map[string][]outcome.Outcome
}

// poll reads every entry after w.last.
func (w *outcomeWatcher) poll(ctx context.Context) error {
	for {
		msgs, err := w.rdb.XRangeN(ctx, outcome.Stream, "("+w.last, "+", 1000).Result()
		if err != nil {
			return fmt.Errorf("reliability: read outcome stream: %w", err)
		}
		for _, m := range msgs {
			w.last = m.ID
			o := outcome.FromFields(m.Values)
			if _, ok := w.want[o.TaskID]; ok {
				w.got[o.TaskID] = append(w.got[o.TaskID], o)
			}
		}
		if len(msgs) < 1000 {
			return nil
		}
	}
}

// waitAll polls until every wanted task has an outcome or ctx ends.
func (w *outcomeWatcher) waitAll(ctx context.Context, progress func(done, total int)) error {
	lastReport := time.Time{}
	for {
		if err := w.poll(ctx); err != nil {
			return err
		}
		if progress != nil && time.Since(lastReport) >= 200*time.Millisecond {
			progress(len(w.got), len(w.want))
			lastReport = time.Now()
		}
		if len(w.got) >= len(w.want) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("reliability: %d of %d tasks ended before the deadline: %w", len(w.got), len(w.want), ctx.Err())
		case <-time.After(25 * time.Millisecond):
		}
	}
}
