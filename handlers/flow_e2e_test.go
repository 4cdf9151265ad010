package handlers_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/flows"
	"github.com/vlensq/vlensq/internal/redistest"
	"github.com/vlensq/vlensq/outcome"
	"github.com/vlensq/vlensq/tasks"
	"github.com/vlensq/vlensq/vlens"
)

// pngImage returns a distinct small PNG for each n (the fake checks the
// signature; liveness frames must differ).
func pngImage(n int) *tasks.Image {
	raw, _ := base64.StdEncoding.DecodeString(pngB64)
	return tasks.ImageBytes(append(raw, byte(n)))
}

// identity enqueues a verify:identity task; clientTx (a scenario or "")
// rides in every step's body.
func (b *testBundle) identity(t *testing.T, clientTx string) string {
	t.Helper()
	return b.enqueue(t, tasks.TypeVerifyIdentity, b.identityPayload(clientTx))
}

func (b *testBundle) identityPayload(clientTx string) *tasks.Payload {
	return &tasks.Payload{Tenant: b.tenant.Name, User: b.user, FrontImage: pngImage(1), BackImage: pngImage(2),
		Face1: pngImage(11), Face2: pngImage(12), Face3: pngImage(13), ClientTransactionID: clientTx}
}

// stepCalls lists the verify steps the fake answered for the bundle's
// tenant, in order, by step name.
func (b *testBundle) stepCalls() []string {
	var out []string
	for _, r := range b.fake.Requests() {
		if r.Tenant != b.tenant.Name {
			continue
		}
		switch {
		case strings.HasSuffix(r.Path, "/verify/id/front"):
			out = append(out, flows.StepFront)
		case strings.HasSuffix(r.Path, "/verify/id/back"):
			out = append(out, flows.StepBack)
		case strings.HasSuffix(r.Path, "/verify/liveness/multi"):
			out = append(out, flows.StepLiveness)
		}
	}
	return out
}

func identityResult(t *testing.T, o outcome.Outcome) flows.Result {
	t.Helper()
	if o.Status != outcome.StatusSucceeded || o.Type != tasks.TypeVerifyIdentity {
		t.Fatalf("outcome = %+v, want a succeeded %s", o, tasks.TypeVerifyIdentity)
	}
	var r flows.Result
	if err := json.Unmarshal(o.Result, &r); err != nil {
		t.Fatalf("result %s: %v", o.Result, err)
	}
	return r
}

// checkOneTransaction checks that every step answered for the result's
// transaction_id and that the outcome names it.
func checkOneTransaction(t *testing.T, o outcome.Outcome, r flows.Result) {
	t.Helper()
	if r.TransactionID == "" || o.TransactionID != r.TransactionID {
		t.Errorf("outcome transaction_id %q, result's %q", o.TransactionID, r.TransactionID)
	}
	for _, s := range flows.Identity {
		var res struct {
			Data struct {
				TransactionID string `json:"transaction_id"`
			} `json:"data"`
		}
		if err := json.Unmarshal(r.Steps[s.Name], &res); err != nil || res.Data.TransactionID != r.TransactionID {
			t.Errorf("step %s answered for transaction %q (err %v), want %q", s.Name, res.Data.TransactionID, err, r.TransactionID)
		}
	}
}

func TestIdentityRunsThreeStepsWithOneTransaction(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{policy: fastPolicy})
	id := b.identity(t, "")
	o := b.waitOutcome(t, id, 15*time.Second)
	r := identityResult(t, o)
	checkOneTransaction(t, o, r)
	if !r.IsDigitalIdentityVerified || !r.IsVerificationProcessCompleted {
		t.Errorf("verdict %+v, want verified and completed", r)
	}
	if got, want := b.stepCalls(), []string{"front", "back", "liveness"}; !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	if strings.Contains(string(o.Result), pngB64[:16]) {
		t.Error("the result holds image bytes")
	}
	if n, _ := b.rdb.Exists(context.Background(), flows.Key(id)).Result(); n != 0 {
		t.Error("the step journal outlived the finished task")
	}
	// The payload asynq holds has claim-check references, not images.
	info, err := b.insp.GetTaskInfo(b.queue, id)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(info.Payload, []byte(pngB64[:16])) || !bytes.Contains(info.Payload, []byte(`"front_image":{"blob"`)) {
		t.Errorf("task payload does not hold blob references: %.200s", info.Payload)
	}
}

