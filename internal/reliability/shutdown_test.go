package reliability

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/vlensq/vlensq/outcome"
	"github.com/vlensq/vlensq/tenancy"
)

// Issue 7 §6: SIGTERM while Vlens calls are in flight. Calls that finish
// within --shutdown-timeout end normally; the others are cut off and their
// tasks go back to the queue without spending an attempt; the next worker
// ends every task exactly once.
func TestSIGTERMReturnsInFlightTasksToTheQueue(t *testing.T) {
	t.Parallel()
	b := newBundle(t, bundleOpts{})
	const n = 20
	slow := func(i int) bool { return i%2 == 1 }
	ids := b.enqueue(n, func(i int) string {
		if slow(i) {
			return fmt.Sprintf("sandbox:delay:20s,ok#%s-%d", b.queue, i) // cut off, then succeeds on the re-run
		}
		return fmt.Sprintf("sandbox:delay:1500ms,ok#%s-%d", b.queue, i) // finishes within the shutdown timeout (3 s)
	})
	// The tenant has succeeded recently, so its tasks run side by side at
	// once (a tenant on trial runs one task until its first success).
	states, err := tenancy.NewStates(tenancy.StatesConfig{Redis: b.rdb})
	if err != nil {
		t.Fatal(err)
	}
	states.Healthy(context.Background(), b.tenant.Name)
	w := b.worker(n, "VLENSQ_SHUTDOWN_TIMEOUT=3s")
	waitFor(t, 20*time.Second, "every task in flight", func() bool {
		active, err := b.insp.ListActiveTasks(b.queue, asynq.PageSize(100))
		return err == nil && len(active) == n
	}, nil)
	took := w.stop(t, syscall.SIGTERM, 15*time.Second)
	if w.cmd.ProcessState.ExitCode() != 0 {
		t.Errorf("worker exit code %d after SIGTERM, want 0\n%s", w.cmd.ProcessState.ExitCode(), tail(w.out.String(), 2000))
	}
	if took > 5*time.Second {
		t.Errorf("worker took %v to stop, want about the 3 s shutdown timeout", took)
	}

	got := b.outcomes()
	pending, err := b.insp.ListPendingTasks(b.queue, asynq.PageSize(100))
	if err != nil {
		t.Fatal(err)
	}
	back := map[string]bool{}
	for _, ti := range pending {
		back[ti.ID] = true
		if ti.Retried != 0 {
			t.Errorf("task %s returned with retried=%d, want 0 (a shutdown spends no attempt)", ti.ID, ti.Retried)
		}
	}
	for i, id := range ids {
		switch {
		case slow(i) && (!back[id] || len(got[id]) != 0):
			t.Errorf("cut-off task %d: pending=%v outcomes=%d, want back in the queue without an outcome", i, back[id], len(got[id]))
		case !slow(i) && (back[id] || len(got[id]) != 1 || got[id][0].Status != outcome.StatusSucceeded):
			t.Errorf("task %d finished within the timeout: pending=%v outcomes=%+v, want succeeded once", i, back[id], got[id])
		}
	}
	if len(back) != n/2 {
		t.Errorf("%d tasks back in the queue, want %d", len(back), n/2)
	}

	b.worker(n)
	final := b.waitAllEnded(ids, 30*time.Second)
	succeeded, dead := b.checkExactlyOnce(ids, final)
	if succeeded != n || dead != 0 {
		t.Errorf("%d succeeded, %d dead-lettered, want %d succeeded", succeeded, dead, n)
	}
	logf(t, "shutdown: SIGTERM with %d calls in flight, --shutdown-timeout 2s: worker exited in %v; %d finished, %d returned to "+
		"pending with retried=0; after restart %d/%d succeeded exactly once", n, took.Round(10*time.Millisecond), n-len(back),
		len(back), succeeded, n)
	if strings.Contains(w.out.String(), `"level":"panic"`) {
		t.Errorf("worker panicked:\n%s", w.out.String())
	}
}
