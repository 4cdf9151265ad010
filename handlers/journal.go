package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vlensq/vlensq/flows"
)

// JournalTTLDefault bounds how long the per-task journal and attempt history
// live in Redis when a task never ends (longer than any retry schedule).
const JournalTTLDefault = 7 * 24 * time.Hour

// Attempt is one entry of a task's attempt history: the dead-letter record's
// "history".
type attemptEntry struct {
	At         time.Time `json:"at"`
	HTTPStatus int       `json:"http_status"`
	ErrorCode  int       `json:"error_code"`
	Class      string    `json:"class"`
	XRequestID string    `json:"x_request_id"`
}

// journal is the per-task state that makes re-runs idempotent.
type journal struct {
	// Response is a successful Vlens answer already received for the task.
	Response json.RawMessage
	// DeadLettering is set before the dead-letter record is written.
	DeadLettering bool
	// NotBefore is when the retry of a failed attempt is due. asynq keeps
	// retry times in whole seconds and may release a retry up to a second
	// early; the handler waits out the rest (see waitNotBefore).
	NotBefore time.Time
	// InFlight is when a call that must not be repeated was sent by an
	// attempt that has not recorded its answer yet (see markInFlight).
	InFlight time.Time
}

// Keys share the hash tag {<task id>} so that the journal and the history of
// one task live on one cluster slot.
func journalKey(taskID string) string  { return "vlensq:task:{" + taskID + "}:journal" }
func attemptsKey(taskID string) string { return "vlensq:task:{" + taskID + "}:attempts" }

// journalOf decodes the result of an HGETALL of the journal key.
func journalOf(m map[string]string, err error) (journal, error) {
	if err != nil && !errors.Is(err, redis.Nil) {
		return journal{}, err
	}
	j := journal{DeadLettering: m["state"] == "dead_lettering"}
	if r := m["response"]; r != "" {
		j.Response = json.RawMessage(r)
	}
	if ms, err := strconv.ParseInt(m["not_before"], 10, 64); err == nil {
		j.NotBefore = time.UnixMilli(ms)
	}
	if ms, err := strconv.ParseInt(m[inFlightField], 10, 64); err == nil {
		j.InFlight = time.UnixMilli(ms)
	}
	return j, nil
}

func (h *Handler) journalResponse(ctx context.Context, taskID string, body []byte) error {
	k := journalKey(taskID)
	_, err := h.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k, "response", body)
		p.Expire(ctx, k, h.cfg.JournalTTL)
		return nil
	})
	return err
}

// journalNotBefore records when the retry of this task is due.
func (h *Handler) journalNotBefore(ctx context.Context, taskID string, at time.Time) error {
	k := journalKey(taskID)
	_, err := h.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k, "not_before", at.UnixMilli())
		p.Expire(ctx, k, h.cfg.JournalTTL)
		return nil
	})
	return err
}

// MaxEarlyWait bounds how long a retry released early by asynq waits in the
// handler: asynq rounds retry times down to the second.
const MaxEarlyWait = 1500 * time.Millisecond

// waitNotBefore holds a retry that asynq released before its due time.
func (h *Handler) waitNotBefore(ctx context.Context, due time.Time) error {
	wait := due.Sub(h.cfg.Now())
	if wait <= 0 || wait > MaxEarlyWait {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Handler) journalDeadLettering(ctx context.Context, taskID string) error {
	k := journalKey(taskID)
	_, err := h.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k, "state", "dead_lettering")
		p.Expire(ctx, k, h.cfg.JournalTTL)
		return nil
	})
	return err
}

func (h *Handler) recordAttempt(ctx context.Context, taskID string, a attemptEntry) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	k := attemptsKey(taskID)
	_, err = h.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.RPush(ctx, k, b)
		p.Expire(ctx, k, h.cfg.JournalTTL)
		return nil
	})
	return err
}

func (h *Handler) attempts(ctx context.Context, taskID string) ([]attemptEntry, error) {
	raw, err := h.rdb.LRange(ctx, attemptsKey(taskID), 0, -1).Result()
	if err != nil {
		return nil, err
	}
	out := make([]attemptEntry, 0, len(raw))
	for _, r := range raw {
		var a attemptEntry
		if json.Unmarshal([]byte(r), &a) == nil {
			out = append(out, a)
		}
	}
	return out, nil
}

// forget removes a finished task's journal and history. The outcome marker
// keeps answering re-runs.
// It joins the outcome's pipeline (one round trip for both).
func (h *Handler) forgetIn(taskID string) func(redis.Pipeliner) {
	return func(p redis.Pipeliner) {
		p.Del(context.Background(), journalKey(taskID), attemptsKey(taskID), flows.Key(taskID))
	}
}
