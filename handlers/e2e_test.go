package handlers_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/handlers"
	"github.com/vlensq/vlensq/internal/app"
	"github.com/vlensq/vlensq/internal/config"
	"github.com/vlensq/vlensq/internal/redistest"
	"github.com/vlensq/vlensq/outcome"
	"github.com/vlensq/vlensq/tasks"
	"github.com/vlensq/vlensq/vlens"
	"github.com/vlensq/vlensq/vlens/vlenstest"
)

// The crash test re-runs this test binary as a worker process (see
// childWorker); TestMain turns into that worker when asked.
func TestMain(m *testing.M) {
	if os.Getenv("VLENSQ_E2E_CHILD") != "" {
		os.Exit(childWorker())
	}
	os.Exit(m.Run())
}

var seq atomic.Int64

type testBundle struct {
	app    *app.App
	fake   *vlenstest.Server
	rdb    *redis.Client
	insp   *asynq.Inspector
	tenant vlens.Tenant
	user   string
	queue  string
}

type setupOpts struct {
	policy       handlers.Policy
	noWorker     bool
	vlensTimeout time.Duration // app.Options.VlensTimeout
}

// fastPolicy keeps the policy's shape (×2, 3 attempts) at a tenth of the
// delays, so retry tests take a fraction of a second.
var fastPolicy = handlers.Policy{BaseDelay: 50 * time.Millisecond, MaxDelay: 800 * time.Millisecond, Jitter: -1}

