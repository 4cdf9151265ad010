package handlers_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/handlers"
	"github.com/vlensq/vlensq/internal/redistest"
	"github.com/vlensq/vlensq/outcome"
	"github.com/vlensq/vlensq/tasks"
	"github.com/vlensq/vlensq/vlens"
)

// failScripts fails the first n script runs (EVALSHA / EVAL) of the client
// it is added to: a dead-letter store on it cannot write its records.
type failScripts struct{ left atomic.Int32 }

func (f *failScripts) DialHook(next redis.DialHook) redis.DialHook { return next }
func (f *failScripts) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (f *failScripts) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if n := cmd.Name(); (n == "evalsha" || n == "eval") && f.left.Add(-1) >= 0 {
			err := errors.New("injected: dead-letter write failed")
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}

// useHandler replaces the bundle's handler by one built from its app with
// mod applied, and starts the worker.
func (b *testBundle) useHandler(t *testing.T, policy handlers.Policy, mod func(*handlers.Config)) {
	t.Helper()
	cfg := handlers.Config{Redis: b.rdb, Vlens: b.app.Vlens, Blobs: b.app.Blobs, DeadLetters: b.app.DLQ,
		Outcomes: b.app.Outcomes, Policy: policy}
	mod(&cfg)
	h, err := handlers.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.app.Handler = h
	b.startWorker(t)
}

// enqueueRaw enqueues p with asynq's own client and MaxRetry.
func (b *testBundle) enqueueRaw(t *testing.T, typ string, p *tasks.Payload, maxRetry int) string {
	t.Helper()
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	c := asynq.NewClientFromRedisClient(b.rdb)
	defer c.Close()
	info, err := c.Enqueue(asynq.NewTask(typ, raw), asynq.Queue(b.queue), asynq.MaxRetry(maxRetry))
	if err != nil {
		t.Fatal(err)
	}
	return info.ID
}

// A dead-letter write that keeps failing must not let asynq's budget run
// out first and archive the task with no record and no outcome.
func TestFailingDeadLetterWriteStillEndsWithOneOutcome(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorker: true})
	dlqRedis := redis.NewClient(&redis.Options{Addr: redistest.Addr(), DB: redistest.DBHandlers})
	t.Cleanup(func() { _ = dlqRedis.Close() })
	fails := &failScripts{}
	fails.left.Store(4) // more than the task's three attempts
	dlqRedis.AddHook(fails)
	store, err := deadletter.New(dlqRedis, deadletter.Config{})
	if err != nil {
		t.Fatal(err)
	}
	b.useHandler(t, fastPolicy, func(c *handlers.Config) { c.DeadLetters = store })

	id := b.enqueueRaw(t, tasks.TypeOCRIDFront, &tasks.Payload{Tenant: b.tenant.Name, Image: &tasks.Image{Inline: pngB64},
		Country: "EG", ClientTransactionID: uniq(t, "code:4002")}, 2)
	o := b.waitOutcome(t, id, 20*time.Second)
	if o.Status != outcome.StatusDeadLettered || o.Class != "permanent" || o.Category != "account" || o.Code != 4002 {
		t.Fatalf("outcome = %+v, want the 4002 dead letter", o)
	}
	if left := fails.left.Load(); left > 0 {
		t.Errorf("%d injected failures left: the test did not exercise them", left)
	}
	waitArchived(t, b, id)
	if rec := b.deadLetter(t, o); rec.TaskID != id || rec.ErrorCode != 4002 {
		t.Errorf("record = %+v", rec)
	}
	if n := len(b.outcomesOf(t, id)); n != 1 {
		t.Errorf("%d outcomes, want exactly 1", n)
	}
}

// brokenBlobs fails every read, as an unreachable image store would.
type brokenBlobs struct{ reads atomic.Int32 }

func (bb *brokenBlobs) Get(context.Context, tasks.BlobRef) ([]byte, error) {
	bb.reads.Add(1)
	return nil, errors.New("injected: blob store unreachable")
}

