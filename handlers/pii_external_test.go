package handlers_test

import (
	"context"
	"errors"
	"testing"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/tasks"
)

// The requeue path (CLI and dashboard) refuses a validate_otp record: its
// OTP was not kept, the customer needs a fresh one. Nothing is enqueued.
func TestRequeueOfValidateOTPAsksForAFreshOTP(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorker: true})
	payload := []byte(`{"tenant":"` + b.tenant.Name + `","user":"` + b.user + `","requestId":4711,"otpRequestId":"o-1",` +
		`"userDeviceUtcTime":"2026-01-01T00:00:00Z","geoLocation":{"latitude":30,"longitude":31}}`)
	rec := &deadletter.Record{ID: "rec-otp", Type: tasks.TypeBusinessValidateOTP, Queue: b.queue}
	err := b.app.RequeueFunc()(context.Background(), rec, payload, "rec-otp:rq1")
	var se *tasks.SingleUseError
	if !errors.As(err, &se) {
		t.Fatalf("requeue = %v, want a *tasks.SingleUseError", err)
	}
	if _, ierr := b.insp.GetTaskInfo(b.queue, "rec-otp:rq1"); ierr == nil {
		t.Error("the task was enqueued anyway")
	}
}