func setup(t *testing.T, o setupOpts) *testBundle {
	t.Helper()
	rdb := redistest.Client(t, redistest.DBHandlers)
	n := seq.Add(1)
	tenant := vlens.Tenant{Name: fmt.Sprintf("tenant-%d-%d", os.Getpid(), n), APIKey: fmt.Sprintf("key-%d", n), Username: "admin", Password: "pw-" + fmt.Sprint(n)}
	fake := vlenstest.NewTestServer(t, vlenstest.Options{Tenants: []vlens.Tenant{tenant}})
	ts, err := vlens.NewTenantSet(tenant)
	if err != nil {
		t.Fatal(err)
	}
	r := &config.Redis{Client: rdb, ConnOpt: redistest.Opt(t, redistest.DBHandlers), Kind: "standalone"}
	// The callback test's endpoint is a plain-http loopback server.
	a, err := app.New(app.Options{Redis: r, Tenants: ts, VlensBaseURL: fake.URL, Policy: o.policy, DisableRateLimit: true,
		VlensTimeout: o.vlensTimeout, Callbacks: outcome.CallbackConfig{AllowPrivate: true, AllowHTTP: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	b := &testBundle{app: a, fake: fake, rdb: rdb, tenant: tenant, user: "user-1", queue: fmt.Sprintf("q-%d-%d", os.Getpid(), n),
		insp: asynq.NewInspectorFromRedisClient(rdb)}
	access, refresh := fake.UserTokens(tenant.Name, b.user)
	if err := a.Sessions.Put(context.Background(), tenant.Name, b.user, vlens.Session{AccessToken: access, RefreshToken: refresh}); err != nil {
		t.Fatal(err)
	}
	if !o.noWorker {
		b.startWorker(t)
	}
	return b
}

func (b *testBundle) startWorker(t *testing.T) {
	t.Helper()
	srv := b.app.NewServer(app.ServerOptions{Queues: map[string]int{b.queue: 1}, Concurrency: 10, ShutdownTimeout: 2 * time.Second})
	if err := srv.Start(b.app.Mux()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
}

var pngB64 = base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"))

// ocr enqueues an ocr:id_front task scripted by scenario.
func (b *testBundle) ocr(t *testing.T, scenario string) string {
	t.Helper()
	return b.enqueue(t, tasks.TypeOCRIDFront, &tasks.Payload{Tenant: b.tenant.Name, Image: &tasks.Image{Inline: pngB64}, Country: "EG",
		ClientTransactionID: scenario})
}

func (b *testBundle) enqueue(t *testing.T, typ string, p *tasks.Payload) string {
	t.Helper()
	info, err := b.app.Tasks.Enqueue(context.Background(), typ, p, tasks.EnqueueOptions{Queue: b.queue})
	if err != nil {
		t.Fatalf("enqueue %s: %v", typ, err)
	}
	return info.ID
}

// uniq makes a scenario key unique to the test.
func uniq(t *testing.T, steps string) string {
	return fmt.Sprintf("sandbox:%s#%s-%d", steps, strings.ReplaceAll(t.Name(), "/", "-"), seq.Add(1))
}

// outcomesOf returns every outcome published for taskID.
func (b *testBundle) outcomesOf(t *testing.T, taskID string) []outcome.Outcome {
	t.Helper()
	msgs, err := b.rdb.XRange(context.Background(), outcome.Stream, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []outcome.Outcome
	for _, m := range msgs {
		if o := outcome.FromFields(m.Values); o.TaskID == taskID {
			out = append(out, o)
		}
	}
	return out
}

// waitOutcome waits until taskID has an outcome, and checks it has only one.
func (b *testBundle) waitOutcome(t *testing.T, taskID string, within time.Duration) outcome.Outcome {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if got := b.outcomesOf(t, taskID); len(got) > 0 {
			if len(got) != 1 {
				t.Fatalf("task %s has %d outcomes, want exactly 1: %+v", taskID, len(got), got)
			}
			return got[0]
		}
		if time.Now().After(deadline) {
			info, _ := b.insp.GetTaskInfo(b.queue, taskID)
			t.Fatalf("task %s: no outcome within %v (task state: %+v)", taskID, within, info)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (b *testBundle) deadLetter(t *testing.T, o outcome.Outcome) *deadletter.Record {
	t.Helper()
	if o.DeadLetterID == "" {
		t.Fatalf("outcome %+v names no dead letter", o)
	}
	rec, err := b.app.DLQ.Get(context.Background(), o.DeadLetterID)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// callsFor counts the requests the fake received that carried scenario.
func (b *testBundle) callsFor(scenario string) []vlenstest.Request {
	var out []vlenstest.Request
	for _, r := range b.fake.Requests() {
		if r.Scenario == scenario {
			out = append(out, r)
		}
	}
	return out
}

func TestSuccessStoresResultAndPublishesOutcome(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	id := b.ocr(t, "kiosk-1")
	o := b.waitOutcome(t, id, 10*time.Second)
	if o.Status != outcome.StatusSucceeded || o.Class != "success" || o.Tenant != b.tenant.Name || o.Type != tasks.TypeOCRIDFront {
		t.Fatalf("outcome = %+v", o)
	}
	if !strings.Contains(string(o.Result), `"data"`) {
		t.Errorf("outcome result %s has no data", o.Result)
	}
	info, err := b.insp.GetTaskInfo(b.queue, id)
	if err != nil {
		t.Fatalf("completed task not kept for its result: %v", err)
	}
	// Asynqmon shows the same result the outcome carries.
	if info.State != asynq.TaskStateCompleted || string(info.Result) != string(o.Result) {
		t.Errorf("task state %v result %q, want the outcome's %q", info.State, info.Result, o.Result)
	}
	if _, err := b.app.DLQ.GetByTaskID(context.Background(), id); !errors.Is(err, deadletter.ErrNotFound) {
		t.Errorf("a succeeded task has a dead letter: %v", err)
	}
}

func TestTransientIsRetriedWithBackoffThenSucceeds(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{policy: fastPolicy})
	sc := uniq(t, "http503,http502html,ok")
	id := b.ocr(t, sc)
	o := b.waitOutcome(t, id, 15*time.Second)
	if o.Status != outcome.StatusSucceeded {
		t.Fatalf("outcome = %+v", o)
	}
	calls := b.callsFor(sc)
	if len(calls) != 3 {
		t.Fatalf("fake saw %d calls, want 3 (two failures, one success)", len(calls))
	}
	// Delays follow the policy (50 ms, then 100 ms; no jitter here), plus at
	// most the forwarder and polling intervals and scheduling noise.
	for i, want := range []time.Duration{50 * time.Millisecond, 100 * time.Millisecond} {
		gap := calls[i+1].At.Sub(calls[i].At)
		if gap < want || gap > want+time.Second {
			t.Errorf("retry %d came %v after the failure, want %v (+ forwarding slack)", i+1, gap, want)
		}
	}
}

func TestTransientExhaustedIsDeadLettered(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{policy: fastPolicy})
	sc := uniq(t, "http500")
	id := b.ocr(t, sc)
	o := b.waitOutcome(t, id, 15*time.Second)
	if o.Status != outcome.StatusDeadLettered || o.Class != "transient" || o.Category != "server" {
		t.Fatalf("outcome = %+v", o)
	}
	rec := b.deadLetter(t, o)
	if !rec.RetriesExhausted || rec.Attempts != handlers.MaxAttemptsDefault || len(rec.History) != handlers.MaxAttemptsDefault {
		t.Errorf("record: retries_exhausted=%v attempts=%d history=%d, want true/3/3", rec.RetriesExhausted, rec.Attempts, len(rec.History))
	}
	for _, h := range rec.History {
		if h.HTTPStatus != 500 || h.XRequestID == "" || h.Class != "transient" {
			t.Errorf("history entry %+v", h)
		}
	}
	if got := len(b.callsFor(sc)); got != handlers.MaxAttemptsDefault {
		t.Errorf("fake saw %d calls, want %d", got, handlers.MaxAttemptsDefault)
	}
	waitArchived(t, b, id)
}

func waitArchived(t *testing.T, b *testBundle, id string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		info, err := b.insp.GetTaskInfo(b.queue, id)
		if err == nil && info.State == asynq.TaskStateArchived {
			if strings.Contains(info.LastErr, "sandbox") || strings.Contains(info.LastErr, b.tenant.APIKey) {
				t.Errorf("LastErr shown in Asynqmon leaks request data: %q", info.LastErr)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s not archived: %+v %v", id, info, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPermanentFailuresAreDeadLetteredWithoutRetry(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{policy: fastPolicy})
	tests := []struct {
		steps    string
		category string
		code     int
		status   int
		check    func(t *testing.T, rec *deadletter.Record)
	}{
		{steps: "services3011", category: "identity_verification", code: 3011, status: 200, check: func(t *testing.T, rec *deadletter.Record) {
			if !strings.Contains(string(rec.Response), "validation_errors") {
				t.Errorf("response does not keep the services block: %s", rec.Response)
			}
		}},
		{steps: "http400desc", category: "validation", code: 400, status: 400, check: func(t *testing.T, rec *deadletter.Record) {
			if len(rec.ErrorDescriptions) == 0 || !strings.Contains(strings.Join(rec.ErrorDescriptions, " "), "image") {
				t.Errorf("error_descriptions = %q, want the field list", rec.ErrorDescriptions)
			}
		}},
		{steps: "fake", category: "identity_verification", status: 200},
		{steps: "code:9999", category: "unknown", code: 9999, status: 200},
		// Last: an account-level error also pauses the tenant (circuit
		// breaker), so a later task of this tenant would wait.
		{steps: "code:4002", category: "account", code: 4002, status: 200},
	}
	for _, tc := range tests {
		t.Run(tc.steps, func(t *testing.T) {
			sc := uniq(t, tc.steps)
			id := b.ocr(t, sc)
			o := b.waitOutcome(t, id, 10*time.Second)
			if o.Status != outcome.StatusDeadLettered || o.Class != "permanent" || o.Category != tc.category {
				t.Fatalf("outcome = %+v, want dead_lettered permanent/%s", o, tc.category)
			}
			rec := b.deadLetter(t, o)
			if rec.ErrorCode != tc.code || rec.HTTPStatus != tc.status || rec.Attempts != 1 || rec.Resolution == "" {
				t.Errorf("record code=%d http=%d attempts=%d resolution=%q", rec.ErrorCode, rec.HTTPStatus, rec.Attempts, rec.Resolution)
			}
			if rec.Endpoint.Method != "POST" || !strings.HasSuffix(rec.Endpoint.URL, "/v1/ocr/id/front") {
				t.Errorf("endpoint = %+v", rec.Endpoint)
			}
			if strings.Contains(string(rec.Request), pngB64) || !strings.Contains(string(rec.Request), "redacted") {
				t.Errorf("request not redacted: %s", rec.Request)
			}
			if rec.ClientTransactionID != sc || rec.TaskID != id || rec.Tenant != b.tenant.Name || rec.Queue != b.queue {
				t.Errorf("record ids: %+v", rec)
			}
			if got := len(b.callsFor(sc)); got != 1 {
				t.Errorf("fake saw %d calls, want 1: permanent failures are never retried", got)
			}
			if tc.check != nil {
				tc.check(t, rec)
			}
			waitArchived(t, b, id)
		})
	}
}

func TestExpiredTokenIsRefreshedAndReplayedOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{policy: fastPolicy})
	before, err := b.app.Sessions.Get(context.Background(), b.tenant.Name, b.user)
	if err != nil {
		t.Fatal(err)
	}
	sc := uniq(t, "expire,ok")
	id := b.enqueue(t, tasks.TypeVerifyIDFront, &tasks.Payload{Tenant: b.tenant.Name, User: b.user, Image: &tasks.Image{Inline: pngB64}, ClientTransactionID: sc})
	o := b.waitOutcome(t, id, 10*time.Second)
	if o.Status != outcome.StatusSucceeded {
		t.Fatalf("outcome = %+v", o)
	}
	if got := b.fake.Refreshes(b.tenant.Name, b.user); got != 1 {
		t.Errorf("user token refreshed %d times, want 1", got)
	}
	if got := len(b.callsFor(sc)); got != 2 {
		t.Errorf("fake saw %d calls, want 2 (the 401, then the replay)", got)
	}
	after, err := b.app.Sessions.Get(context.Background(), b.tenant.Name, b.user)
	if err != nil {
		t.Fatal(err)
	}
	if after.AccessToken == before.AccessToken || after.RefreshToken == before.RefreshToken {
		t.Error("the refreshed (and rotated) tokens were not written back to the session store")
	}
}

func TestThrottlingDoesNotSpendAttempts(t *testing.T) {
	t.Parallel()
	// ThrottleMin bounds Retry-After from below; lower it so the test is quick.
	b := setup(t, setupOpts{policy: handlers.Policy{BaseDelay: 50 * time.Millisecond, ThrottleMin: 50 * time.Millisecond, Jitter: -1}})
	// Four throttled answers: more than the 3 attempts a transient failure gets.
	sc := uniq(t, "http429:0,http429:0,http429:0,http429:0,ok")
	id := b.ocr(t, sc)
	o := b.waitOutcome(t, id, 15*time.Second)
	if o.Status != outcome.StatusSucceeded {
		t.Fatalf("outcome = %+v: throttling spent the task's attempts", o)
	}
	if got := len(b.callsFor(sc)); got != 5 {
		t.Errorf("fake saw %d calls, want 5", got)
	}
}

func TestBadPayloadIsDeadLetteredNamingTheField(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{policy: fastPolicy})
	client := asynq.NewClientFromRedisClient(b.rdb)
	defer client.Close()
	cases := map[string]struct {
		typ, payload, want string
	}{
		"malformed": {typ: tasks.TypeOCRIDFront, payload: `{"tenant":`, want: "payload"},
		"no image":  {typ: tasks.TypeOCRIDFront, payload: `{"tenant":"` + b.tenant.Name + `","country":"EG"}`, want: "image"},
		"unknown":   {typ: "ocr:selfie", payload: `{"tenant":"` + b.tenant.Name + `"}`, want: "type"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			info, err := client.Enqueue(asynq.NewTask(tc.typ, []byte(tc.payload)), asynq.Queue(b.queue))
			if err != nil {
				t.Fatal(err)
			}
			o := b.waitOutcome(t, info.ID, 10*time.Second)
			if o.Status != outcome.StatusDeadLettered || o.Class != "permanent" || o.Category != "validation" {
				t.Fatalf("outcome = %+v", o)
			}
			if rec := b.deadLetter(t, o); !strings.Contains(rec.ErrorMessage, tc.want) {
				t.Errorf("error_message %q does not name %q", rec.ErrorMessage, tc.want)
			}
		})
	}
}

// A re-run after a crash that happened after Vlens answered must not call
// Vlens again (a business OTP would be sent twice).
func TestJournalledResponseIsNotCalledAgain(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{policy: fastPolicy})
	id := fmt.Sprintf("journal-%d", seq.Add(1))
	body := `{"data":{"otpRequestId":"otp-42"},"error_code":null,"error_message":null,"error_descriptions":null}`
	if err := b.rdb.HSet(context.Background(), "vlensq:task:{"+id+"}:journal", "response", body).Err(); err != nil {
		t.Fatal(err)
	}
	requestID := "5d1e0c3b-7a2f-4e8d-9b6a-1c0f3e2d4b59"
	_, err := b.app.Tasks.Enqueue(context.Background(), tasks.TypeBusinessRequestOTP, &tasks.Payload{
		Tenant: b.tenant.Name, User: b.user, BusinessRequestID: tasks.TextID(requestID),
		GeoLocation: &tasks.GeoLocation{Latitude: 30, Longitude: 31}, UserDeviceUTCTime: time.Now().UTC().Format(time.RFC3339),
	}, tasks.EnqueueOptions{Queue: b.queue, ID: id})
	if err != nil {
		t.Fatal(err)
	}
	o := b.waitOutcome(t, id, 10*time.Second)
	if o.Status != outcome.StatusSucceeded || !strings.Contains(string(o.Result), "otp-42") {
		t.Fatalf("outcome = %+v", o)
	}
	if n := b.fake.OTPsSent(requestID); n != 0 {
		t.Errorf("fake sent %d OTPs; the journalled answer should have been used", n)
	}
}

// A crash between writing the dead-letter record and publishing the outcome:
// the re-run publishes the existing record's outcome and calls nothing.
func TestDeadLetterWrittenBeforeCrashIsPublishedOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{policy: fastPolicy})
	ctx := context.Background()
	id := fmt.Sprintf("dl-crash-%d", seq.Add(1))
	rec := &deadletter.Record{TaskID: id, Queue: b.queue, Type: tasks.TypeOCRIDFront, Tenant: b.tenant.Name, Class: "permanent",
		Category: "identity_verification", ErrorCode: 3011, Attempts: 1, FailedAt: time.Now().UTC(), FirstAttemptAt: time.Now().UTC()}
	dlID, _, err := b.app.DLQ.Add(ctx, rec, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.rdb.HSet(ctx, "vlensq:task:{"+id+"}:journal", "state", "dead_lettering").Err(); err != nil {
		t.Fatal(err)
	}
	sc := uniq(t, "ok")
	_, err = b.app.Tasks.Enqueue(ctx, tasks.TypeOCRIDFront, &tasks.Payload{Tenant: b.tenant.Name, Image: &tasks.Image{Inline: pngB64}, Country: "EG", ClientTransactionID: sc},
		tasks.EnqueueOptions{Queue: b.queue, ID: id})
	if err != nil {
		t.Fatal(err)
	}
	o := b.waitOutcome(t, id, 10*time.Second)
	if o.Status != outcome.StatusDeadLettered || o.DeadLetterID != dlID {
		t.Fatalf("outcome = %+v, want dead_lettered as %s", o, dlID)
	}
	if n := len(b.callsFor(sc)); n != 0 {
		t.Errorf("fake saw %d calls for a task already dead-lettered", n)
	}
	if n, _ := b.app.DLQ.Count(ctx, deadletter.Filter{Tenant: b.tenant.Name}); n != 1 {
		t.Errorf("%d dead letters for the tenant, want 1", n)
	}
}

func TestCallbackURLReceivesTheOutcome(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{policy: fastPolicy})
	got := make(chan outcome.Outcome, 4)
	var calls atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var o outcome.Outcome
		_ = json.NewDecoder(r.Body).Decode(&o)
		// The first delivery fails: the callback is retried, not dropped.
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		got <- o
	}))
	defer hook.Close()
	// The callback queue must be served too: outcome.CallbackQueueDefault.
	srv := b.app.NewServer(app.ServerOptions{Queues: map[string]int{outcome.CallbackQueueDefault: 1}, Concurrency: 2})
	if err := srv.Start(b.app.Mux()); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()

	id := b.enqueue(t, tasks.TypeOCRIDFront, &tasks.Payload{Tenant: b.tenant.Name, Image: &tasks.Image{Inline: pngB64}, Country: "EG",
		ClientTransactionID: uniq(t, "code:3011"), CallbackURL: hook.URL + "/vlens-outcomes"})
	select {
	case o := <-got:
		if o.TaskID != id || o.Status != outcome.StatusDeadLettered || o.Code != 3011 || o.DeadLetterID == "" {
			t.Fatalf("callback body = %+v", o)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("no successful callback delivery within 15 s (%d attempts)", calls.Load())
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d callback deliveries, want 2 (one failed, one retried)", n)
	}
}
