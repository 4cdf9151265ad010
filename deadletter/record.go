package deadletter

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/vlensq/vlensq/vlens"
)

// Record is one dead-lettered task: everything support needs to understand
// the failure and open a ticket with Vlens. Its JSON field names are part of
// the product contract (DESIGN.md, "Dead-letter record").
type Record struct {
	// ID is assigned by Add: a ULID, sortable by failure time.
	ID     string `json:"id"`
	TaskID string `json:"task_id"`
	Queue  string `json:"queue"`
	Type   string `json:"type"`
	Tenant string `json:"tenant"`
	// Endpoint is the Vlens call that failed.
	Endpoint Endpoint `json:"endpoint"`
	// Request is the full request body, images and personal data already
	// redacted by the caller (marker + size + sha256). Add also blanks the
	// values of secret-named fields (passwords, OTPs, tokens, API keys).
	Request json.RawMessage `json:"request"`
	// HTTPStatus is the status of the last attempt; 0 when no response came.
	HTTPStatus int `json:"http_status"`
	// Response is the envelope as received. A body that was not JSON is stored
	// as a JSON string holding the raw text.
	Response          json.RawMessage `json:"response"`
	ErrorCode         int             `json:"error_code"`
	ErrorMessage      string          `json:"error_message"`
	ErrorDescriptions []string        `json:"error_descriptions"`
	// Class, Category and Resolution are the verdict (vlens.Class,
	// vlens.Category and the errors-page resolution text).
	Class      string `json:"class"`
	Category   string `json:"category"`
	Resolution string `json:"resolution"`
	// RetriesExhausted marks a transient failure that used up its attempts.
	RetriesExhausted bool      `json:"retries_exhausted,omitempty"`
	Attempts         int       `json:"attempts"`
	FirstAttemptAt   time.Time `json:"first_attempt_at"`
	// FailedAt is the dead-letter time; Add sets it to now when zero.
	// Retention and the List order count from it.
	FailedAt time.Time `json:"failed_at"`
	// History has one entry per attempt, oldest first.
	History             []Attempt `json:"history"`
	TransactionID       string    `json:"transaction_id"`
	ClientTransactionID string    `json:"client_transaction_id"`
	RequestID           string    `json:"request_id"`
	// Requeued lists every requeue of this record, oldest first.
	Requeued []Requeue `json:"requeued"`

	// Reason says why a failure that is not permanent still ended here, when
	// it is not simply retries_exhausted: ReasonOutcomeUnknown,
	// ReasonThrottledTooLong or ReasonAttemptBudget. Empty otherwise.
	Reason string `json:"reason,omitempty"`

	// Step names the step that failed when the task runs several Vlens
	// calls (verify:identity: "front", "back" or "liveness"); Endpoint,
	// Request and Response are that step's. Empty for single-call tasks.
	Step string `json:"step,omitempty"`
	// Steps lists every step of such a task with its status; a requeue
	// resumes at the failed one (or, with --restart, at the first).
	Steps []Step `json:"steps,omitempty"`
	// TraceID is the OpenTelemetry trace of the attempt that dead-lettered
	// the task (empty when it was not traced): support opens the trace from
	// the ticket with it.
	TraceID string `json:"trace_id,omitempty"`
	// Traceparent is that attempt's W3C traceparent: a requeue links the new
	// task's spans to it.
	Traceparent string `json:"traceparent,omitempty"`
}

// Step is one step of a multi-call task in its dead-letter record.
type Step struct {
	Step     string     `json:"step"`
	Status   StepStatus `json:"status"`
	Endpoint Endpoint   `json:"endpoint"`
}

// StepStatus is where a step stood when its task was dead-lettered.
type StepStatus string

// Step statuses.
const (
	StepSucceeded StepStatus = "succeeded"
	StepFailed    StepStatus = "failed"
	StepNotRun    StepStatus = "not_run"
)

