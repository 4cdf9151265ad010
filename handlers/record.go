package handlers

import (
	"cmp"
	"encoding/json"
	"strings"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/tasks"
	"github.com/vlensq/vlensq/vlens"
)

// MaxRawResponseBytes bounds a non-JSON response body kept in a record.
const MaxRawResponseBytes = 64 << 10

// record builds the dead-letter record of a failed task.
func (h *Handler) record(a *attempt, f failure, history []attemptEntry) *deadletter.Record {
	e := f.verr
	now := h.cfg.Now().UTC()
	raw := rawRequest(a)
	rec := &deadletter.Record{
		TaskID: a.id, Queue: a.queue, Type: a.task.Type(),
		Endpoint:          deadletter.Endpoint{Method: e.Method, URL: e.URL},
		HTTPStatus:        e.HTTPStatus,
		ErrorCode:         e.Code,
		ErrorMessage:      e.Message,
		ErrorDescriptions: e.Descriptions,
		Class:             string(e.Class),
		Category:          string(e.Category),
		Resolution:        e.Resolution,
		RetriesExhausted:  f.retriesExhausted,
		FailedAt:          now,
		Request:           json.RawMessage(vlens.Redact(raw)),
		Response:          responseOf(e),
	}
	if rec.ErrorMessage == "" && len(e.FieldErrors) > 0 {
		fe := e.FieldErrors[0]
		msg := fe.Message
		if msg == "" && len(fe.Errors) > 0 {
			msg = fe.Errors[0].Message
		}
		rec.ErrorMessage = strings.TrimPrefix(fe.Field+": "+msg, ": ")
	}
	for _, fe := range e.FieldErrors {
		for _, c := range fe.Errors {
			rec.ErrorDescriptions = append(rec.ErrorDescriptions, fe.Field+": "+c.Message)
		}
	}
	scrubPersonalData(rec, vlens.SensitiveValues(raw))
	if p := a.payload; p != nil {
		rec.Tenant = p.Tenant
		rec.TransactionID = p.TransactionID.String()
		rec.ClientTransactionID = p.ClientTransactionID
		rec.RequestID = cmp.Or(p.RequestID.String(), p.BusinessRequestID.String())
	} else {
		rec.Tenant = tenantOf(a.task.Payload())
	}
	for _, at := range history {
		rec.History = append(rec.History, deadletter.Attempt{
			At: at.At, HTTPStatus: at.HTTPStatus, ErrorCode: at.ErrorCode, Class: at.Class, XRequestID: at.XRequestID,
		})
	}
	if len(rec.History) == 0 {
		// A failure found before any call (bad payload, panic) still counts as
		// one attempt.
		rec.History = []deadletter.Attempt{{At: now, HTTPStatus: e.HTTPStatus, ErrorCode: e.Code, Class: string(e.Class), XRequestID: e.RequestID}}
	}
	rec.Attempts = max(len(rec.History), a.retried+1)
	if f.flow != nil {
		rec.Step, rec.Steps = f.flow.step, f.flow.steps
	}
	rec.FirstAttemptAt = rec.History[0].At
	return rec
}

// rawRequest is the request body as sent (or as it would have been sent),
// as JSON, not redacted: the record keeps vlens.Redact of it.
func rawRequest(a *attempt) []byte {
	var b []byte
	if a.body != nil {
		b, _ = json.Marshal(a.body)
	} else {
		b = a.task.Payload()
	}
	if !json.Valid(b) {
		b, _ = json.Marshal(string(b))
	}
	return b
}

// scrubPersonalData removes the task's own personal data (known: its
// sensitive request values) from the free text of rec: error_message,
// error_descriptions and the stored response. Vlens often echoes what it
// was sent ("name X does not match"), and a non-JSON or truncated body is
// not covered by vlens.Redact's field rules. The store applies the
// pattern-based part (ID numbers, phones, e-mails) again to every record.
func scrubPersonalData(rec *deadletter.Record, known []string) {
	rec.ErrorMessage = vlens.RedactText(rec.ErrorMessage, known)
	for i, d := range rec.ErrorDescriptions {
		rec.ErrorDescriptions[i] = vlens.RedactText(d, known)
	}
	if len(known) == 0 || len(rec.Response) == 0 {
		return
	}
	var s string
	if rec.Response[0] == '"' && json.Unmarshal(rec.Response, &s) == nil {
		rec.Response, _ = json.Marshal(vlens.RedactText(s, known))
		return
	}
	// A JSON envelope: replace the known values inside its strings. The
	// markers hold no quote or backslash, so the document stays JSON; if a
	// value matched across its structure, keep only a marker.
	out := []byte(vlens.RedactText(string(rec.Response), known))
	if !json.Valid(out) {
		out, _ = json.Marshal("[redacted response: held personal data]")
	}
	rec.Response = out
}

// responseOf is the response as received: the envelope when it was JSON
// (personal data redacted), else the raw text as a JSON string, bounded.
func responseOf(e *vlens.Error) json.RawMessage {
	if len(e.Body) == 0 {
		return json.RawMessage(`null`)
	}
	if json.Valid(e.Body) {
		return json.RawMessage(vlens.Redact(e.Body))
	}
	raw := e.Body
	if len(raw) > MaxRawResponseBytes {
		raw = raw[:MaxRawResponseBytes]
	}
	s := strings.ToValidUTF8(string(raw), "\uFFFD")
	b, _ := json.Marshal(s)
	return b
}

// requeuePayload is the copy of the task payload the dead-letter store keeps
// for requeue: without single-use secrets (the OTP code of
// business:validate_otp), which must not outlive the attempt. Requeueing
// such a task is refused (tasks.CheckRequeue): it needs a fresh OTP.
func requeuePayload(p []byte) []byte {
	out, _ := tasks.StripSingleUse(p)
	return out
}

// tenantOf reads the tenant of a payload that did not decode as a whole.
func tenantOf(payload []byte) string {
	var p struct {
		Tenant string `json:"tenant"`
	}
	_ = json.Unmarshal(payload, &p)
	return p.Tenant
}
