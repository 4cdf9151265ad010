package tasks

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/hibiken/asynq"
)

// BatchItem is one task of EnqueueBatch.
type BatchItem struct {
	Type    string
	Payload *Payload
	Options EnqueueOptions
}

// BatchResult is the outcome of one BatchItem: Info when it was enqueued,
// else Err (a *ValidationError for bad input, an error matching
// ErrDuplicateID, a Redis error, or the context's error when the batch was
// cancelled before the item was tried).
type BatchResult struct {
	// Index is the item's index in the batch.
	Index int
	Info  *asynq.TaskInfo
	Err   error
}

// EnqueueBatch enqueues items concurrently (ClientConfig.BatchConcurrency
// at a time; asynq v0.26 has no batch API, so each is its own enqueue, and
// automatic pipelining sends them together: see ClientConfig.NoBatchPipelining)
// and returns one result per item, in item order. A bad item never stops the
// others.
func (c *Client) EnqueueBatch(ctx context.Context, items []BatchItem) []BatchResult {
	results := make([]BatchResult, len(items))
	bc, err := c.batch()
	if err == nil && bc.aq != c.aq && len(items) > 0 {
		// The pipelined client waits out go-redis's dial retries and
		// timeouts per batch, whatever ctx says: ask Redis first, on ctx, so
		// that a Redis that is down or unreachable fails the batch at once.
		if perr := c.rdb.Ping(ctx).Err(); perr != nil {
			err = fmt.Errorf("tasks: enqueue batch: redis: %w", perr)
		}
	}
	if err != nil {
		for i := range results {
			results[i] = BatchResult{Index: i, Err: err}
		}
		return results
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(c.cfg.BatchConcurrency, len(items)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(items) {
					return
				}
				results[i].Index = i
				if err := ctx.Err(); err != nil {
					results[i].Err = err
					continue
				}
				it := items[i]
				results[i].Info, results[i].Err = c.enqueue(ctx, bc.aq, bc.sc, it.Type, it.Payload, it.Options)
			}
		})
	}
	wg.Wait()
	return results
}
