package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/internal/redistest"
	"github.com/vlensq/vlensq/outcome"
	"github.com/vlensq/vlensq/tasks"
	"github.com/vlensq/vlensq/vlens"
)

// PII canaries: a customer's name and national ID number sent with an
// ocr:aml task, and an OTP code sent with business:validate_otp.
const (
	canaryName  = "Zeinab Abdelrahman Canary"
	canaryFirst = "Zeinab"
	canaryID    = "29912251401234"
	canaryOTP   = "913467"
)

// amlAttempt is an ocr:aml attempt for the canary customer.
func amlAttempt(t *testing.T) *attempt {
	t.Helper()
	p := &tasks.Payload{Tenant: "acme", Name: canaryName, IDNumber: canaryID, TransactionID: tasks.TextID("tx-1")}
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := tasks.Lookup(tasks.TypeOCRAML)
	return &attempt{
		task: asynq.NewTask(tasks.TypeOCRAML, raw), id: "task-pii-" + t.Name(), queue: "default",
		payload: p, spec: spec,
		body: map[string]any{"name": canaryName, "idNumber": canaryID, "transaction_id": "tx-1"},
	}
}

// Vlens echoes what it was sent: in error_message, in error_descriptions, in
// a gateway's HTML page, in a JSON body cut short. None of it may reach the
// record, and so the ticket, the exports or the list.
func TestDeadLetterRecordKeepsNoPersonalData(t *testing.T) {
	t.Parallel()
	h := &Handler{cfg: Config{Now: time.Now}}
	cases := map[string]*vlens.Error{
		"message": {Class: vlens.ClassPermanent, Category: vlens.CategoryValidation, HTTPStatus: 200, Code: 5002,
			Message: "name " + canaryName + " does not match ID " + canaryID,
			Body:    []byte(`{"error_code":5002,"error_message":"name ` + canaryName + ` does not match ID ` + canaryID + `"}`)},
		"descriptions": {Class: vlens.ClassPermanent, Category: vlens.CategoryValidation, HTTPStatus: 422, Code: 5002,
			Message:      "validation failed",
			Descriptions: []string{"first name '" + canaryFirst + "' is not in Arabic", "idNumber " + canaryID + " has a bad check digit"},
			Body:         []byte(`{"error_code":5002,"errors":["first name ` + canaryFirst + ` is not in Arabic"]}`)},
		"html": {Class: vlens.ClassTransient, Category: vlens.CategoryServer, HTTPStatus: 502,
			Message: "non-JSON body",
			Body:    []byte("<html><body><h1>502 Bad Gateway</h1><pre>POST name=" + canaryName + "&idNumber=" + canaryID + "</pre></body></html>")},
		"truncated": {Class: vlens.ClassTransient, Category: vlens.CategoryServer, HTTPStatus: 200,
			Message: "body cut short",
			Body:    []byte(`{"data":{"fullName":"` + canaryName + `","nationalId":"` + canaryID + `","matches":[{"listName":"OFAC","person":"` + canaryFirst)},
	}
	rdb := redistest.Client(t, redistest.DBHandlers)
	store, err := deadletter.New(rdb, deadletter.Config{Prefix: "test-pii-" + strings.ReplaceAll(t.Name(), "/", "-")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, verr := range cases {
		t.Run(name, func(t *testing.T) {
			a := amlAttempt(t)
			rec := h.record(a, failure{verr: verr}, nil)
			if _, _, err := store.Add(ctx, rec, requeuePayload(a.task.Payload())); err != nil {
				t.Fatal(err)
			}
			stored, err := store.GetByTaskID(ctx, a.id)
			if err != nil {
				t.Fatal(err)
			}
			js, _ := json.Marshal(stored)
			assertNoCanary(t, "record", string(js))
			assertNoCanary(t, "ticket", deadletter.Ticket(stored))
			if !strings.Contains(string(js), "[redacted ") {
				t.Errorf("record shows no redaction marker: %s", js)
			}
		})
	}
	for _, format := range []string{deadletter.FormatCSV, deadletter.FormatNDJSON} {
		var buf bytes.Buffer
		if n, err := store.Export(ctx, &buf, deadletter.Filter{Tenant: "acme"}, format); err != nil || n != len(cases) {
			t.Fatalf("export %s: %d records, %v", format, n, err)
		}
		assertNoCanary(t, format+" export", buf.String())
	}
	page, err := store.List(ctx, deadletter.Filter{}, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(page)
	assertNoCanary(t, "list", string(js))
}

func assertNoCanary(t *testing.T, where, s string) {
	t.Helper()
	for _, c := range []string{canaryName, canaryFirst, canaryID, canaryOTP} {
		if strings.Contains(strings.ToLower(s), strings.ToLower(c)) {
			t.Errorf("%s shows %q:\n%s", where, c, s)
		}
	}
}

// The OTP code of business:validate_otp is single-use: neither the record
// nor the payload kept for requeue holds it.
func TestDeadLetterKeepsNoOTPCode(t *testing.T) {
	t.Parallel()
	p := &tasks.Payload{Tenant: "acme", User: "u1", BusinessRequestID: tasks.TextID("4711"), OTPRequestID: tasks.TextID("otp-req-1"), OTPCode: canaryOTP,
		GeoLocation: &tasks.GeoLocation{Latitude: 30, Longitude: 31.2}, UserDeviceUTCTime: "2026-01-01T00:00:00Z"}
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), canaryOTP) {
		t.Fatalf("test payload lacks the OTP: %s", raw)
	}
	spec, _ := tasks.Lookup(tasks.TypeBusinessValidateOTP)
	a := &attempt{task: asynq.NewTask(tasks.TypeBusinessValidateOTP, raw), id: "task-otp", queue: "default", payload: p, spec: spec,
		body: map[string]any{"otpCode": canaryOTP, "otpRequestId": "otp-req-1", "requestId": "req-1"}}
	h := &Handler{cfg: Config{Now: time.Now}}
	rec := h.record(a, failure{verr: &vlens.Error{Class: vlens.ClassPermanent, Category: vlens.CategoryBusinessRequest,
		HTTPStatus: 200, Code: 3501, Message: "OTP " + canaryOTP + " is wrong", Body: []byte(`{"error_code":3501,"error_message":"OTP ` + canaryOTP + ` is wrong"}`)}}, nil)
	js, _ := json.Marshal(rec)
	assertNoCanary(t, "record", string(js))
	kept := requeuePayload(a.task.Payload())
	assertNoCanary(t, "payload kept for requeue", string(kept))
	back, err := tasks.DecodePayload(kept)
	if err != nil {
		t.Fatalf("kept payload does not decode: %v", err)
	}
	if back.OTPRequestID.String() != "otp-req-1" || back.BusinessRequestID.String() != "4711" {
		t.Errorf("kept payload lost other fields: %s", kept)
	}
}

type panickingBlobs struct{}

func (panickingBlobs) Get(context.Context, tasks.BlobRef) ([]byte, error) {
	panic("blob reader exploded")
}

// A panic dead-letters the task; its stack goes to the log, never to the
// record or the ticket support reads.
func TestPanicStackIsNotInTheTicket(t *testing.T) {
	t.Parallel()
	rdb := redistest.Client(t, redistest.DBHandlers)
	prefix := "test-panic-" + t.Name()
	store, err := deadletter.New(rdb, deadletter.Config{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := zerolog.New(&logs)
	h := &Handler{rdb: rdb, log: log, policy: Policy{}.withDefaults(), cfg: Config{
		Redis: rdb, Blobs: panickingBlobs{}, DeadLetters: store, Now: time.Now,
		Outcomes: outcome.NewPublisher(rdb, nil, outcome.Config{Stream: prefix + ":outcomes"}),
	}}
	key := "sha256:" + strings.Repeat("ab", 32)
	raw, err := json.Marshal(&tasks.Payload{Tenant: "acme", Image: &tasks.Image{Ref: &tasks.BlobRef{Key: key, Size: 10}}, Country: "EG"})
	if err != nil {
		t.Fatal(err)
	}
	queue := "q-" + prefix
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{Queues: map[string]int{queue: 1}, Concurrency: 1,
		LogLevel: asynq.FatalLevel, ShutdownTimeout: time.Second})
	if err := srv.Start(h); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	client := asynq.NewClientFromRedisClient(rdb)
	info, err := client.Enqueue(asynq.NewTask(tasks.TypeOCRIDFront, raw), asynq.Queue(queue), asynq.MaxRetry(0))
	if err != nil {
		t.Fatal(err)
	}
	var rec *deadletter.Record
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if rec, err = store.GetByTaskID(context.Background(), info.ID); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dead letter within 10 s: %v", err)
		}
	}
	ticket := deadletter.Ticket(rec)
	js, _ := json.Marshal(rec)
	for _, s := range []string{"goroutine", "runtime/debug", ".go:", "panickingBlobs"} {
		if strings.Contains(ticket, s) || strings.Contains(string(js), s) {
			t.Errorf("stack fragment %q reaches the record or ticket:\n%s", s, ticket)
		}
	}
	if !strings.Contains(rec.ErrorMessage, "panic in handler: blob reader exploded") {
		t.Errorf("error_message = %q, want the panic value", rec.ErrorMessage)
	}
	if !strings.Contains(logs.String(), "runtime/debug") {
		t.Errorf("the log lacks the stack: %s", logs.String())
	}
}
