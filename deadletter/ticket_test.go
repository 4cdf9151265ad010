package deadletter

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestTicket(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rec := newRec("acme-bank", "task-ticket")
	rec.Request = json.RawMessage(`{"image":"[redacted image 2048 bytes sha256:ab12]","transaction_id":"tx-1","password":"CANARY-SECRET"}`)
	rec.History = []Attempt{
		{At: t0.Add(-2 * time.Second), HTTPStatus: 503, Class: "transient", XRequestID: "xr-1"},
		{At: t0.Add(-time.Second), HTTPStatus: 200, ErrorCode: 3011, Class: "permanent", XRequestID: "xr-2"},
	}
	rec.Attempts = 2
	rec.FailedAt = time.Date(2025, 6, 1, 12, 30, 45, 0, time.FixedZone("EET", 2*3600))
	id := b.mustAdd(t, rec, `{"image":"CANARY-PAYLOAD"}`)
	stored, err := b.store.Get(b.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	text := Ticket(stored)

	for _, want := range []string{
		// 1. endpoint URL and method
		"POST https://api.vlenseg.com/api/DigitalIdentity/verify/id/front",
		// 2. the request body, redacted
		`"image": "[redacted image 2048 bytes sha256:ab12]"`, `"transaction_id": "tx-1"`,
		// 3. the full response body with error_code and error_message
		`"error_code": 3011`, `"error_message": "card not detected"`, `error_code 3011, error_message "card not detected"`,
		// 4. tenant name and UTC timestamp
		"Tenant: acme-bank", "2025-06-01T10:30:45.000Z",
		// references
		"xr-1, xr-2", "task-ticket", id, "permanent / identity_verification", rec.Resolution,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("ticket lacks %q:\n%s", want, text)
		}
	}
	for _, canary := range []string{"CANARY-SECRET", "CANARY-PAYLOAD"} {
		if strings.Contains(text, canary) {
			t.Errorf("ticket contains %s:\n%s", canary, text)
		}
	}
	// A record built elsewhere (not stored) is redacted by Ticket too.
	raw := newRec("x", "y")
	raw.Request = json.RawMessage(`{"ApiKey":"CANARY-KEY"}`)
	if strings.Contains(Ticket(raw), "CANARY-KEY") {
		t.Error("Ticket printed an API key")
	}
}

func TestTicketNonJSONResponse(t *testing.T) {
	t.Parallel()
	rec := newRec("gw", "t-gw")
	rec.HTTPStatus = 502
	rec.ErrorCode = 0
	rec.ErrorMessage = ""
	rec.Response = json.RawMessage(`"<html>502 Bad Gateway</html>"`)
	rec.Request = nil
	text := Ticket(rec)
	for _, want := range []string{"<html>502 Bad Gateway</html>", "HTTP 502", "Request body (images and personal data redacted):\n   (none)"} {
		if !strings.Contains(text, want) {
			t.Errorf("ticket lacks %q:\n%s", want, text)
		}
	}
}

func TestTicketNamesTheTrace(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rec := newRec("acme-bank", "task-traced")
	rec.TraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	rec.Traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	id := b.mustAdd(t, rec, `{}`)
	stored, err := b.store.Get(b.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if stored.TraceID != rec.TraceID || stored.Traceparent != rec.Traceparent {
		t.Errorf("stored trace_id/traceparent = %q/%q", stored.TraceID, stored.Traceparent)
	}
	if text := Ticket(stored); !strings.Contains(text, "   Trace: 4bf92f3577b34da6a3ce929d0e0e4736\n") {
		t.Errorf("ticket lacks the trace id:\n%s", text)
	}
	if text := Ticket(newRec("acme-bank", "untraced")); strings.Contains(text, "Trace:") {
		t.Errorf("an untraced record's ticket has a Trace line:\n%s", text)
	}
}
