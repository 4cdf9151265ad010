package handlers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/handlers"
	"github.com/vlensq/vlensq/outcome"
	"github.com/vlensq/vlensq/tasks"
	"github.com/vlensq/vlensq/vlens/vlenstest"
)

const (
	pathRequestOTP = "/api/BusinessRequest/CustomerSign/StepRequestOtp"
	pathCreate     = "/api/BusinessRequest/Create/2"
)

func (b *testBundle) otpTask(t *testing.T) string {
	t.Helper()
	return b.enqueue(t, tasks.TypeBusinessRequestOTP, &tasks.Payload{
		Tenant: b.tenant.Name, User: b.user, BusinessRequestID: tasks.TextID("101"),
		GeoLocation: &tasks.GeoLocation{Latitude: 30, Longitude: 31}, UserDeviceUTCTime: time.Now().UTC().Format(time.RFC3339),
	})
}

func (b *testBundle) createTask(t *testing.T) string {
	t.Helper()
	return b.enqueue(t, tasks.TypeBusinessCreate, &tasks.Payload{
		Tenant: b.tenant.Name, User: b.user, TypeID: 2,
		GeoLocation: &tasks.GeoLocation{Latitude: 30, Longitude: 31}, UserDeviceUTCTime: time.Now().UTC().Format(time.RFC3339),
		RequestFieldsValues: map[string]any{"amount": 1000, "tenorMonths": 12},
	})
}

// callsTo counts the requests the fake received on path.
func (b *testBundle) callsTo(path string) int {
	n := 0
	for _, r := range b.fake.Requests() {
		if r.Path == path {
			n++
		}
	}
	return n
}

// A call that must not be repeated (an OTP SMS, a business request) whose
// outcome is unknown — the request was sent and no usable answer came back —
// is sent exactly once and dead-lettered as outcome_unknown, with a
// resolution saying what to check.
func TestNonIdempotentCallWithUnknownOutcomeIsSentOnce(t *testing.T) {
	t.Parallel()
	faults := []struct {
		name     string
		faults   vlenstest.Faults
		category string
	}{
		{"connection reset", vlenstest.Faults{Reset: 1}, "network"},
		{"timeout after sending", vlenstest.Faults{LatencyMin: 3 * time.Second, LatencyMax: 3 * time.Second}, "network"},
		{"502 html from a gateway", vlenstest.Faults{HTML: 1}, "server"},
		{"5xx (500, 503 or 504)", vlenstest.Faults{ServerError: 1}, "server"},
		{"body cut short", vlenstest.Faults{Truncated: 1}, "server"},
	}
	types := []struct {
		typ     string
		path    string
		enqueue func(*testBundle, *testing.T) string
		check   string // in the resolution
	}{
		{tasks.TypeBusinessRequestOTP, pathRequestOTP, (*testBundle).otpTask, "OTP"},
		{tasks.TypeBusinessCreate, pathCreate, (*testBundle).createTask, "business request"},
	}
	for _, ty := range types {
		for _, f := range faults {
			t.Run(ty.typ+"/"+f.name, func(t *testing.T) {
				t.Parallel()
				b := setup(t, setupOpts{policy: fastPolicy, vlensTimeout: 300 * time.Millisecond})
				b.fake.SetFaults(f.faults)
				id := ty.enqueue(b, t)
				o := b.waitOutcome(t, id, 15*time.Second)
				if o.Status != outcome.StatusDeadLettered || o.Reason != deadletter.ReasonOutcomeUnknown || o.Category != f.category {
					t.Fatalf("outcome = %+v, want dead_lettered outcome_unknown %s", o, f.category)
				}
				waitArchived(t, b, id)
				if n := b.callsTo(ty.path); n != 1 {
					t.Errorf("fake saw %d calls to %s, want exactly 1", n, ty.path)
				}
				rec := b.deadLetter(t, o)
				if rec.Reason != deadletter.ReasonOutcomeUnknown || rec.RetriesExhausted || !strings.Contains(rec.Resolution, ty.check) ||
					!strings.Contains(rec.Resolution, "requeue") {
					t.Errorf("record reason=%q retries_exhausted=%v resolution=%q", rec.Reason, rec.RetriesExhausted, rec.Resolution)
				}
				if len(rec.History) != 1 || rec.History[0].XRequestID == "" {
					t.Errorf("record history=%+v, want the one attempt with its x_request_id", rec.History)
				}
			})
		}
	}
}

// An explicit "not processed" answer (429, 4003) is retried even for a call
// that must not be repeated, and throttling still spends no attempt.
func TestNonIdempotentCallIsRetriedWhenVlensDidNotTakeIt(t *testing.T) {
	t.Parallel()
	for _, f := range []vlenstest.Faults{{TooManyRequests: 1}, {TooManyTrials: 1}} {
		t.Run(f.String(), func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{policy: handlers.Policy{BaseDelay: 50 * time.Millisecond, ThrottleMin: 50 * time.Millisecond,
				ThrottleMax: 100 * time.Millisecond, Jitter: -1}})
			b.fake.SetFaults(f)
			id := b.otpTask(t)
			deadline := time.Now().Add(10 * time.Second)
			for b.callsTo(pathRequestOTP) < 4 { // more than the 3 attempts of a transient failure
				if time.Now().After(deadline) {
					t.Fatalf("only %d calls within 10 s: the throttled call was not retried", b.callsTo(pathRequestOTP))
				}
				time.Sleep(20 * time.Millisecond)
			}
			b.fake.SetFaults(vlenstest.Faults{})
			// Request 101 does not exist: Vlens's own answer ends the task.
			o := b.waitOutcome(t, id, 10*time.Second)
			if o.Status != outcome.StatusDeadLettered || o.Class != "permanent" || o.Reason != "" {
				t.Fatalf("outcome = %+v, want Vlens's permanent answer", o)
			}
		})
	}
}

// A re-run that finds the in-flight mark of an earlier attempt (it crashed
// or was stopped after sending the call) does not send it again.
func TestInterruptedNonIdempotentCallIsNotSentAgain(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{policy: fastPolicy})
	ctx := context.Background()
	id := fmt.Sprintf("inflight-%d", seq.Add(1))
	sentAt := time.Now().Add(-time.Minute)
	if err := b.rdb.HSet(ctx, "vlensq:task:{"+id+"}:journal", "in_flight", sentAt.UnixMilli()).Err(); err != nil {
		t.Fatal(err)
	}
	_, err := b.app.Tasks.Enqueue(ctx, tasks.TypeBusinessRequestOTP, &tasks.Payload{
		Tenant: b.tenant.Name, User: b.user, BusinessRequestID: tasks.TextID("101"),
		GeoLocation: &tasks.GeoLocation{Latitude: 30, Longitude: 31}, UserDeviceUTCTime: time.Now().UTC().Format(time.RFC3339),
	}, tasks.EnqueueOptions{Queue: b.queue, ID: id})
	if err != nil {
		t.Fatal(err)
	}
	o := b.waitOutcome(t, id, 10*time.Second)
	if o.Status != outcome.StatusDeadLettered || o.Reason != deadletter.ReasonOutcomeUnknown {
		t.Fatalf("outcome = %+v, want dead_lettered outcome_unknown", o)
	}
	if n := b.callsTo(pathRequestOTP); n != 0 {
		t.Errorf("fake saw %d OTP requests, want 0: the earlier attempt may have sent it", n)
	}
	if rec := b.deadLetter(t, o); !strings.Contains(rec.ErrorMessage, sentAt.UTC().Format(time.RFC3339)) {
		t.Errorf("error_message %q does not say when the call was sent", rec.ErrorMessage)
	}
}
