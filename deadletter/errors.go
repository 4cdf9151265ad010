package deadletter

import (
	"errors"
	"fmt"
)

// ErrNotFound is returned (wrapped) when a record, a task id or a payload does
// not exist. Test with errors.Is.
var ErrNotFound = errors.New("not found")

// ErrTaskExists may be returned (wrapped) by RequeueOptions.Enqueue when a
// task with the new task id already exists (asynq.ErrTaskIDConflict). Requeue
// then treats the record as requeued: an earlier run enqueued it and stopped
// before recording it.
var ErrTaskExists = errors.New("task already exists")

// InputError reports a bad filter, cursor, limit or option value. Field names
// the input as the user spelled it ("since", "code", "cursor", ...). Use
// errors.As to get it.
type InputError struct {
	Field  string
	Value  string
	Reason string
}

func (e *InputError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("deadletter: %s: %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("deadletter: %s %q: %s", e.Field, e.Value, e.Reason)
}

func inputErr(field, value, reason string) error {
	return &InputError{Field: field, Value: value, Reason: reason}
}

func notFound(what, id string) error {
	return fmt.Errorf("deadletter: %s %q: %w", what, id, ErrNotFound)
}
