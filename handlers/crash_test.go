package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vlensq/vlensq/internal/app"
	"github.com/vlensq/vlensq/internal/config"
	"github.com/vlensq/vlensq/internal/redistest"
	"github.com/vlensq/vlensq/outcome"
	"github.com/vlensq/vlensq/vlens"
)

// childWorker runs a worker in this process until it is killed. The crash
// test starts it as a subprocess and kills it with SIGKILL mid-call.
func childWorker() int {
	var tenant vlens.Tenant
	if err := json.Unmarshal([]byte(os.Getenv("VLENSQ_E2E_TENANT")), &tenant); err != nil {
		fmt.Fprintln(os.Stderr, "child: tenant:", err)
		return 2
	}
	db, _ := strconv.Atoi(os.Getenv("VLENSQ_E2E_DB"))
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Addr(), DB: db})
	ts, err := vlens.NewTenantSet(tenant)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	a, err := app.New(app.Options{Redis: &config.Redis{Client: rdb}, Tenants: ts, VlensBaseURL: os.Getenv("VLENSQ_E2E_FAKE"),
		Policy: fastPolicy, DisableRateLimit: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	srv := a.NewServer(app.ServerOptions{Queues: map[string]int{os.Getenv("VLENSQ_E2E_QUEUE"): 1}, Concurrency: 2})
	if err := srv.Start(a.Mux()); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	fmt.Fprintln(os.Stderr, "child: worker started")
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, os.Interrupt)
	<-ch
	srv.Shutdown()
	return 0
}

// A worker killed with SIGKILL in the middle of a Vlens call: asynq's
// recoverer hands the task to another worker once the lease has expired,
// and the task still ends in exactly one outcome.
func TestWorkerKilledMidCallEndsInExactlyOneOutcome(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{policy: fastPolicy, noWorker: true})
	sc := uniq(t, "delay:20s,ok")
	id := b.ocr(t, sc)

	tenantJSON, _ := json.Marshal(b.tenant)
	var stderr bytes.Buffer
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "VLENSQ_E2E_CHILD=1", "VLENSQ_E2E_TENANT="+string(tenantJSON),
		fmt.Sprintf("VLENSQ_E2E_DB=%d", redistest.DBHandlers), "VLENSQ_E2E_FAKE="+b.fake.URL, "VLENSQ_E2E_QUEUE="+b.queue)
	child.Stderr = &stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })

	// Wait until the child is inside the Vlens call.
	deadline := time.Now().Add(20 * time.Second)
	for b.fake.ScenarioHits(sc) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the child worker never called Vlens; its stderr:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()

	// asynq recovers a task ~30 s after its lease (30 s) expired, i.e. about
	// 61 s after a crash. Age the lease instead of waiting: the recoverer of
	// the next worker then takes the task at its start.
	leaseKey := "asynq:{" + b.queue + "}:lease"
	if n, err := b.rdb.ZScore(context.Background(), leaseKey, id).Result(); err != nil || n == 0 {
		t.Fatalf("task %s holds no lease after the crash: %v", id, err)
	}
	if err := b.rdb.ZAdd(context.Background(), leaseKey, redis.Z{Score: float64(time.Now().Add(-2 * time.Minute).Unix()), Member: id}).Err(); err != nil {
		t.Fatal(err)
	}
	// The killed task was its new tenant's trial (one task at a time until
	// a success); the trial's lease (30 s, renewed while the task runs)
	// would expire long before asynq's recovery (61 s): age it too.
	if err := b.rdb.Del(context.Background(), "vlensq:tenants:probe:"+b.tenant.Name).Err(); err != nil {
		t.Fatal(err)
	}
	b.startWorker(t)

	o := b.waitOutcome(t, id, 20*time.Second)
	if o.Status != outcome.StatusSucceeded {
		t.Fatalf("outcome after recovery = %+v", o)
	}
	if n := len(b.callsFor(sc)); n != 2 {
		t.Errorf("fake saw %d calls, want 2 (the killed one and the recovered one)", n)
	}
	if got := b.outcomesOf(t, id); len(got) != 1 {
		t.Errorf("%d outcomes for the task, want 1", len(got))
	}
}
