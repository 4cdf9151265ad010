package scaleout_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vlensq/vlensq/internal/cluster"
	"github.com/vlensq/vlensq/outcome"
	"github.com/vlensq/vlensq/tasks"
)

// The master dies (SIGKILL) while a producer enqueues and a worker
// processes; the sentinels promote the replica and both carry on through the
// same redis-sentinel:// URL. Every task the producer was told is enqueued
// ends in exactly one outcome.
func TestSentinelFailoverLosesNoTask(t *testing.T) {
	t.Parallel()
	s := cluster.StartSentinel(t, cluster.Config{})
	b := newBundle(t, s.URL(), bundleOpts{ratePerSecond: 1000, faults: "latency=20ms-60ms"})
	if b.redis.Kind != "sentinel" {
		t.Fatalf("OpenRedis(%s).Kind = %q", s.URL(), b.redis.Kind)
	}
	const queue = "failover"
	b.startWorker(t, map[string]int{queue: 1}, 8)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()

	const total, killAt = 120, 40
	key := fmt.Sprintf("%s-%d", b.tenant.Name, seq.Add(1))
	ids := make([]string, total)
	reached := make(chan struct{})
	var (
		wg      sync.WaitGroup
		retries int
		errs    []error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range total {
			ids[i] = fmt.Sprintf("fo-%s-%03d", key, i)
			n, err := b.enqueue(ctx, tasks.TypeOCRIDFront, b.ocrPayload(""), queue, ids[i])
			retries += n
			if err != nil {
				errs = append(errs, err)
			}
			if i == killAt {
				close(reached)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	<-reached
	start := time.Now()
	old, now, err := s.KillMaster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("master %s killed; %s promoted after %v", old.Addr(), now.Addr(), time.Since(start).Round(time.Millisecond))
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d enqueues failed for good, first: %v", len(errs), errs[0])
	}
	t.Logf("producer retried %d enqueues during the failover", retries)

	// Tasks whose handler ended during the outage stay "active": asynq
	// v0.26 retries the move to done/retry with a context that is already
	// cancelled (processor.go), so they wait for the lease to expire (30 s)
	// and the recoverer (every minute). Fast-forward that clock: age the
	// leases that no worker extends any more and start a worker, whose
	// recoverer runs at its start.
	if n := b.recoverOrphans(t, queue, 10*time.Second); n > 0 {
		t.Logf("%d tasks in flight during the failover came back through lease recovery", n)
	}
	got := b.waitOutcomes(t, ids, 20*time.Second)
	for _, id := range ids {
		if len(got[id]) != 1 || got[id][0].Status != outcome.StatusSucceeded {
			t.Errorf("task %s: outcomes %+v, want exactly one success", id, got[id])
		}
	}
	t.Logf("all %d tasks ended once, %v after the kill", total, time.Since(start).Round(time.Millisecond))
}
