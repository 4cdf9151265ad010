package tenancy_test

import (
	"context"
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
