package deadletter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/vlensq/vlensq/internal/redistest"
)

// t0 is the fake clock's start.
var t0 = time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)

// fakeClock is an injectable clock; sleep advances it instead of waiting.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.slept += d
	return ctx.Err()
}

// trimLog records OnTrim calls.
type trimLog struct {
	mu    sync.Mutex
	calls []string
	n     map[string]int
}

func (l *trimLog) OnTrim(n int, reason string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, fmt.Sprintf("%d %s", n, reason))
	if l.n == nil {
		l.n = map[string]int{}
	}
	l.n[reason] += n
}

func (l *trimLog) total(reason string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n[reason]
}

type testBundle struct {
	ctx    context.Context
	store  *Store
	rdb    *redis.Client
	clock  *fakeClock
	trims  *trimLog
	prefix string
}

// setup returns a store with its own key prefix and a fake clock.
func setup(t testing.TB, opts ...func(*Config)) *testBundle {
	t.Helper()
	rdb := redistest.Client(t, redistest.DBDeadletter)
	b := &testBundle{ctx: context.Background(), rdb: rdb, clock: &fakeClock{now: t0}, trims: &trimLog{}}
	b.prefix = "t:" + strings.NewReplacer("/", ":", " ", "_").Replace(t.Name()) + ":" + randHex(4)
	cfg := Config{Prefix: b.prefix, Now: b.clock.Now, OnTrim: b.trims.OnTrim}
	for _, o := range opts {
		o(&cfg)
	}
	s, err := New(rdb, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s.sleep = b.clock.Sleep
	b.store = s
	return b
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newRec returns a realistic permanent failure record.
func newRec(tenant, taskID string) *Record {
	return &Record{
		TaskID: taskID,
		Queue:  "default",
		Type:   "verify:id_front",
		Tenant: tenant,
		Endpoint: Endpoint{
			Method: "POST",
			URL:    "https://api.vlenseg.com/api/DigitalIdentity/verify/id/front",
		},
		Request:           json.RawMessage(`{"image":"[redacted image 2048 bytes sha256:ab12]","transaction_id":"tx-1","getExtractedData":true}`),
		HTTPStatus:        200,
		Response:          json.RawMessage(`{"data":null,"error_code":3011,"error_message":"card not detected","error_descriptions":null}`),
		ErrorCode:         3011,
		ErrorMessage:      "card not detected",
		ErrorDescriptions: []string{},
		Class:             "permanent",
		Category:          "identity_verification",
		Resolution:        "Re-capture with better lighting and the ID filling most of the frame",
		Attempts:          1,
		History: []Attempt{{
			At: t0.Add(-time.Second), HTTPStatus: 200, ErrorCode: 3011, Class: "permanent", XRequestID: "req-" + taskID,
		}},
		TransactionID:       "tx-1",
		ClientTransactionID: "ctx-1",
		RequestID:           "",
	}
}

// mustAdd adds rec and fails the test unless a record was created.
func (b *testBundle) mustAdd(t testing.TB, rec *Record, payload string) string {
	t.Helper()
	id, created, err := b.store.Add(b.ctx, rec, []byte(payload))
	if err != nil {
		t.Fatalf("Add(%s): %v", rec.TaskID, err)
	}
	if !created {
		t.Fatalf("Add(%s): created=false, want a new record", rec.TaskID)
	}
	return id
}

// keyCount counts the store's keys in Redis.
func (b *testBundle) keyCount(t testing.TB) int {
	t.Helper()
	n := 0
	iter := b.rdb.Scan(b.ctx, 0, "{"+b.prefix+"}:*", 1000).Iterator()
	for iter.Next(b.ctx) {
		n++
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAddGet(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rec := newRec("acme", "task-1")
	id := b.mustAdd(t, rec, `{"image":"CANARY-PAYLOAD"}`)

	if len(id) != 26 || rec.ID != id {
		t.Fatalf("id = %q (rec.ID %q), want a 26-character ULID set on the record", id, rec.ID)
	}
	if !rec.FailedAt.Equal(t0) || !rec.FirstAttemptAt.Equal(t0) {
		t.Errorf("FailedAt, FirstAttemptAt = %v, %v; want the clock's now %v", rec.FailedAt, rec.FirstAttemptAt, t0)
	}
	got, err := b.store.Get(b.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(rec, got); d != "" {
		t.Errorf("Get differs from what was added (-added +got):\n%s", d)
	}
	if got.Requeued == nil || got.ErrorDescriptions == nil {
		t.Errorf("lists must be stored as [] not null: requeued=%v error_descriptions=%v", got.Requeued, got.ErrorDescriptions)
	}
	byTask, err := b.store.GetByTaskID(b.ctx, "task-1")
	if err != nil || byTask.ID != id {
		t.Errorf("GetByTaskID = %v, %v; want record %s", byTask, err, id)
	}
	p, err := b.store.Payload(b.ctx, id)
	if err != nil || string(p) != `{"image":"CANARY-PAYLOAD"}` {
		t.Errorf("Payload = %q, %v", p, err)
	}
	raw, err := b.rdb.Get(b.ctx, b.store.k.record(id)).Result()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw, "CANARY-PAYLOAD") {
		t.Error("the record JSON contains the task payload")
	}
	// Every key carries the store's hash tag (one Redis Cluster slot).
	iter := b.rdb.Scan(b.ctx, 0, "*"+b.prefix+"*", 1000).Iterator()
	keys := 0
	for iter.Next(b.ctx) {
		keys++
		if !strings.HasPrefix(iter.Val(), "{"+b.prefix+"}:") {
			t.Errorf("key %q lacks the hash tag {%s}", iter.Val(), b.prefix)
		}
	}
	if keys < 10 {
		t.Errorf("%d keys for one record, want record, payload, task map and indexes", keys)
	}
	for _, field := range []string{`"id"`, `"task_id"`, `"endpoint":{"method"`, `"http_status"`, `"error_code"`, `"error_descriptions":[]`, `"first_attempt_at":"2025-06-01T10:00:00Z"`, `"failed_at"`, `"history":[{"at"`, `"x_request_id"`, `"requeued":[]`} {
		if !strings.Contains(raw, field) {
			t.Errorf("stored JSON lacks %s: %s", field, raw)
		}
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.store.Get(b.ctx, "01NOPE")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(missing) = %v, want ErrNotFound", err)
	}
	if _, err := b.store.GetByTaskID(b.ctx, "no-task"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetByTaskID(missing) = %v, want ErrNotFound", err)
	}
	if _, err := b.store.Payload(b.ctx, "01NOPE"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Payload(missing) = %v, want ErrNotFound", err)
	}
}

func TestAddIdempotentPerTask(t *testing.T) {
	t.Parallel()
	b := setup(t)
	first := b.mustAdd(t, newRec("acme", "task-dup"), "p1")

	again := newRec("acme", "task-dup")
	again.ErrorMessage = "second write"
	id, created, err := b.store.Add(b.ctx, again, []byte("p2"))
	if err != nil {
		t.Fatal(err)
	}
	if created || id != first || again.ID != first {
		t.Errorf("second Add = %q created=%v (rec.ID %q); want the first id %q, created=false", id, created, again.ID, first)
	}
	got, _ := b.store.Get(b.ctx, first)
	if got.ErrorMessage != "card not detected" {
		t.Errorf("second Add overwrote the record: error_message %q", got.ErrorMessage)
	}
	if p, _ := b.store.Payload(b.ctx, first); string(p) != "p1" {
		t.Errorf("second Add overwrote the payload: %q", p)
	}
	if n, _ := b.store.Count(b.ctx, Filter{Tenant: "acme"}); n != 1 {
		t.Errorf("Count = %d, want 1", n)
	}
}

func TestAddConcurrentSameTask(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const workers = 20
	var wg sync.WaitGroup
	ids := make([]string, workers)
	created := make([]bool, workers)
	errs := make([]error, workers)
	start := make(chan struct{})
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ids[i], created[i], errs[i] = b.store.Add(b.ctx, newRec("conc", "task-race"), []byte("p"))
		}()
	}
	close(start)
	wg.Wait()
	nCreated := 0
	for i := range workers {
		if errs[i] != nil {
			t.Fatalf("Add %d: %v", i, errs[i])
		}
		if created[i] {
			nCreated++
		}
		if ids[i] != ids[0] {
			t.Errorf("Add %d returned id %s, Add 0 returned %s", i, ids[i], ids[0])
		}
	}
	if nCreated != 1 {
		t.Errorf("%d Adds created a record, want exactly 1", nCreated)
	}
	st, err := b.store.Stats(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Total != 1 || st.ByTenant["conc"] != 1 {
		t.Errorf("Stats total %d, tenant %d; want 1 and 1", st.Total, st.ByTenant["conc"])
	}
}

func TestAddRejectsBadRecords(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		desc  string
		rec   *Record
		field string
	}{
		{desc: "no task id", rec: &Record{Tenant: "x"}, field: "task_id"},
		{desc: "request not JSON", rec: &Record{TaskID: "t-bad-req", Request: json.RawMessage(`{"a":`)}, field: "request"},
		{desc: "response not JSON", rec: &Record{TaskID: "t-bad-resp", Response: json.RawMessage(`<html>`)}, field: "response"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, _, err := b.store.Add(b.ctx, tt.rec, nil)
			var ie *InputError
			if !errors.As(err, &ie) || ie.Field != tt.field {
				t.Fatalf("Add = %v, want an *InputError for field %q", err, tt.field)
			}
		})
	}
	if _, _, err := b.store.Add(b.ctx, nil, nil); err == nil {
		t.Error("Add(nil) succeeded")
	}
	if n := b.keyCount(t); n != 0 {
		t.Errorf("rejected records left %d keys", n)
	}
}

func TestAddKeepsNonJSONBodyAsString(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rec := newRec("gw", "task-html")
	rec.HTTPStatus = 502
	rec.Response = json.RawMessage(`"<html><body>Bad Gateway</body></html>"`)
	id := b.mustAdd(t, rec, "")
	got, err := b.store.Get(b.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var s string
	if err := json.Unmarshal(got.Response, &s); err != nil || s != "<html><body>Bad Gateway</body></html>" {
		t.Errorf("response = %s, want the raw body as a JSON string", got.Response)
	}
}

func TestAddBlanksSecrets(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rec := newRec("sec", "task-secret")
	rec.Request = json.RawMessage(`{"otpRequestId":"r1","otpCode":"CANARY-OTP","nested":{"Password":"CANARY-PW"},"requestId":7}`)
	id := b.mustAdd(t, rec, "")
	raw, _ := b.rdb.Get(b.ctx, b.store.k.record(id)).Result()
	for _, canary := range []string{"CANARY-OTP", "CANARY-PW"} {
		if strings.Contains(raw, canary) {
			t.Errorf("stored record contains secret %s", canary)
		}
	}
	got, _ := b.store.Get(b.ctx, id)
	var req map[string]any
	if err := json.Unmarshal(got.Request, &req); err != nil {
		t.Fatal(err)
	}
	if req["otpRequestId"] != "r1" || req["otpCode"] != Redacted || req["requestId"] != 7.0 {
		t.Errorf("request = %s; want otpCode redacted and other fields kept", got.Request)
	}
}
