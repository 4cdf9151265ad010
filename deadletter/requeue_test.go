package deadletter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeQueue records enqueues and refuses duplicate task ids, like asynq with
// TaskID.
type fakeQueue struct {
	mu    sync.Mutex
	tasks map[string][]byte
	order []string
	at    []time.Time
	clock *fakeClock
	fail  error
}

func newFakeQueue(c *fakeClock) *fakeQueue { return &fakeQueue{tasks: map[string][]byte{}, clock: c} }

func (q *fakeQueue) Enqueue(_ context.Context, rec *Record, payload []byte, newTaskID string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fail != nil {
		return q.fail
	}
	if _, ok := q.tasks[newTaskID]; ok {
		return fmt.Errorf("asynq: task ID conflicts with another task: %w", ErrTaskExists)
	}
	q.tasks[newTaskID] = payload
	q.order = append(q.order, newTaskID)
	q.at = append(q.at, q.clock.Now())
	return nil
}

func (q *fakeQueue) count() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.order)
}

func TestRequeueOne(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.mustAdd(t, newRec("rq", "rq-1"), `{"tenant":"rq","image":"x"}`)
	q := newFakeQueue(b.clock)
	rep, err := b.store.Requeue(b.ctx, []string{id}, Filter{}, RequeueOptions{By: "alice", Enqueue: q.Enqueue})
	if err != nil {
		t.Fatal(err)
	}
	newTask := id + ":rq1"
	if rep.Matched != 1 || rep.Requeued != 1 || len(rep.Items) != 1 || rep.Items[0].NewTaskID != newTask || rep.Items[0].TaskID != "rq-1" {
		t.Fatalf("report = %+v", rep)
	}
	if string(q.tasks[newTask]) != `{"tenant":"rq","image":"x"}` {
		t.Errorf("enqueued payload = %q, want the original payload", q.tasks[newTask])
	}
	rec, _ := b.store.Get(b.ctx, id)
	if len(rec.Requeued) != 1 || rec.Requeued[0].By != "alice" || rec.Requeued[0].NewTaskID != newTask || !rec.Requeued[0].At.Equal(t0) {
		t.Errorf("record requeued = %+v", rec.Requeued)
	}
	if rec.ErrorMessage != "card not detected" || rec.TaskID != "rq-1" {
		t.Errorf("recording the requeue changed other fields: %+v", rec)
	}
}

func TestRequeueTwiceEnqueuesOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 4 {
		b.mustAdd(t, newRec("twice", fmt.Sprintf("tw-%d", i)), "p")
	}
	q := newFakeQueue(b.clock)
	opt := RequeueOptions{By: "ops", Enqueue: q.Enqueue}
	f := Filter{Tenant: "twice"}
	first, err := b.store.Requeue(b.ctx, nil, f, opt)
	if err != nil || first.Requeued != 4 {
		t.Fatalf("first run = %+v, %v", first, err)
	}
	second, err := b.store.Requeue(b.ctx, nil, f, opt)
	if err != nil {
		t.Fatal(err)
	}
	if second.Matched != 4 || second.Skipped != 4 || second.Requeued != 0 || q.count() != 4 {
		t.Errorf("second run = %+v, enqueued %d in all; want 4 skipped and 4 enqueued in all", second, q.count())
	}
	for _, it := range second.Items {
		if it.Skipped != SkipAlreadyRequeued || it.NewTaskID != it.ID+":rq1" {
			t.Errorf("item %+v: want skipped as already requeued, naming its task", it)
		}
	}
	// Force requeues again with the next task id.
	forced, err := b.store.Requeue(b.ctx, nil, f, RequeueOptions{Force: true, Enqueue: q.Enqueue})
	if err != nil || forced.Requeued != 4 || forced.Items[0].NewTaskID != forced.Items[0].ID+":rq2" {
		t.Errorf("forced run = %+v, %v", forced, err)
	}
}

func TestRequeueConcurrentRunsEnqueueOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 10
	for i := range n {
		b.mustAdd(t, newRec("conc-rq", fmt.Sprintf("c-%d", i)), "p")
	}
	q := newFakeQueue(b.clock)
	var wg sync.WaitGroup
	reps := make([]RequeueReport, 3)
	for i := range reps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			reps[i], err = b.store.Requeue(b.ctx, nil, Filter{Tenant: "conc-rq"}, RequeueOptions{RatePerSecond: 1e6, Enqueue: q.Enqueue})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	requeued := 0
	for _, r := range reps {
		requeued += r.Requeued
		if r.Failed != 0 {
			t.Errorf("report with failures: %+v", r)
		}
	}
	if q.count() != n || requeued != n {
		t.Errorf("enqueued %d, reported requeued %d; want %d each", q.count(), requeued, n)
	}
	err := b.store.Each(b.ctx, Filter{Tenant: "conc-rq"}, func(r *Record) error {
		if len(r.Requeued) != 1 {
			return fmt.Errorf("record %s has %d requeue entries", r.ID, len(r.Requeued))
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

func TestRequeueDryRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.mustAdd(t, newRec("dry", "d-1"), "p")
	b.mustAdd(t, newRec("dry", "d-2"), "p")
	b.mustAdd(t, newRec("wet", "w-1"), "p")
	rep, err := b.store.Requeue(b.ctx, nil, Filter{Tenant: "dry"}, RequeueOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.DryRun || rep.Matched != 2 || rep.Requeued != 2 || len(rep.Items) != 2 {
		t.Errorf("dry run report = %+v", rep)
	}
	rec, _ := b.store.Get(b.ctx, id)
	if len(rec.Requeued) != 0 {
		t.Errorf("dry run changed the record: %+v", rec.Requeued)
	}
	if b.clock.slept != 0 {
		t.Errorf("dry run waited %s for the rate limiter", b.clock.slept)
	}
}

func TestRequeueRate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 11
	for i := range n {
		b.mustAdd(t, newRec("rate", fmt.Sprintf("r-%d", i)), "p")
	}
	q := newFakeQueue(b.clock)
	var progress []int
	rep, err := b.store.Requeue(b.ctx, nil, Filter{Tenant: "rate"}, RequeueOptions{
		RatePerSecond: 5, Enqueue: q.Enqueue,
		Progress: func(done, total int) {
			if total != n {
				t.Errorf("progress total %d, want %d", total, n)
			}
			progress = append(progress, done)
		},
	})
	if err != nil || rep.Requeued != n {
		t.Fatalf("Requeue = %+v, %v", rep, err)
	}
	// Burst 1 at 5/s: the first goes at once, each next one 200 ms later.
	if want := (n - 1) * 200 * time.Millisecond; b.clock.slept != want {
		t.Errorf("waited %s in all, want %s", b.clock.slept, want)
	}
	for i := 1; i < len(q.at); i++ {
		if gap := q.at[i].Sub(q.at[i-1]); gap < 200*time.Millisecond {
			t.Errorf("enqueues %d and %d only %s apart at 5/s", i-1, i, gap)
		}
	}
	if len(progress) != n || progress[n-1] != n {
		t.Errorf("progress calls %v, want 1..%d", progress, n)
	}
}

func TestRequeueDefaultRate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 3 {
		b.mustAdd(t, newRec("defrate", fmt.Sprintf("dr-%d", i)), "p")
	}
	q := newFakeQueue(b.clock)
	if _, err := b.store.Requeue(b.ctx, nil, Filter{Tenant: "defrate"}, RequeueOptions{Enqueue: q.Enqueue}); err != nil {
		t.Fatal(err)
	}
	if want := 2 * time.Second / RequeueRateDefault; b.clock.slept != want {
		t.Errorf("waited %s for 3 records at the default rate, want %s", b.clock.slept, want)
	}
}

func TestRequeueFailures(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.mustAdd(t, newRec("fail", "f-1"), "p")
	q := newFakeQueue(b.clock)
	q.fail = errors.New("redis down")
	rep, err := b.store.Requeue(b.ctx, []string{id, "01MISSING", id}, Filter{}, RequeueOptions{Enqueue: q.Enqueue})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Matched != 2 || rep.Failed != 2 || rep.Requeued+rep.Skipped != 0 {
		t.Fatalf("report = %+v; want the duplicate id once, both failed", rep)
	}
	if rep.Items[0].Error != "enqueue: redis down" || rep.Items[1].ID != "01MISSING" || rep.Items[1].Error == "" {
		t.Errorf("items = %+v", rep.Items)
	}
	rec, _ := b.store.Get(b.ctx, id)
	if len(rec.Requeued) != 0 {
		t.Errorf("a failed enqueue was recorded: %+v", rec.Requeued)
	}

	// An earlier run enqueued the task and died before recording it: the
	// retry is refused by the queue and then recorded, not enqueued twice.
	q.fail = nil
	q.tasks[id+":rq1"] = []byte("p")
	rep, _ = b.store.Requeue(b.ctx, []string{id}, Filter{}, RequeueOptions{Enqueue: q.Enqueue})
	rec, _ = b.store.Get(b.ctx, id)
	if rep.Requeued != 1 || len(rec.Requeued) != 1 || len(q.order) != 0 {
		t.Errorf("recovery run = %+v, requeued %+v, new enqueues %d", rep, rec.Requeued, len(q.order))
	}
}

func TestRequeueRejectsBadOptions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	q := newFakeQueue(b.clock)
	tests := []struct {
		desc string
		ids  []string
		f    Filter
		opt  RequeueOptions
	}{
		{"nothing selected", nil, Filter{}, RequeueOptions{Enqueue: q.Enqueue}},
		{"ids and filter", []string{"a"}, Filter{Tenant: "x"}, RequeueOptions{Enqueue: q.Enqueue}},
		{"negative rate", []string{"a"}, Filter{}, RequeueOptions{RatePerSecond: -1, Enqueue: q.Enqueue}},
		{"no enqueue", []string{"a"}, Filter{}, RequeueOptions{}},
	}
	for _, tt := range tests {
		if _, err := b.store.Requeue(b.ctx, tt.ids, tt.f, tt.opt); err == nil {
			t.Errorf("%s: Requeue succeeded", tt.desc)
		}
	}
}

func TestRequeueStopsWithContext(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 5 {
		b.mustAdd(t, newRec("ctx", fmt.Sprintf("x-%d", i)), "p")
	}
	ctx, cancel := context.WithCancel(b.ctx)
	q := newFakeQueue(b.clock)
	enq := func(ctx context.Context, rec *Record, p []byte, id string) error {
		cancel()
		return q.Enqueue(ctx, rec, p, id)
	}
	rep, err := b.store.Requeue(ctx, nil, Filter{Tenant: "ctx"}, RequeueOptions{Enqueue: enq})
	if !errors.Is(err, context.Canceled) || rep.Matched != 1 || rep.Requeued != 1 || q.count() != 1 {
		t.Errorf("Requeue after cancel = %+v, %v; want one record requeued and context.Canceled", rep, err)
	}
	// The record whose task was enqueued as ctx ended still records it.
	rec, err := b.store.Get(b.ctx, rep.Items[0].ID)
	if err != nil || len(rec.Requeued) != 1 {
		t.Errorf("record of the enqueued task: %v, requeued %+v", err, rec.Requeued)
	}
}
