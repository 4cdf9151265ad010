package tenancy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/vlensq/vlensq/internal/redistest"
	"github.com/vlensq/vlensq/tenancy"
	"github.com/vlensq/vlensq/vlens"
)

var seq atomic.Int64

// testBundle is a queue, tenants and a Scheduler on the package's database.
type testBundle struct {
	rdb   *redis.Client
	queue string
	aq    *asynq.Client
	insp  *asynq.Inspector
	sched *tenancy.Scheduler
	set   *vlens.TenantSet
}

func setup(t *testing.T, cfg tenancy.Config, tenants ...vlens.Tenant) *testBundle {
	t.Helper()
	rdb := redistest.Client(t, redistest.DBTenancy)
	n := seq.Add(1)
	b := &testBundle{rdb: rdb, queue: fmt.Sprintf("fair-%d-%d", time.Now().UnixNano()%1e6, n)}
	if len(tenants) == 0 {
		tenants = []vlens.Tenant{tenant("a"), tenant("b")}
	}
	for i := range tenants {
		tenants[i].Name = fmt.Sprintf("%s-%d", tenants[i].Name, n)
	}
	set, err := vlens.NewTenantSet(tenants...)
	if err != nil {
		t.Fatal(err)
	}
	b.set = set
	cfg.Redis, cfg.Tenants = rdb, set
	if cfg.Logger == nil {
		l := zerolog.New(zerolog.NewTestWriter(t))
		cfg.Logger = &l
	}
	if b.sched, err = tenancy.New(cfg); err != nil {
		t.Fatal(err)
	}
	b.aq = asynq.NewClientFromRedisClient(rdb)
	b.insp = asynq.NewInspectorFromRedisClient(rdb)
	t.Cleanup(func() { _ = b.aq.Close() })
	return b
}

func tenant(name string) vlens.Tenant {
	return vlens.Tenant{Name: name, APIKey: "k", Username: "u", Password: "p"}
}

func (b *testBundle) name(i int) string { return b.set.Names()[i] }

// enqueue holds and parks one task of tenant, as tasks.Client does.
func (b *testBundle) enqueue(t *testing.T, tenant, id string) {
	t.Helper()
	ctx := context.Background()
	if err := b.sched.Hold(ctx, nil, b.queue, tenant, id, time.Now()); err != nil {
		t.Fatal(err)
	}
	task := asynq.NewTask("test", []byte(`{"tenant":"`+tenant+`"}`))
	if _, err := b.aq.EnqueueContext(ctx, task, asynq.Queue(b.queue), asynq.TaskID(id), asynq.ProcessAt(tenancy.ParkAt)); err != nil {
		t.Fatal(err)
	}
}