func TestIdentityTransientBackFailureRetriesOnlyBack(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{policy: fastPolicy})
	id := b.identity(t, uniq(t, "ok,http503,ok,ok"))
	o := b.waitOutcome(t, id, 15*time.Second)
	r := identityResult(t, o)
	checkOneTransaction(t, o, r)
	if got, want := b.stepCalls(), []string{"front", "back", "back", "liveness"}; !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
}

// A permanent liveness failure is dead-lettered naming the step; requeue
// resumes at liveness, --restart starts from the front.
func TestIdentityLivenessFailureDeadLettersAndRequeueResumes(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{policy: fastPolicy})
	sc := uniq(t, "ok,ok,liveness_false,ok")
	id := b.identity(t, sc)
	o := b.waitOutcome(t, id, 15*time.Second)
	if o.Status != outcome.StatusDeadLettered {
		t.Fatalf("outcome = %+v, want dead_lettered", o)
	}
	rec := b.deadLetter(t, o)
	if rec.Step != flows.StepLiveness || !strings.HasSuffix(rec.Endpoint.URL, "/verify/liveness/multi") || rec.Class != "permanent" {
		t.Errorf("record step %q endpoint %+v class %s, want the liveness step's", rec.Step, rec.Endpoint, rec.Class)
	}
	if !bytes.Contains(rec.Response, []byte(`"liveness"`)) || bytes.Contains(rec.Request, []byte(pngB64[:16])) {
		t.Errorf("record response %s / request %s: want the liveness envelope and a redacted request", rec.Response, rec.Request)
	}
	wantSteps := []deadletter.Step{
		{Step: "front", Status: deadletter.StepSucceeded},
		{Step: "back", Status: deadletter.StepSucceeded},
		{Step: "liveness", Status: deadletter.StepFailed},
	}
	if len(rec.Steps) != 3 {
		t.Fatalf("record steps %+v", rec.Steps)
	}
	for i, s := range rec.Steps {
		if s.Step != wantSteps[i].Step || s.Status != wantSteps[i].Status {
			t.Errorf("steps[%d] = %+v, want %+v", i, s, wantSteps[i])
		}
	}
	if rec.TransactionID == "" || rec.TransactionID != o.TransactionID {
		t.Errorf("record transaction_id %q, outcome's %q", rec.TransactionID, o.TransactionID)
	}
	// The front and back results (extracted ID data) stay out of the record.
	if all, _ := json.Marshal(rec); bytes.Contains(all, []byte("29001010101015")) || bytes.Contains(all, []byte("Ahmed")) {
		t.Error("the record holds the extracted ID data of the steps that succeeded")
	}

	// Requeue: liveness only, same transaction.
	ctx := context.Background()
	rep, err := b.app.DLQ.Requeue(ctx, []string{rec.ID}, deadletter.Filter{}, deadletter.RequeueOptions{By: "test", Enqueue: b.app.RequeueFunc()})
	if err != nil || rep.Requeued != 1 {
		t.Fatalf("requeue: %+v %v", rep, err)
	}
	o2 := b.waitOutcome(t, rep.Items[0].NewTaskID, 15*time.Second)
	r2 := identityResult(t, o2)
	checkOneTransaction(t, o2, r2)
	if r2.TransactionID != rec.TransactionID || !r2.IsDigitalIdentityVerified {
		t.Errorf("resumed result %+v, want transaction %s verified", r2, rec.TransactionID)
	}
	if got, want := b.stepCalls(), []string{"front", "back", "liveness", "liveness"}; !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v (resume at liveness)", got, want)
	}

	// --restart of the same record: from the front, new transaction.
	rep, err = b.app.DLQ.Requeue(ctx, []string{rec.ID}, deadletter.Filter{}, deadletter.RequeueOptions{By: "test", Force: true, Enqueue: b.app.RestartFunc()})
	if err != nil || rep.Requeued != 1 {
		t.Fatalf("restart: %+v %v", rep, err)
	}
	o3 := b.waitOutcome(t, rep.Items[0].NewTaskID, 15*time.Second)
	r3 := identityResult(t, o3)
	checkOneTransaction(t, o3, r3)
	if r3.TransactionID == rec.TransactionID {
		t.Errorf("restart kept transaction %s", r3.TransactionID)
	}
	if got, want := b.stepCalls()[4:], []string{"front", "back", "liveness"}; !slices.Equal(got, want) {
		t.Errorf("calls after --restart %v, want %v", got, want)
	}
}

