package outcome

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/vlensq/vlensq/internal/redistest"
)

type testBundle struct {
	rdb    *redis.Client
	client *asynq.Client
	pub    *Publisher
	stream string
	queue  string
	run    int64
}

// id makes a task id unique to this run.
func (b *testBundle) id(name string) string { return fmt.Sprintf("%s-%d", name, b.run) }

func setup(t *testing.T) *testBundle {
	t.Helper()
	rdb := redistest.Client(t, redistest.DBOutcome)
	client := asynq.NewClientFromRedisClient(rdb)
	// Unique per run: the database is flushed once per test binary, and
	// -count=N runs each test N times in it.
	run := time.Now().UnixNano()
	stream := fmt.Sprintf("test:outcomes:%s:%d", t.Name(), run)
	queue := fmt.Sprintf("cb-%d", run)
	return &testBundle{
		rdb: rdb, client: client, stream: stream, queue: queue, run: run,
		pub: NewPublisher(rdb, client, Config{Stream: stream, CallbackQueue: queue}),
	}
}

func TestPublishOncePerTask(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	o := Outcome{TaskID: b.id("t1"), Type: "ocr:id_front", Tenant: "acme", Status: StatusDeadLettered, Class: "permanent",
		Category: "identity_verification", Code: 3011, DeadLetterID: "dl1"}

	// 20 concurrent publishes of the same task (a crash re-run racing the
	// original) produce exactly one entry.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := b.pub.Publish(ctx, o, "")
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d publishes reported success, want 1", wins)
	}
	entries, err := b.rdb.XRange(ctx, b.stream, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("stream has %d entries, want 1", len(entries))
	}
	got := FromFields(entries[0].Values)
	if got.TaskID != b.id("t1") || got.Status != StatusDeadLettered || got.Code != 3011 || got.DeadLetterID != "dl1" || got.At.IsZero() {
		t.Errorf("entry = %+v", got)
	}
	st, dl, seen, err := b.pub.Seen(ctx, b.id("t1"))
	if err != nil || !seen || st != StatusDeadLettered || dl != "dl1" {
		t.Errorf("Seen = %q %q %v %v", st, dl, seen, err)
	}
	if _, _, seen, _ := b.pub.Seen(ctx, "other"); seen {
		t.Error("Seen reports a task that never published")
	}
}

func TestPublishKeepsResultAndCapsStream(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.pub.cfg.MaxLen = 10
	for i := range 500 {
		o := Outcome{TaskID: b.id(fmt.Sprintf("cap-%d", i)), Status: StatusSucceeded, Class: "success",
			Result: json.RawMessage(`{"isMatched":true}`)}
		if _, err := b.pub.Publish(ctx, o, ""); err != nil {
			t.Fatal(err)
		}
	}
	n, err := b.rdb.XLen(ctx, b.stream).Result()
	if err != nil {
		t.Fatal(err)
	}
	// MAXLEN ~ trims whole macro nodes: the length stays near the cap, far
	// below what was written.
	if n >= 500 || n < 10 {
		t.Fatalf("stream length %d after 500 publishes with cap 10", n)
	}
	last, err := b.rdb.XRevRangeN(ctx, b.stream, "+", "-", 1).Result()
	if err != nil {
		t.Fatal(err)
	}
	if got := FromFields(last[0].Values); string(got.Result) != `{"isMatched":true}` || got.TaskID != b.id("cap-499") {
		t.Errorf("newest entry = %+v", got)
	}
}

func TestPublishRequiresTaskID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if _, err := b.pub.Publish(context.Background(), Outcome{Status: StatusSucceeded}, ""); err == nil {
		t.Fatal("publish without task_id succeeded")
	}
}

func TestPublishSchedulesOneCallback(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	o := Outcome{TaskID: b.id("cb1"), Status: StatusSucceeded, Class: "success"}
	for range 2 {
		if _, err := b.pub.Publish(ctx, o, "http://127.0.0.1:1/hook"); err != nil {
			t.Fatal(err)
		}
	}
	insp := asynq.NewInspectorFromRedisClient(b.rdb)
	info, err := insp.GetTaskInfo(b.queue, "callback:"+b.id("cb1"))
	if err != nil {
		t.Fatalf("callback task not enqueued: %v", err)
	}
	if info.Type != TypeCallback || info.MaxRetry != CallbackMaxRetryDefault {
		t.Errorf("callback task = %s maxretry %d", info.Type, info.MaxRetry)
	}
	q, err := insp.GetQueueInfo(b.queue)
	if err != nil {
		t.Fatal(err)
	}
	if q.Size != 1 {
		t.Errorf("callback queue holds %d tasks, want 1", q.Size)
	}
}

// Entries older than MaxAge go, whatever their number: a quiet stream does
// not keep results with personal data forever.
func TestPublishDropsEntriesOlderThanMaxAge(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	// Three entries written two hours ago (their ids carry the time).
	old := time.Now().Add(-2 * time.Hour).UnixMilli()
	for i := range 3 {
		if err := b.rdb.XAdd(ctx, &redis.XAddArgs{Stream: b.stream, ID: fmt.Sprintf("%d-%d", old, i), Values: []any{"task_id", b.id(fmt.Sprint("old-", i))}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	pub := NewPublisher(b.rdb, nil, Config{Stream: b.stream, MaxAge: time.Hour})
	if _, err := pub.Publish(ctx, Outcome{TaskID: b.id("new"), Status: StatusSucceeded}, ""); err != nil {
		t.Fatal(err)
	}
	msgs, err := b.rdb.XRange(ctx, b.stream, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || FromFields(msgs[0].Values).TaskID != b.id("new") {
		t.Fatalf("stream after the age limit: %+v, want only the new entry", msgs)
	}
	// A negative MaxAge keeps entries whatever their age (with a limit,
	// this clock would drop them all).
	keep := NewPublisher(b.rdb, nil, Config{Stream: b.stream, MaxAge: -1, Now: func() time.Time { return time.Now().Add(1000 * time.Hour) }})
	if _, err := keep.Publish(ctx, Outcome{TaskID: b.id("kept"), Status: StatusSucceeded}, ""); err != nil {
		t.Fatal(err)
	}
	if n := b.rdb.XLen(ctx, b.stream).Val(); n != 2 {
		t.Errorf("with no age limit the stream has %d entries, want 2", n)
	}
}