func TestHeldTaskIsParkedAndVisible(t *testing.T) {
	t.Parallel()
	b := setup(t, tenancy.Config{})
	b.enqueue(t, b.name(0), "t1")
	info, err := b.insp.GetTaskInfo(b.queue, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if info.State != asynq.TaskStateScheduled || !info.NextProcessAt.Equal(tenancy.ParkAt) {
		t.Fatalf("held task: state %v at %v, want scheduled at %v", info.State, info.NextProcessAt, tenancy.ParkAt)
	}
}

// run starts a dispatcher over b's queue with a process of size slots.
func (b *testBundle) run(t *testing.T, size int) *tenancy.Slots {
	t.Helper()
	slots := tenancy.NewSlots(size)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := b.sched.Run(ctx, map[string]int{b.queue: 1}, slots); err != nil {
			t.Error(err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return slots
}

func TestDispatchedTaskIsPendingWithAGrant(t *testing.T) {
	t.Parallel()
	b := setup(t, tenancy.Config{})
	b.enqueue(t, b.name(0), "t1")
	b.run(t, 4)
	waitFor(t, 5*time.Second, func() bool {
		info, err := b.insp.GetTaskInfo(b.queue, "t1")
		return err == nil && info.State == asynq.TaskStatePending
	})
	grant, err := b.rdb.HGet(context.Background(), tenancy.TaskKey(b.queue, "t1"), tenancy.GrantField).Result()
	if err != nil || grant == "" {
		t.Fatalf("dispatched task has no grant: %q %v", grant, err)
	}
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// worker runs an asynq server on b's queues whose handler records the
// tenant of each task it starts and takes d per task. The returned channel
// receives the tenant of every started task.
func (b *testBundle) worker(t *testing.T, queues map[string]int, size int, d time.Duration) <-chan string {
	t.Helper()
	started := make(chan string, 100_000)
	slots := tenancy.NewSlots(size)
	srv := asynq.NewServerFromRedisClient(b.rdb, asynq.Config{
		Queues: queues, Concurrency: size, TaskCheckInterval: 10 * time.Millisecond,
		DelayedTaskCheckInterval: 50 * time.Millisecond, Logger: quiet{}, LogLevel: asynq.FatalLevel,
	})
	h := asynq.HandlerFunc(func(ctx context.Context, task *asynq.Task) error {
		var p struct{ Tenant string }
		_ = json.Unmarshal(task.Payload(), &p)
		started <- p.Tenant
		time.Sleep(d)
		return nil
	})
	if err := srv.Start(slots.Wrap(h)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = b.sched.Run(ctx, queues, slots)
	}()
	t.Cleanup(func() { cancel(); <-done; srv.Shutdown() })
	return started
}

type quiet struct{}

func (quiet) Debug(...any) {}
func (quiet) Info(...any)  {}
func (quiet) Warn(...any)  {}
func (quiet) Error(...any) {}
func (quiet) Fatal(...any) {}

// flood holds n tasks of tenant in queue q.
func (b *testBundle) flood(t *testing.T, q, tenant string, n int) {
	t.Helper()
	for i := range n {
		b.enqueueIn(t, q, tenant, fmt.Sprintf("%s-%s-%d", q, tenant, i))
	}
}

func (b *testBundle) enqueueIn(t *testing.T, q, tenant, id string) {
	t.Helper()
	ctx := context.Background()
	if err := b.sched.Hold(ctx, nil, q, tenant, id, time.Now()); err != nil {
		t.Fatal(err)
	}
	task := asynq.NewTask("test", []byte(`{"tenant":"`+tenant+`"}`))
	if _, err := b.aq.EnqueueContext(ctx, task, asynq.Queue(q), asynq.TaskID(id), asynq.ProcessAt(tenancy.ParkAt)); err != nil {
		t.Fatal(err)
	}
}

// held returns how many tasks of tenant wait in q's hold set.
func (b *testBundle) held(t *testing.T, q, tenant string) int64 {
	t.Helper()
	st, err := b.sched.Backlog(context.Background(), q, tenant)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// A tenant over its rate limit does not delay another tenant: with tenant
// A's 300-task backlog held at 5 calls per second, tenant B's task starts
// while almost all of A's backlog still waits.
func TestTenantUnderItsLimitDoesNotWaitBehindAFlood(t *testing.T) {
	t.Parallel()
	a, bb := tenant("a"), tenant("b")
	a.RatePerSecond, a.RatePerMinute = 5, 600
	b := setup(t, tenancy.Config{}, a, bb)
	b.sched = mustScheduler(t, b, vlens.NewRedisLimiter(b.rdb))
	ta, tb := b.name(0), b.name(1)
	b.flood(t, b.queue, ta, 300)
	started := b.worker(t, map[string]int{b.queue: 1}, 20, 100*time.Millisecond)
	waitStarted(t, started, ta, 3)
	b.enqueueIn(t, b.queue, tb, "b-1")
	waitStarted(t, started, tb, 1)
	if left := b.held(t, b.queue, ta); left < 250 {
		t.Fatalf("tenant B started only after tenant A's backlog drained to %d of 300", left)
	}
}

// A tenant's backlog is dispatched no faster than its rate limit allows.
func TestBacklogIsDispatchedWithinTheTenantsLimit(t *testing.T) {
	t.Parallel()
	a := tenant("a")
	a.RatePerSecond, a.RatePerMinute = 4, 600
	b := setup(t, tenancy.Config{}, a)
	b.sched = mustScheduler(t, b, vlens.NewRedisLimiter(b.rdb))
	ta := b.name(0)
	b.flood(t, b.queue, ta, 100)
	start := time.Now()
	started := b.worker(t, map[string]int{b.queue: 1}, 20, 0)
	waitStarted(t, started, ta, 10)
	elapsed := time.Since(start)
	// redis_rate allows a burst of the per-second limit, then refills at
	// that rate: 10 starts need at least (10-4)/4 s.
	if min := 1500 * time.Millisecond; elapsed < min {
		t.Fatalf("10 tasks at 4/s started within %v, want at least %v", elapsed, min)
	}
}

// Under overload the free slots are shared between the tenants with work
// in proportion to their weights.
func TestOverloadSharesSlotsByWeight(t *testing.T) {
	t.Parallel()
	a, bb, c := tenant("a"), tenant("b"), tenant("c")
	c.Weight = 2
	b := setup(t, tenancy.Config{Prefetch: -1}, a, bb, c)
	for i := range 3 {
		b.flood(t, b.queue, b.name(i), 200)
	}
	started := b.worker(t, map[string]int{b.queue: 1}, 4, 5*time.Millisecond)
	count := map[string]int{}
	for range 200 {
		count[<-started]++
	}
	na, nb, nc := count[b.name(0)], count[b.name(1)], count[b.name(2)]
	t.Logf("first 200 starts: a %d, b %d, c (weight 2) %d", na, nb, nc)
	if na < 35 || nb < 35 {
		t.Fatalf("a tenant with weight 1 got %d and %d of 200 slots, want about 50 each", na, nb)
	}
	if nc < na+na/2 || nc < nb+nb/2 {
		t.Fatalf("the tenant with weight 2 got %d slots against %d and %d, want about twice as many", nc, na, nb)
	}
}

// Priorities within a tenant hold: its tasks in a heavier queue are
// dispatched first.
func TestHeavierQueueGoesFirstWithinATenant(t *testing.T) {
	t.Parallel()
	b := setup(t, tenancy.Config{Prefetch: -1})
	ta := b.name(0)
	critical, low := b.queue+"-critical", b.queue+"-low"
	b.flood(t, low, ta, 100)
	b.flood(t, critical, ta, 100)
	started := b.worker(t, map[string]int{critical: 6, low: 1}, 2, 5*time.Millisecond)
	_ = started
	waitFor(t, 10*time.Second, func() bool { return b.held(t, critical, ta) == 0 })
	if left := b.held(t, low, ta); left < 50 {
		t.Fatalf("critical drained with only %d of 100 low tasks left: the weights were not kept", left)
	}
}

// A hold entry whose task never appeared (the producer died between the
// hold and the enqueue) is dropped after StaleAfter, and its tenant with
// it.
func TestStaleHoldEntryIsDropped(t *testing.T) {
	t.Parallel()
	b := setup(t, tenancy.Config{StaleAfter: 200 * time.Millisecond})
	ta := b.name(0)
	if err := b.sched.Hold(context.Background(), nil, b.queue, ta, "ghost", time.Now()); err != nil {
		t.Fatal(err)
	}
	b.run(t, 2)
	waitFor(t, 5*time.Second, func() bool { return b.held(t, b.queue, ta) == 0 })
}

func mustScheduler(t *testing.T, b *testBundle, l tenancy.Limiter) *tenancy.Scheduler {
	t.Helper()
	lg := zerolog.New(zerolog.NewTestWriter(t))
	s, err := tenancy.New(tenancy.Config{Redis: b.rdb, Tenants: b.set, Limiter: l, Logger: &lg})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitStarted waits until n tasks of tenant have started, discarding the
// others' starts.
func waitStarted(t *testing.T, started <-chan string, tenant string, n int) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for n > 0 {
		select {
		case got := <-started:
			if got == tenant {
				n--
			}
		case <-timeout:
			t.Fatalf("tenant %s: %d more starts did not come within 20 s", tenant, n)
		}
	}
}

// runFor runs a dispatcher over b's queue until done holds.
func (b *testBundle) runFor(tb testing.TB, slots *tenancy.Slots, done func() bool) {
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		_ = b.sched.Run(ctx, map[string]int{b.queue: 1}, slots)
	}()
	deadline := time.Now().Add(5 * time.Minute)
	for !done() {
		if time.Now().After(deadline) {
			cancel()
			<-stopped
			tb.Fatal("dispatch did not finish within 5 minutes")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-stopped
}