// A failure of our own (here the image store) is retried a bounded number
// of times, then dead-lettered with category internal and an outcome.
func TestInternalFailuresAreBoundedAndDeadLettered(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorker: true})
	blobs := &brokenBlobs{}
	p := fastPolicy
	p.InternalAttempts = 3
	b.useHandler(t, p, func(c *handlers.Config) { c.Blobs = blobs })
	ref := &tasks.BlobRef{Key: "sha256:" + strings.Repeat("ab", 32), Size: 67, Type: "image/png"}
	id := b.enqueueRaw(t, tasks.TypeOCRIDFront, &tasks.Payload{Tenant: b.tenant.Name, Image: &tasks.Image{Ref: ref}, Country: "EG"},
		tasks.MaxRetryDefault)
	o := b.waitOutcome(t, id, 20*time.Second)
	if o.Status != outcome.StatusDeadLettered || o.Category != string(vlens.CategoryInternal) {
		t.Fatalf("outcome = %+v, want dead_lettered internal", o)
	}
	rec := b.deadLetter(t, o)
	if !rec.RetriesExhausted || rec.Attempts != 3 || !strings.Contains(rec.ErrorMessage, "blob store unreachable") {
		t.Errorf("record retries_exhausted=%v attempts=%d error_message=%q", rec.RetriesExhausted, rec.Attempts, rec.ErrorMessage)
	}
	if n := blobs.reads.Load(); n != 3 {
		t.Errorf("%d blob reads, want 3 (one per attempt)", n)
	}
	waitArchived(t, b, id)
}

// Vlens throttling that never clears (a 4003 on every call) ends after the
// policy's throttle limit instead of calling Vlens every minute forever.
func TestPermanentlyThrottledTaskEnds(t *testing.T) {
	t.Parallel()
	p := handlers.Policy{BaseDelay: 50 * time.Millisecond, ThrottleMin: 50 * time.Millisecond, ThrottleMax: 50 * time.Millisecond,
		Jitter: -1, ThrottleLimit: 400 * time.Millisecond}
	b := setup(t, setupOpts{policy: p})
	sc := uniq(t, "code:4003")
	id := b.ocr(t, sc)
	o := b.waitOutcome(t, id, 15*time.Second)
	if o.Status != outcome.StatusDeadLettered || o.Class != "throttled" || o.Code != 4003 || o.Reason != deadletter.ReasonThrottledTooLong {
		t.Fatalf("outcome = %+v, want dead_lettered throttled 4003 throttled_too_long", o)
	}
	calls := b.callsFor(sc)
	if len(calls) < 2 {
		t.Fatalf("fake saw %d calls, want the throttled retries before the limit", len(calls))
	}
	// The clock starts when the first answer is handled, a few ms after the
	// fake saw the call; allow for that.
	if span := calls[len(calls)-1].At.Sub(calls[0].At); span < p.ThrottleLimit-50*time.Millisecond {
		t.Errorf("ended %v after the first throttled answer, before the %v limit", span, p.ThrottleLimit)
	}
	if rec := b.deadLetter(t, o); rec.Reason != deadletter.ReasonThrottledTooLong || !strings.Contains(rec.Resolution, "throttling") {
		t.Errorf("record reason=%q resolution=%q", rec.Reason, rec.Resolution)
	}
	waitArchived(t, b, id)
}

// --max-attempts above asynq's MaxRetry: the task is dead-lettered on the
// last attempt asynq allows, not archived without a record.
func TestAttemptsAboveAsynqBudgetAreDeadLettered(t *testing.T) {
	t.Parallel()
	p := fastPolicy
	p.MaxAttempts = 5
	b := setup(t, setupOpts{noWorker: true})
	b.useHandler(t, p, func(*handlers.Config) {})
	sc := uniq(t, "http500")
	id := b.enqueueRaw(t, tasks.TypeOCRIDFront, &tasks.Payload{Tenant: b.tenant.Name, Image: &tasks.Image{Inline: pngB64},
		Country: "EG", ClientTransactionID: sc}, 1)
	o := b.waitOutcome(t, id, 15*time.Second)
	if o.Status != outcome.StatusDeadLettered || o.Class != "transient" || o.Reason != deadletter.ReasonAttemptBudget {
		t.Fatalf("outcome = %+v, want dead_lettered transient attempt_budget", o)
	}
	if rec := b.deadLetter(t, o); !rec.RetriesExhausted || rec.Attempts != 2 || rec.HTTPStatus != 500 {
		t.Errorf("record retries_exhausted=%v attempts=%d http=%d, want true/2/500", rec.RetriesExhausted, rec.Attempts, rec.HTTPStatus)
	}
	if n := len(b.callsFor(sc)); n != 2 {
		t.Errorf("fake saw %d calls, want 2 (asynq's MaxRetry 1)", n)
	}
	waitArchived(t, b, id)
}
