package tasks

import (
	"encoding/json"
	"fmt"
	"slices"
)

// SingleUseFields are the payload members that are valid for one call only
// and are secrets: the OTP code a customer received (business:validate_otp).
// They are removed from the copy of a payload kept for a dead-letter
// requeue (see StripSingleUse), so a dead letter never holds one.
var SingleUseFields = []string{"otpCode"}

// StripSingleUse returns payload without its SingleUseFields, and whether it
// removed any. A payload that is not a JSON object is returned unchanged.
func StripSingleUse(payload []byte) ([]byte, bool) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(payload, &obj) != nil || obj == nil {
		return payload, false
	}
	removed := false
	for _, f := range SingleUseFields {
		if _, ok := obj[f]; ok {
			delete(obj, f)
			removed = true
		}
	}
	if !removed {
		return payload, false
	}
	out, err := json.Marshal(obj)
	if err != nil {
		return payload, false
	}
	return out, true
}

// SingleUseError reports a requeue of a task whose payload needs a
// single-use secret that was not kept (business:validate_otp without its
// otpCode). Match it with errors.As.
type SingleUseError struct {
	Type  string
	Field string
}

func (e *SingleUseError) Error() string {
	return fmt.Sprintf("%s cannot be requeued: its %s is single-use and is not kept in dead letters; "+
		"request a fresh OTP from the customer and enqueue a new %s task", e.Type, e.Field, e.Type)
}

// CheckRequeue reports a *SingleUseError when a payload of taskType lacks a
// required single-use field (it was stripped when the task was
// dead-lettered).
func CheckRequeue(taskType string, p *Payload) error {
	spec, ok := Lookup(taskType)
	if !ok {
		return nil
	}
	for _, f := range SingleUseFields {
		if slices.Contains(spec.Required, f) && f == "otpCode" && p.OTPCode == "" {
			return &SingleUseError{Type: taskType, Field: f}
		}
	}
	return nil
}
