package handlers_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/vlensq/vlensq/internal/app"
	"github.com/vlensq/vlensq/internal/config"
	"github.com/vlensq/vlensq/internal/redistest"
	"github.com/vlensq/vlensq/outcome"
	"github.com/vlensq/vlensq/tasks"
	"github.com/vlensq/vlensq/tenancy"
	"github.com/vlensq/vlensq/vlens"
	"github.com/vlensq/vlensq/vlens/vlenstest"
)

// A tenant whose account answers 4002 (bundle balance exhausted): the first
// call trips the circuit breaker, the tenant's other tasks wait instead of
// each making a call and becoming a dead letter, probes find the account
// fixed and resume the tenant, and every held task then succeeds exactly
// once. Another tenant runs undisturbed throughout. Two workers share the
// queue.
func TestBrokenAccountTripsTheBreakerOnceAndProbesResumeIt(t *testing.T) {
	t.Parallel()
	rdb := redistest.Client(t, redistest.DBHandlers)
	n := seq.Add(1)
	broken := vlens.Tenant{Name: fmt.Sprintf("broken-%d-%d", os.Getpid(), n), APIKey: fmt.Sprintf("key-broken-%d", n), Username: "admin", Password: "pw"}
	healthy := vlens.Tenant{Name: fmt.Sprintf("healthy-%d-%d", os.Getpid(), n), APIKey: fmt.Sprintf("key-healthy-%d", n), Username: "admin", Password: "pw"}
	fake := vlenstest.NewTestServer(t, vlenstest.Options{Tenants: []vlens.Tenant{broken, healthy}})
	fake.SetAccountError(broken.Name, 4002)
	ts, err := vlens.NewTenantSet(broken, healthy)
	if err != nil {
		t.Fatal(err)
	}
	queue := fmt.Sprintf("breaker-%d-%d", os.Getpid(), n)
	var apps []*app.App
	for range 2 {
		r := &config.Redis{Client: rdb, ConnOpt: redistest.Opt(t, redistest.DBHandlers), Kind: "standalone"}
		a, err := app.New(app.Options{Redis: r, Tenants: ts, VlensBaseURL: fake.URL, Policy: fastPolicy, DisableRateLimit: true,
			Breaker: tenancy.BreakerConfig{ProbeInterval: 300 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = a.Close() })
		apps = append(apps, a)
	}
	ctx := context.Background()
	aml := func(tenant string, i int) *tasks.Payload {
		return &tasks.Payload{Tenant: tenant, IDNumber: fmt.Sprintf("2900101%07d", i), Name: "Test Person"}
	}
	var brokenIDs, healthyIDs []string
	for i := range 200 {
		info, err := apps[0].Tasks.Enqueue(ctx, tasks.TypeOCRAML, aml(broken.Name, i), tasks.EnqueueOptions{Queue: queue})
		if err != nil {
			t.Fatal(err)
		}
		brokenIDs = append(brokenIDs, info.ID)
	}
	for i := range 20 {
		info, err := apps[1].Tasks.Enqueue(ctx, tasks.TypeOCRAML, aml(healthy.Name, i), tasks.EnqueueOptions{Queue: queue})
		if err != nil {
			t.Fatal(err)
		}
		healthyIDs = append(healthyIDs, info.ID)
	}
	for _, a := range apps {
		srv := a.NewServer(app.ServerOptions{Queues: map[string]int{queue: 1}, Concurrency: 10, ShutdownTimeout: 2 * time.Second})
		if err := srv.Start(a.Mux()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Shutdown)
	}
	b := &testBundle{app: apps[0], rdb: rdb, queue: queue, insp: asynq.NewInspectorFromRedisClient(rdb)}

	// The other tenant is not held up.
	for _, id := range healthyIDs {
		if o := b.waitOutcome(t, id, 20*time.Second); o.Status != outcome.StatusSucceeded {
			t.Fatalf("healthy tenant's task %s: %+v", id, o)
		}
	}
	// The broken tenant is paused by the breaker, with the cause.
	var pause tenancy.Pause
	waitUntil(t, 10*time.Second, func() bool {
		p, ok, err := apps[1].States.Get(ctx, broken.Name)
		pause = p
		return err == nil && ok && p.Cause != nil && p.Cause.DeadLetterID != "" && p.Probes >= 1
	})
	if pause.By != "breaker" || pause.Cause.Code != 4002 || pause.Cause.Category != "account" {
		t.Fatalf("pause = %+v, cause %+v", pause, pause.Cause)
	}
	fake.SetAccountError(broken.Name, 0)

	// Probes find the account fixed, the tenant resumes, and every task but
	// the one that tripped the breaker succeeds, once.
	deadLettered := 0
	for _, id := range brokenIDs {
		switch o := b.waitOutcome(t, id, 30*time.Second); o.Status {
		case outcome.StatusDeadLettered:
			deadLettered++
			if o.DeadLetterID != pause.Cause.DeadLetterID || o.Code != 4002 {
				t.Errorf("dead letter %+v is not the one that tripped the breaker (%s)", o, pause.Cause.DeadLetterID)
			}
		case outcome.StatusSucceeded:
		default:
			t.Fatalf("task %s: %+v", id, o)
		}
	}
	if deadLettered != 1 {
		t.Errorf("%d dead letters for the broken account, want exactly 1", deadLettered)
	}
	failed := 0
	for _, r := range fake.Requests() {
		if r.Tenant == broken.Name && r.ErrorCode == 4002 {
			failed++
		}
	}
	if failed > 3 {
		t.Errorf("the broken account was called %d times with the 4002 answer, want at most 3 (the trip and the probes)", failed)
	}
	if _, paused, _ := apps[0].States.Get(ctx, broken.Name); paused {
		t.Error("the tenant is still paused after its probe succeeded")
	}
	var events []string
	msgs, _ := rdb.XRange(ctx, outcome.Stream, "-", "+").Result()
	for _, m := range msgs {
		if m.Values["tenant"] == broken.Name && m.Values["task_id"] == nil {
			events = append(events, fmt.Sprint(m.Values["event"]))
		}
	}
	if len(events) != 2 || events[0] != tenancy.EventPaused || events[1] != tenancy.EventResumed {
		t.Errorf("tenant events on the outcome stream = %v, want [tenant_paused tenant_resumed]", events)
	}
}
