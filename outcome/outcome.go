package outcome

import (
	"encoding/json"
	"strconv"
	"time"
)

// Stream is the Redis stream producers read outcomes from.
const Stream = "vlensq:outcomes"

// Status is how a task ended.
type Status string

const (
	StatusSucceeded    Status = "succeeded"
	StatusDeadLettered Status = "dead_lettered"
)

// Outcome is the end of one task, as published to the stream and to the
// callback URL.
type Outcome struct {
	TaskID              string          `json:"task_id"`
	Type                string          `json:"type"`
	Tenant              string          `json:"tenant"`
	Queue               string          `json:"queue,omitempty"`
	Status              Status          `json:"status"`
	Class               string          `json:"class"`
	Category            string          `json:"category,omitempty"`
	Code                int             `json:"code,omitempty"`
	Result              json.RawMessage `json:"result,omitempty"`
	DeadLetterID        string          `json:"dead_letter_id,omitempty"`
	TransactionID       string          `json:"transaction_id,omitempty"`
	ClientTransactionID string          `json:"client_transaction_id,omitempty"`
	// RequestID is the business request the task concerns, as text: for
	// business:create the new request's id (the result's data.id, which
	// keeps Vlens's JSON type), so a producer can chain request_otp,
	// validate_otp and status from it; for the other business tasks their
	// requestId; for verification tasks their request_id.
	RequestID string    `json:"request_id,omitempty"`
	At        time.Time `json:"at"`

	// Reason is the dead-letter record's reason, e.g. "outcome_unknown"
	// (see deadletter.Record.Reason); empty for most outcomes.
	Reason string `json:"reason,omitempty"`
}

// fields renders o as stream entry fields.
func (o Outcome) fields() []any {
	f := []any{
		"task_id", o.TaskID, "type", o.Type, "tenant", o.Tenant, "queue", o.Queue,
		"status", string(o.Status), "class", o.Class, "category", o.Category,
		"code", strconv.Itoa(o.Code), "dead_letter_id", o.DeadLetterID,
		"transaction_id", o.TransactionID, "client_transaction_id", o.ClientTransactionID,
		"request_id", o.RequestID, "at", o.At.UTC().Format(time.RFC3339Nano),
	}
	if o.Reason != "" {
		f = append(f, "reason", o.Reason)
	}
	if len(o.Result) > 0 {
		f = append(f, "result", string(o.Result))
	}
	return f
}

// FromFields parses a stream entry back into an Outcome.
func FromFields(v map[string]any) Outcome {
	s := func(k string) string { x, _ := v[k].(string); return x }
	code, _ := strconv.Atoi(s("code"))
	at, _ := time.Parse(time.RFC3339Nano, s("at"))
	o := Outcome{
		TaskID: s("task_id"), Type: s("type"), Tenant: s("tenant"), Queue: s("queue"),
		Status: Status(s("status")), Class: s("class"), Category: s("category"), Code: code,
		DeadLetterID: s("dead_letter_id"), TransactionID: s("transaction_id"),
		ClientTransactionID: s("client_transaction_id"), RequestID: s("request_id"), At: at, Reason: s("reason"),
	}
	if r := s("result"); r != "" {
		o.Result = json.RawMessage(r)
	}
	return o
}
