package handlers

import (
	"bytes"
	"encoding/json"

	"github.com/vlensq/vlensq/tasks"
)

// requestIDOf is the business request id an outcome names: for
// business:create the id Vlens gave the new request (data.id of the
// result), so a producer can chain the signing steps from the outcome; for
// other tasks the id the payload named (requestId, else request_id).
func requestIDOf(taskType string, p *tasks.Payload, result json.RawMessage) string {
	if taskType == tasks.TypeBusinessCreate {
		return createdID(result)
	}
	if p == nil {
		return ""
	}
	if !p.BusinessRequestID.IsZero() {
		return p.BusinessRequestID.String()
	}
	return p.RequestID.String()
}

// createdID reads data.id (any key casing) from a business:create result;
// a string id is returned as its text, a number as its digits.
func createdID(result json.RawMessage) string {
	var r struct {
		Data struct {
			ID json.RawMessage `json:"id"`
		} `json:"data"`
	}
	if json.Unmarshal(result, &r) != nil || len(r.Data.ID) == 0 {
		return ""
	}
	raw := bytes.TrimSpace(r.Data.ID)
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if len(raw) > 0 && (raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9')) {
		return string(raw)
	}
	return ""
}