// A worker killed in the middle of the back step: the recovered task does
// not call front again.
func TestIdentityWorkerKilledBetweenStepsRepeatsNoCompletedStep(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{policy: fastPolicy, noWorker: true})
	sc := uniq(t, "ok,delay:20s+ok,ok,ok")
	id := b.identity(t, sc)

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
	deadline := time.Now().Add(20 * time.Second)
	for b.fake.ScenarioHits(sc) < 2 { // front answered, back in flight
		if time.Now().After(deadline) {
			t.Fatalf("the child worker never reached the back step; its stderr:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	// Age the lease so the next worker's recoverer takes the task at once
	// (see TestWorkerKilledMidCallEndsInExactlyOneOutcome).
	leaseKey := "asynq:{" + b.queue + "}:lease"
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
	r := identityResult(t, o)
	checkOneTransaction(t, o, r)
	// The killed back call is still being answered (delayed) when the
	// recovered worker calls back again, so count arrivals by scenario.
	if n := b.fake.ScenarioHits(sc); n != 4 {
		t.Errorf("fake saw %d step calls, want 4 (front, the killed back, back, liveness)", n)
	}
	var fronts int
	for _, s := range b.stepCalls() {
		if s == flows.StepFront {
			fronts++
		}
	}
	if fronts != 1 {
		t.Errorf("front called %d times, want 1", fronts)
	}
}

// business:request_otp from a device that moved: with scanTransaction
// frames the worker re-validates liveness and sends exactly one OTP;
// without them the task is dead-lettered with Vlens's resolution.
func TestRequestOTPRevalidatesLivenessWhenLocationChanged(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{policy: fastPolicy})
	// The user is verified, then opens a business request in Cairo.
	o := b.waitOutcome(t, b.identity(t, ""), 15*time.Second)
	identityResult(t, o)
	cairo := &tasks.GeoLocation{Latitude: 30.0444, Longitude: 31.2357}
	alex := &tasks.GeoLocation{Latitude: 31.2001, Longitude: 29.9187}
	const when = "2025-01-02T15:04:05Z"
	o = b.waitOutcome(t, b.enqueue(t, tasks.TypeBusinessCreate, &tasks.Payload{Tenant: b.tenant.Name, User: b.user, TypeID: 3,
		GeoLocation: cairo, UserDeviceUTCTime: when, RequestFieldsValues: map[string]any{"cardType": "debit"}}), 10*time.Second)
	var created struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(o.Result, &created); err != nil || o.Status != outcome.StatusSucceeded {
		t.Fatalf("create: %+v %v", o, err)
	}
	reqID := tasks.TextID(created.Data.ID)

	// Without frames: dead-lettered, no OTP.
	o = b.waitOutcome(t, b.enqueue(t, tasks.TypeBusinessRequestOTP, &tasks.Payload{Tenant: b.tenant.Name, User: b.user,
		GeoLocation: alex, UserDeviceUTCTime: when, BusinessRequestID: reqID}), 10*time.Second)
	rec := b.deadLetter(t, o)
	if rec.Category != string(vlens.CategoryBusinessRequest) || !strings.Contains(rec.Resolution, "StepReValidateLiveness") {
		t.Errorf("record category %s resolution %q", rec.Category, rec.Resolution)
	}

	// With frames: re-validated, one OTP.
	o = b.waitOutcome(t, b.enqueue(t, tasks.TypeBusinessRequestOTP, &tasks.Payload{Tenant: b.tenant.Name, User: b.user,
		GeoLocation: alex, UserDeviceUTCTime: when, BusinessRequestID: reqID,
		ScanTransaction: &tasks.ScanTransaction{Image: pngImage(1), Face1: pngImage(21), Face2: pngImage(22), Face3: pngImage(23)}}), 10*time.Second)
	if o.Status != outcome.StatusSucceeded || !strings.Contains(string(o.Result), "otpRequestId") {
		t.Fatalf("request_otp outcome = %+v", o)
	}
	if n := b.fake.OTPsSent(reqID.String()); n != 1 {
		t.Errorf("%d OTPs sent, want exactly 1", n)
	}
	var revalidations, otpCalls int
	for _, r := range b.fake.Requests() {
		if r.Tenant != b.tenant.Name {
			continue
		}
		switch {
		case strings.HasSuffix(r.Path, "/StepReValidateLiveness"):
			revalidations++
		case strings.HasSuffix(r.Path, "/StepRequestOtp"):
			otpCalls++
		}
	}
	if revalidations != 1 || otpCalls != 3 {
		t.Errorf("%d re-validations and %d StepRequestOtp calls, want 1 and 3 (refused, refused+re-validated, replayed)", revalidations, otpCalls)
	}
}

// Each step keeps its own attempts: front and back may each fail
// transiently twice (3 attempts each) and the task still succeeds, where
// one count for the whole task would have given up at the back's first
// failure.
func TestIdentityStepsCountTheirOwnAttempts(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{policy: fastPolicy})
	id := b.identity(t, uniq(t, "http503,http503,ok,http503,http503,ok,ok"))
	o := b.waitOutcome(t, id, 20*time.Second)
	identityResult(t, o)
	if got, want := b.stepCalls(), []string{"front", "front", "front", "back", "back", "back", "liveness"}; !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
}

