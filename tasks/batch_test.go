package tasks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vlensq/vlensq/internal/redistest"
)

// 1,000 items, some invalid: the valid ones are enqueued, the invalid ones
// reported by index, and a bad item never stops the others; with automatic
// pipelining (the default) and without.
func TestEnqueueBatch(t *testing.T) {
	t.Parallel()
	for _, noPipe := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoBatchPipelining=%v", noPipe), func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(c *ClientConfig) { c.NoBatchPipelining = noPipe })
			testEnqueueBatch(t, b)
		})
	}
}

func testEnqueueBatch(t *testing.T, b *testBundle) {
	ctx := context.Background()
	items := make([]BatchItem, 1000)
	wantBad := map[int]string{} // index -> field of the expected ValidationError
	var wantIDs []string
	for i := range items {
		p := validPayload(t, TypeOCRAML)
		id := fmt.Sprintf("batch-%04d", i)
		typ := TypeOCRAML
		switch {
		case i%97 == 5:
			p.Tenant = "initech"
			wantBad[i] = "tenant"
		case i%89 == 7:
			typ = "ocr:nope"
			wantBad[i] = "type"
		case i%83 == 11:
			p.Name = ""
			wantBad[i] = "payload.name"
		case i%79 == 13:
			p = nil
			wantBad[i] = "payload"
		default:
			wantIDs = append(wantIDs, id)
		}
		items[i] = BatchItem{Type: typ, Payload: p, Options: EnqueueOptions{ID: id}}
	}
	// Two items share an id: exactly one of them is enqueued.
	items[999].Options.ID = items[998].Options.ID
	wantIDs = slices.DeleteFunc(wantIDs, func(id string) bool { return id == "batch-0999" })

	results := b.client.EnqueueBatch(ctx, items)
	if len(results) != len(items) {
		t.Fatalf("%d results for %d items", len(results), len(items))
	}
	dups := 0
	for i, r := range results {
		if r.Index != i {
			t.Fatalf("results[%d].Index = %d", i, r.Index)
		}
		field, bad := wantBad[i]
		switch {
		case bad:
			if r.Err == nil || r.Info != nil {
				t.Errorf("item %d: invalid item enqueued", i)
				continue
			}
			if ve := asValidation(t, r.Err); ve.Field != field {
				t.Errorf("item %d: error on %q, want %q: %v", i, ve.Field, field, r.Err)
			}
		case errors.Is(r.Err, ErrDuplicateID):
			dups++
		case r.Err != nil:
			t.Errorf("item %d: %v", i, r.Err)
		case r.Info.ID != items[i].Options.ID:
			t.Errorf("item %d: task id %q", i, r.Info.ID)
		}
	}
	if dups != 1 {
		t.Errorf("%d duplicate-id results, want 1", dups)
	}
	got := b.pending(t, b.queue)
	slices.Sort(got)
	if !slices.Equal(got, wantIDs) {
		t.Errorf("%d tasks pending, want %d (the valid items)", len(got), len(wantIDs))
	}
	if len(wantBad) < 40 {
		t.Fatalf("test has only %d invalid items", len(wantBad))
	}
}

// The batch's enqueues reach Redis in shared pipelines, not one round trip
// each: that is what lifts EnqueueBatch past 50,000 tasks/s.
func TestEnqueueBatchPipelines(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Addr(), DB: redistest.DBTasks})
	t.Cleanup(func() { _ = rdb.Close() })
	var single, pipelines, pipelined atomic.Int64
	rdb.AddHook(countHook{single: &single, pipelines: &pipelines, pipelined: &pipelined})
	b := setupOn(t, rdb)
	items := make([]BatchItem, 2000)
	for i := range items {
		items[i] = BatchItem{Type: TypeOCRAML, Payload: validPayload(t, TypeOCRAML)}
	}
	for i, r := range b.client.EnqueueBatch(context.Background(), items) {
		if r.Err != nil {
			t.Fatalf("item %d: %v", i, r.Err)
		}
	}
	if n := len(b.pending(t, b.queue)); n != len(items) {
		t.Fatalf("%d tasks pending, want %d", n, len(items))
	}
	// Every enqueue is one EVALSHA; nearly all of them must have ridden a
	// pipeline, and pipelines must be deep (the first enqueue of a queue
	// also registers it, and a lone first command may go alone).
	t.Logf("%d single commands, %d pipelines carrying %d commands", single.Load(), pipelines.Load(), pipelined.Load())
	if got := pipelined.Load(); got < int64(len(items)) {
		t.Errorf("%d commands went in pipelines, want at least the %d enqueues", got, len(items))
	}
	if p := pipelines.Load(); p == 0 || pipelined.Load()/p < 8 {
		t.Errorf("%d pipelines for %d commands: not coalesced", p, pipelined.Load())
	}
}

// countHook counts what a go-redis client sends: single commands, and
// pipelines with the commands they carry.
type countHook struct{ single, pipelines, pipelined *atomic.Int64 }

func (countHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.single.Add(1)
		return next(ctx, cmd)
	}
}

func (h countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.pipelines.Add(1)
		h.pipelined.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

func TestEnqueueBatchCancelled(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	items := make([]BatchItem, 50)
	for i := range items {
		items[i] = BatchItem{Type: TypeOCRAML, Payload: validPayload(t, TypeOCRAML)}
	}
	for i, r := range b.client.EnqueueBatch(ctx, items) {
		if !errors.Is(r.Err, context.Canceled) || r.Index != i {
			t.Errorf("item %d: %+v, want context.Canceled", i, r)
		}
	}
	if n := len(b.pending(t, b.queue)); n != 0 {
		t.Errorf("%d tasks enqueued after cancel", n)
	}
	if got := b.client.EnqueueBatch(context.Background(), nil); len(got) != 0 {
		t.Errorf("empty batch gave %d results", len(got))
	}
}

// A Redis that is down or unreachable fails the whole batch within the
// caller's deadline, each item with the Redis error, nothing half-sent.
func TestEnqueueBatchRedisDown(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"127.0.0.1:1", "192.0.2.1:6379"} { // refused; unroutable (TEST-NET-1)
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { _ = rdb.Close() })
		c, err := NewClient(rdb, ClientConfig{Tenants: tenantMap{"acme": {Name: "acme"}}})
		if err != nil {
			t.Fatal(err)
		}
		items := make([]BatchItem, 2000)
		for i := range items {
			items[i] = BatchItem{Type: TypeOCRAML, Payload: validPayload(t, TypeOCRAML)}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		start := time.Now()
		results := c.EnqueueBatch(ctx, items)
		took := time.Since(start)
		cancel()
		if took > 3*time.Second {
			t.Errorf("%s: EnqueueBatch took %v with a 2 s deadline", addr, took)
		}
		for i, r := range results {
			if r.Err == nil || r.Info != nil {
				t.Fatalf("%s: item %d enqueued with Redis down: %+v", addr, i, r)
			}
		}
		t.Logf("%s: %v, %v", addr, took, results[0].Err)
	}
}
