package handlers_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vlensq/vlensq/outcome"
	"github.com/vlensq/vlensq/tasks"
	"github.com/vlensq/vlensq/vlens/vlenstest"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// A business request is created, and its UUID id, taken from the create
// outcome, drives request_otp, validate_otp and status: each reaches Vlens
// with the id unchanged (a JSON string in the body, the same text in the
// URL) and succeeds.
func TestBusinessStepsChainOnUUIDRequestID(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{policy: fastPolicy})
	geo := &tasks.GeoLocation{Latitude: 30.0444, Longitude: 31.2357}
	now := time.Now().UTC().Format(time.RFC3339)

	created := b.waitOutcome(t, b.enqueue(t, tasks.TypeBusinessCreate, &tasks.Payload{Tenant: b.tenant.Name, User: b.user, TypeID: 1,
		GeoLocation: geo, UserDeviceUTCTime: now, RequestFieldsValues: map[string]any{"accountType": "savings"}}), 10*time.Second)
	if created.Status != outcome.StatusSucceeded {
		t.Fatalf("create outcome = %+v", created)
	}
	id := created.RequestID
	if !uuidRE.MatchString(id) {
		t.Fatalf("create outcome request_id = %q, want the new request's UUID", id)
	}
	var res struct {
		Data struct {
			ID any `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(created.Result, &res); err != nil || res.Data.ID != id {
		t.Fatalf("create result data.id = %#v (%v), want the string %q", res.Data.ID, err, id)
	}

	otp := b.waitOutcome(t, b.enqueue(t, tasks.TypeBusinessRequestOTP, &tasks.Payload{Tenant: b.tenant.Name, User: b.user,
		BusinessRequestID: tasks.TextID(id), GeoLocation: geo, UserDeviceUTCTime: now}), 10*time.Second)
	var otpRes struct {
		Data struct {
			OTPRequestID string `json:"otpRequestId"`
		} `json:"data"`
	}
	if otp.Status != outcome.StatusSucceeded || otp.RequestID != id || json.Unmarshal(otp.Result, &otpRes) != nil || otpRes.Data.OTPRequestID == "" {
		t.Fatalf("request_otp outcome = %+v", otp)
	}
	signed := b.waitOutcome(t, b.enqueue(t, tasks.TypeBusinessValidateOTP, &tasks.Payload{Tenant: b.tenant.Name, User: b.user,
		BusinessRequestID: tasks.TextID(id), OTPRequestID: tasks.TextID(otpRes.Data.OTPRequestID), OTPCode: vlenstest.OTPCodeDefault,
		GeoLocation: geo, UserDeviceUTCTime: now}), 10*time.Second)
	if signed.Status != outcome.StatusSucceeded || signed.RequestID != id {
		t.Fatalf("validate_otp outcome = %+v", signed)
	}
	status := b.waitOutcome(t, b.enqueue(t, tasks.TypeBusinessStatus, &tasks.Payload{Tenant: b.tenant.Name, User: b.user,
		BusinessRequestID: tasks.TextID(id)}), 10*time.Second)
	if status.Status != outcome.StatusSucceeded || !strings.Contains(string(status.Result), `"requestStatusName":"Customer Signed"`) {
		t.Fatalf("status outcome = %+v", status)
	}

	// What Vlens (the fake) received.
	quoted := `"` + id + `"`
	var sawOTP, sawValidate, sawStatus bool
	for _, r := range b.fake.Requests() {
		switch {
		case strings.HasSuffix(r.Path, "/CustomerSign/StepRequestOtp"):
			sawOTP = true
			if r.IDs.RequestID != quoted {
				t.Errorf("StepRequestOtp body requestId = %s, want %s", r.IDs.RequestID, quoted)
			}
		case strings.HasSuffix(r.Path, "/CustomerSign/StepValidateOtp"):
			sawValidate = true
			if r.IDs.RequestID != quoted || r.IDs.OTPRequestID != `"`+otpRes.Data.OTPRequestID+`"` {
				t.Errorf("StepValidateOtp body ids = %+v, want requestId %s", r.IDs, quoted)
			}
		case strings.Contains(r.Path, "/GetBusinessRequestById/"):
			sawStatus = true
			if r.Path != "/api/BusinessRequest/GetBusinessRequestById/"+id {
				t.Errorf("status path = %q, want the UUID unchanged", r.Path)
			}
		}
	}
	if !sawOTP || !sawValidate || !sawStatus {
		t.Fatalf("fake saw request_otp=%v validate_otp=%v status=%v", sawOTP, sawValidate, sawStatus)
	}
}

// A numeric requestId stays a JSON number in the body Vlens receives; the
// fake, like Vlens, knows no such request, so the task is dead-lettered and
// the record and outcome name the id.
func TestNumericRequestIDStaysANumber(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{policy: fastPolicy})
	o := b.waitOutcome(t, b.enqueue(t, tasks.TypeBusinessRequestOTP, &tasks.Payload{Tenant: b.tenant.Name, User: b.user,
		BusinessRequestID: tasks.NumberID(4711), GeoLocation: &tasks.GeoLocation{Latitude: 30, Longitude: 31},
		UserDeviceUTCTime: time.Now().UTC().Format(time.RFC3339)}), 10*time.Second)
	if o.Status != outcome.StatusDeadLettered || o.RequestID != "4711" {
		t.Fatalf("outcome = %+v", o)
	}
	if rec := b.deadLetter(t, o); rec.RequestID != "4711" || !strings.Contains(string(rec.Request), `"requestId":4711`) {
		t.Errorf("record request_id = %q, request = %s", rec.RequestID, rec.Request)
	}
	var seen []string
	for _, r := range b.fake.Requests() {
		seen = append(seen, r.IDs.RequestID)
	}
	if len(seen) != 1 || seen[0] != `4711` {
		t.Fatalf("fake saw requestId %q, want one call with the number 4711", seen)
	}
}

// An empty id is refused at enqueue, naming the field.
func TestEmptyRequestIDRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorker: true})
	for _, raw := range []string{`""`, `"  "`} {
		var p tasks.Payload
		in := `{"tenant":"` + b.tenant.Name + `","user":"u","requestId":` + raw + `}`
		if err := json.Unmarshal([]byte(in), &p); err != nil {
			t.Fatal(err)
		}
		_, err := b.app.Tasks.Enqueue(context.Background(), tasks.TypeBusinessStatus, &p, tasks.EnqueueOptions{Queue: b.queue})
		var ve *tasks.ValidationError
		if !errors.As(err, &ve) || ve.Field != "payload.requestId" {
			t.Errorf("requestId %s: err = %v, want a validation error naming payload.requestId", raw, err)
		}
	}
}
