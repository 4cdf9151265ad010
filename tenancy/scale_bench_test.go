package tenancy_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/vlensq/vlensq/tenancy"
	"github.com/vlensq/vlensq/vlens"
)

// BenchmarkDispatch measures what dispatching costs per task as the number
// of tenants with work and the size of one tenant's backlog grow (issue 14:
// per-task cost must not grow with either). Each iteration holds b.N tasks
// spread over the tenants (beside a 100,000-task backlog of tenant 0 in the
// third case) and times the dispatcher moving b.N tasks to pending; Redis is
// real.
//
//	go test -run '^$' -bench Dispatch -benchtime 20000x ./tenancy/
func BenchmarkDispatch(b *testing.B) {
	for _, c := range []struct {
		tenants int
		backlog int // extra tasks held for tenant 0 beforehand
	}{{10, 0}, {1000, 0}, {10, 100_000}} {
		b.Run(fmt.Sprintf("tenants=%d/backlog=%d", c.tenants, c.backlog), func(b *testing.B) {
			ts := make([]vlens.Tenant, c.tenants)
			for i := range ts {
				ts[i] = tenant(fmt.Sprintf("t%d", i))
			}
			bb := setup(&testing.T{}, tenancy.Config{Prefetch: -1}, ts...)
			ctx := context.Background()
			hold := func(tenant string, n int, prefix string) {
				pipe := bb.rdb.Pipeline()
				for i := range n {
					id := fmt.Sprintf("%s-%d", prefix, i)
					_ = bb.sched.Hold(ctx, pipe, bb.queue, tenant, id, time.Now())
				}
				if _, err := pipe.Exec(ctx); err != nil {
					b.Fatal(err)
				}
			}
			if c.backlog > 0 {
				// A real backlog: parked asynq tasks, enqueued through an
				// automatic pipeliner from 64 goroutines.
				hold(bb.name(0), c.backlog, "backlog")
				ap, err := bb.rdb.AutoPipeline()
				if err != nil {
					b.Fatal(err)
				}
				aq := asynq.NewClientFromRedisClient(ap)
				var wg sync.WaitGroup
				for g := range 64 {
					wg.Go(func() {
						for i := g; i < c.backlog; i += 64 {
							task := asynq.NewTask("test", []byte(`{"tenant":"`+bb.name(0)+`"}`))
							if _, err := aq.EnqueueContext(ctx, task, asynq.Queue(bb.queue), asynq.TaskID(fmt.Sprintf("backlog-%d", i)), asynq.ProcessAt(tenancy.ParkAt)); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
			}
			for i := range b.N {
				bb.enqueue(&testing.T{}, bb.name(i%c.tenants), fmt.Sprintf("task-%d", i))
			}
			slots := tenancy.NewSlots(b.N)
			b.ResetTimer()
			start := time.Now()
			bb.runFor(b, slots, func() bool {
				n, _ := bb.rdb.LLen(ctx, "asynq:{"+bb.queue+"}:pending").Result()
				return int(n) >= b.N
			})
			b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N), "ns/task")
		})
	}
}