// A step whose user token expired refreshes it and replays the step once,
// in the same attempt, as a single-call task does.
func TestIdentityStepRefreshesAnExpiredToken(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{policy: fastPolicy})
	id := b.identity(t, uniq(t, "ok,expire,ok,ok"))
	o := b.waitOutcome(t, id, 15*time.Second)
	checkOneTransaction(t, o, identityResult(t, o))
	if got, want := b.stepCalls(), []string{"front", "back", "back", "liveness"}; !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	if n := b.fake.Refreshes(b.tenant.Name, b.user); n != 1 {
		t.Errorf("%d token refreshes, want 1", n)
	}
}

// A step that keeps failing transiently is dead-lettered as retries
// exhausted, naming that step; the steps after it did not run.
func TestIdentityExhaustedBackStepIsDeadLetteredNamingIt(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{policy: fastPolicy})
	id := b.identity(t, uniq(t, "ok,http500"))
	o := b.waitOutcome(t, id, 15*time.Second)
	rec := b.deadLetter(t, o)
	if rec.Step != flows.StepBack || !rec.RetriesExhausted || rec.Class != "transient" || !strings.HasSuffix(rec.Endpoint.URL, "/verify/id/back") {
		t.Errorf("record step %q exhausted %v class %s endpoint %+v", rec.Step, rec.RetriesExhausted, rec.Class, rec.Endpoint)
	}
	var got []deadletter.StepStatus
	for _, s := range rec.Steps {
		got = append(got, s.Status)
	}
	if want := []deadletter.StepStatus{deadletter.StepSucceeded, deadletter.StepFailed, deadletter.StepNotRun}; !slices.Equal(got, want) {
		t.Errorf("step statuses %v, want %v", got, want)
	}
	if got, want := b.stepCalls(), []string{"front", "back", "back", "back"}; !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
}
