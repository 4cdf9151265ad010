package tasks

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/hibiken/asynq"
)

// benchPayloads are the payload shapes compared with bare asynq.
func benchPayloads(b *testing.B) []struct {
	name string
	typ  string
	p    *Payload
} {
	return []struct {
		name string
		typ  string
		p    *Payload
	}{
		{"small", TypeOCRAML, validPayload(b, TypeOCRAML)},
		{"liveness-3x500KB", TypeVerifyLiveness, &Payload{Tenant: "acme", User: "u", TransactionID: TextID("tx"),
			Face1: ImageBytes(fakeJPEG(500_000, 1)), Face2: ImageBytes(fakeJPEG(500_000, 2)), Face3: ImageBytes(fakeJPEG(500_000, 3))}},
	}
}

// BenchmarkEnqueue compares Client.Enqueue (validation, claim check) with a
// bare asynq.Client.Enqueue of the same payload as the producer wrote it.
//
//	go test -run '^$' -bench Enqueue -benchtime 2s ./tasks/
func BenchmarkEnqueue(b *testing.B) {
	ctx := context.Background()
	for _, bp := range benchPayloads(b) {
		raw, err := json.Marshal(bp.p)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("vlensq/"+bp.name, func(b *testing.B) {
			tb := setup(b)
			b.SetBytes(int64(len(raw)))
			for i := 0; b.Loop(); i++ {
				if _, err := tb.client.Enqueue(ctx, bp.typ, bp.p, EnqueueOptions{}); err != nil {
					b.Fatal(err)
				}
				if i%200 == 199 {
					tb.drain(b)
				}
			}
		})
		b.Run("asynq/"+bp.name, func(b *testing.B) {
			tb := setup(b)
			aq := asynq.NewClientFromRedisClient(tb.rdb)
			opts := tb.client.options(EnqueueOptions{})
			b.SetBytes(int64(len(raw)))
			for i := 0; b.Loop(); i++ {
				if _, err := aq.EnqueueContext(ctx, asynq.NewTask(bp.typ, raw), opts...); err != nil {
					b.Fatal(err)
				}
				if i%200 == 199 {
					tb.drain(b)
				}
			}
		})
	}
}

// BenchmarkEnqueueBatch measures EnqueueBatch throughput (1,000 small tasks
// per op) next to bare asynq enqueues from as many goroutines.
func BenchmarkEnqueueBatch(b *testing.B) {
	ctx := context.Background()
	const n = 1000
	p := validPayload(b, TypeOCRAML)
	raw, _ := json.Marshal(p)
	b.Run("vlensq", func(b *testing.B) {
		tb := setup(b)
		items := make([]BatchItem, n)
		for i := range items {
			items[i] = BatchItem{Type: TypeOCRAML, Payload: p}
		}
		for b.Loop() {
			for _, r := range tb.client.EnqueueBatch(ctx, items) {
				if r.Err != nil {
					b.Fatal(r.Err)
				}
			}
		}
		b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "tasks/s")
	})
	b.Run("asynq", func(b *testing.B) {
		tb := setup(b)
		aq := asynq.NewClientFromRedisClient(tb.rdb)
		opts := tb.client.options(EnqueueOptions{})
		for b.Loop() {
			var wg sync.WaitGroup
			jobs := make(chan struct{}, n)
			for range n {
				jobs <- struct{}{}
			}
			close(jobs)
			for range BatchConcurrencyDefault {
				wg.Go(func() {
					for range jobs {
						if _, err := aq.EnqueueContext(ctx, asynq.NewTask(TypeOCRAML, raw), opts...); err != nil {
							panic(fmt.Sprint("enqueue: ", err))
						}
					}
				})
			}
			wg.Wait()
		}
		b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "tasks/s")
	})
}

// drain deletes the pending tasks of the bundle's queue, outside the timer,
// so that large-payload runs do not fill Redis.
func (tb *testBundle) drain(b *testing.B) {
	b.StopTimer()
	defer b.StartTimer()
	if _, err := tb.inspector.DeleteAllPendingTasks(tb.queue); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkNewTask is the CPU cost Client adds before the Redis round trip.
func BenchmarkNewTask(b *testing.B) {
	tb := setup(b)
	ctx := context.Background()
	p := validPayload(b, TypeOCRAML)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := tb.client.NewTask(ctx, TypeOCRAML, p, EnqueueOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
