package tasks

import (
	"fmt"
	"strings"
	"time"

	"github.com/vlensq/vlensq/internal/tracing"
)

// EnqueueOptions are the per-task options of an enqueue.
type EnqueueOptions struct {
	// Queue is the asynq queue; empty means ClientConfig.DefaultQueue.
	Queue string
	// ID becomes the asynq task id, so a producer can enqueue idempotently:
	// a second enqueue with the same id in the same queue fails with
	// ErrDuplicateID while the first task exists (pending, retrying,
	// archived or kept as completed for ClientConfig.Retention). Empty means
	// a random id.
	ID string
	// ProcessIn delays the task; zero means now.
	ProcessIn time.Duration
	// Traceparent is a W3C traceparent the task's attempts continue (their
	// spans are its children). Empty means the span in the enqueue's
	// context, if any. It travels in the task's headers, not its payload.
	Traceparent string
	// Link is a W3C traceparent the task's attempts link to without being its
	// children; a requeue links to the attempt that dead-lettered the
	// original task. Empty means none.
	Link string
}

// MaxIDBytes bounds EnqueueOptions.ID.
const MaxIDBytes = 256

// validate checks the options' form.
func (o EnqueueOptions) validate() error {
	if o.Queue != "" {
		if err := validQueue(o.Queue); err != nil {
			return &ValidationError{Field: "queue", Problem: err.Error()}
		}
	}
	if o.ID != "" {
		switch {
		case len(o.ID) > MaxIDBytes:
			return &ValidationError{Field: "id", Problem: fmt.Sprintf("longer than %d bytes", MaxIDBytes)}
		case strings.ContainsFunc(o.ID, isSpaceOrControl):
			return &ValidationError{Field: "id", Problem: "must not contain spaces or control characters"}
		}
	}
	if o.Traceparent != "" {
		if _, err := tracing.ParseTraceparent(o.Traceparent); err != nil {
			return &ValidationError{Field: "traceparent", Problem: err.Error()}
		}
	}
	if o.Link != "" {
		if _, err := tracing.ParseTraceparent(o.Link); err != nil {
			return &ValidationError{Field: "link", Problem: err.Error()}
		}
	}
	if o.ProcessIn < 0 {
		return &ValidationError{Field: "process_in", Problem: "must not be negative"}
	}
	return nil
}

// validQueue checks a queue name: not blank, no spaces or control
// characters, no braces (asynq puts the name in a Redis Cluster hash tag
// "{queue}").
func validQueue(q string) error {
	switch {
	case blank(q):
		return fmt.Errorf("must not be blank")
	case len(q) > 100:
		return fmt.Errorf("longer than 100 bytes")
	case strings.ContainsFunc(q, isSpaceOrControl):
		return fmt.Errorf("must not contain spaces or control characters")
	case strings.ContainsAny(q, "{}"):
		return fmt.Errorf("must not contain { or }")
	}
	return nil
}