// Values of Record.Reason.
const (
	// ReasonOutcomeUnknown: a call that must not be repeated (an OTP
	// request, a business request) was sent and no usable answer came back,
	// so it may have taken effect; it was not sent again. The resolution says
	// what to check before requeueing.
	ReasonOutcomeUnknown = "outcome_unknown"
	// ReasonThrottledTooLong: Vlens (or the local rate limit) kept throttling
	// the task for longer than the worker's throttle limit.
	ReasonThrottledTooLong = "throttled_too_long"
	// ReasonAttemptBudget: the task reached asynq's own retry budget
	// (MaxRetry) before the retry policy ended it; it is dead-lettered rather
	// than archived by asynq without a record.
	ReasonAttemptBudget = "attempt_budget"
)

// Endpoint is a Vlens call: method and full URL.
type Endpoint struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

// Attempt is one attempt of the task.
type Attempt struct {
	At         time.Time `json:"at"`
	HTTPStatus int       `json:"http_status"`
	ErrorCode  int       `json:"error_code"`
	Class      string    `json:"class"`
	// XRequestID is the X-Request-Id sent with the call; Vlens support uses
	// it to find the request in their logs.
	XRequestID string `json:"x_request_id"`
}

// Requeue is one requeue of a record.
type Requeue struct {
	At        time.Time `json:"at"`
	By        string    `json:"by"`
	NewTaskID string    `json:"new_task_id"`
}

// normalize prepares rec for storage: UTC times, empty lists instead of null,
// valid JSON bodies with secret-named fields blanked.
func (rec *Record) normalize(now time.Time) error {
	if rec.TaskID == "" {
		return inputErr("task_id", "", "is required (records are idempotent per task id)")
	}
	if rec.FailedAt.IsZero() {
		rec.FailedAt = now
	}
	rec.FailedAt = rec.FailedAt.UTC()
	if rec.FirstAttemptAt.IsZero() {
		rec.FirstAttemptAt = rec.FailedAt
	}
	rec.FirstAttemptAt = rec.FirstAttemptAt.UTC()
	if rec.ErrorDescriptions == nil {
		rec.ErrorDescriptions = []string{}
	}
	if rec.History == nil {
		rec.History = []Attempt{}
	}
	for i := range rec.History {
		rec.History[i].At = rec.History[i].At.UTC()
	}
	if rec.Requeued == nil {
		rec.Requeued = []Requeue{}
	}
	var err error
	if rec.Request, err = cleanBody("request", rec.Request); err != nil {
		return err
	}
	if rec.Response, err = cleanBody("response", rec.Response); err != nil {
		return err
	}
	redactText(rec)
	return nil
}

// redactText applies vlens.RedactText (without known values: the caller
// adds the task's own) to the free text of rec: error_message,
// error_descriptions and a response stored as raw text. It is the store's
// second line of defence: national ID numbers, phone numbers, e-mail
// addresses, tokens and the values of sensitive-named fields in a body cut
// short never reach the list, the ticket or an export.
func redactText(rec *Record) {
	rec.ErrorMessage = vlens.RedactText(rec.ErrorMessage, nil)
	for i, d := range rec.ErrorDescriptions {
		rec.ErrorDescriptions[i] = vlens.RedactText(d, nil)
	}
	var s string
	if len(rec.Response) > 0 && rec.Response[0] == '"' && json.Unmarshal(rec.Response, &s) == nil {
		if r := vlens.RedactText(s, nil); r != s {
			rec.Response, _ = json.Marshal(r)
		}
	}
}

// cleanBody checks that b is JSON (empty means null) and blanks secrets.
func cleanBody(field string, b json.RawMessage) (json.RawMessage, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if !json.Valid(b) {
		return nil, inputErr(field, "", "is not valid JSON (store a non-JSON body as a JSON string)")
	}
	return redactSecrets(b), nil
}

func decodeRecord(id string, b []byte) (*Record, error) {
	rec := new(Record)
	if err := json.Unmarshal(b, rec); err != nil {
		return nil, fmt.Errorf("deadletter: record %q is corrupt: %w", id, err)
	}
	return rec, nil
}
