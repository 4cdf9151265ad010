package outcome

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/hibiken/asynq"

	"github.com/vlensq/vlensq/internal/tracing"
)

// TypeCallback is the asynq task type that delivers one outcome to a
// producer's callback_url.
const TypeCallback = "outcome:callback"

// Defaults of callback delivery.
const (
	CallbackMaxRetryDefault  = 10
	CallbackTimeoutDefault   = 10 * time.Second
	CallbackRetentionDefault = time.Hour
	CallbackBackoffBase      = time.Second
	CallbackBackoffCap       = 5 * time.Minute
)

type callbackPayload struct {
	URL     string  `json:"url"`
	Outcome Outcome `json:"outcome"`
}

func (p *Publisher) enqueueCallback(ctx context.Context, o Outcome, url string) error {
	if p.client == nil {
		return fmt.Errorf("outcome: task %s has a callback_url but the publisher has no asynq client", o.TaskID)
	}
	b, err := json.Marshal(callbackPayload{URL: url, Outcome: o})
	if err != nil {
		return err
	}
	// The delivery's attempts continue the trace of the publish (if traced).
	task := asynq.NewTaskWithHeaders(TypeCallback, b, tracing.Headers(ctx, "", "", time.Now()))
	_, err = p.client.EnqueueContext(ctx, task,
		asynq.Queue(p.cfg.CallbackQueue),
		asynq.TaskID("callback:"+o.TaskID),
		asynq.MaxRetry(CallbackMaxRetryDefault),
		asynq.Timeout(CallbackTimeoutDefault+5*time.Second),
		// Keeping the finished delivery reserves its task id, so a re-run of
		// the original task cannot deliver the callback a second time.
		asynq.Retention(CallbackRetentionDefault),
	)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil // already scheduled by an earlier run of the same task
	}
	if err != nil {
		return fmt.Errorf("outcome: schedule callback of task %s: %w", o.TaskID, err)
	}
	return nil
}

// CallbackRetryDelay is the backoff between callback deliveries: 1 s, 2 s,
// 4 s ... capped at 5 min. n is the number of failed deliveries so far.
func CallbackRetryDelay(n int) time.Duration {
	d := CallbackBackoffBase
	for i := 0; i < n && d < CallbackBackoffCap; i++ {
		d *= 2
	}
	return min(d, CallbackBackoffCap)
}

// CallbackConfig configures callback delivery.
type CallbackConfig struct {
	// HTTPClient sends the POSTs. Default: a client with Timeout that
	// follows no redirect, uses no proxy and, unless AllowPrivate, refuses
	// at dial time any address that is not public (see ErrCallbackTarget).
	// A client given here is used as is: the URL rules still apply.
	HTTPClient *http.Client
	// Timeout bounds one delivery. Default CallbackTimeoutDefault.
	Timeout time.Duration
	// Secret, when set, signs each body: header X-Vlensq-Signature is
	// "sha256=" + hex(HMAC-SHA256(Secret, body)).
	Secret []byte
	// AllowPrivate allows callback targets on loopback, private, link-local
	// and other non-public addresses (worker --callback-allow-private).
	// Default false: such targets are refused, so a task's callback_url
	// cannot reach the worker's own network (SSRF).
	AllowPrivate bool
	// AllowHTTP allows plain http callback URLs (worker
	// --callback-allow-http). Default false: https only.
	AllowHTTP bool
}

// CallbackHandler delivers outcome:callback tasks.
type CallbackHandler struct {
	cfg CallbackConfig
}

// NewCallbackHandler returns the handler for TypeCallback.
func NewCallbackHandler(cfg CallbackConfig) *CallbackHandler {
	cfg.Timeout = cmp.Or(cfg.Timeout, CallbackTimeoutDefault)
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = newCallbackClient(cfg.Timeout, cfg.AllowPrivate)
	}
	return &CallbackHandler{cfg: cfg}
}

// ProcessTask POSTs the outcome as JSON. A 2xx answer ends the delivery; 408,
// 429, 5xx and network errors are retried with CallbackRetryDelay; other 4xx
// and 3xx answers (redirects are not followed) are not retried (the endpoint
// refuses the call), nor is a refused target (ErrCallbackTarget).
func (h *CallbackHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p callbackPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("outcome: bad callback payload: %v: %w", err, asynq.SkipRetry)
	}
	body, err := json.Marshal(p.Outcome)
	if err != nil {
		return fmt.Errorf("outcome: %v: %w", err, asynq.SkipRetry)
	}
	if err := h.cfg.checkURL(p.URL); err != nil {
		return fmt.Errorf("outcome: callback for task %s: %w: %w", p.Outcome.TaskID, err, asynq.SkipRetry)
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("outcome: callback url of task %s: %v: %w", p.Outcome.TaskID, err, asynq.SkipRetry)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "vlensq-callback/1")
	req.Header.Set("Idempotency-Key", p.Outcome.TaskID)
	req.Header.Set("X-Vlensq-Task-Id", p.Outcome.TaskID)
	if len(h.cfg.Secret) > 0 {
		m := hmac.New(sha256.New, h.cfg.Secret)
		m.Write(body)
		req.Header.Set("X-Vlensq-Signature", "sha256="+hex.EncodeToString(m.Sum(nil)))
	}
	resp, err := h.cfg.HTTPClient.Do(req)
	if errors.Is(err, ErrCallbackTarget) {
		return fmt.Errorf("outcome: callback for task %s: %w: %w", p.Outcome.TaskID, err, asynq.SkipRetry)
	}
	if err != nil {
		return fmt.Errorf("outcome: callback for task %s: %w", p.Outcome.TaskID, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("outcome: callback for task %s: http %d", p.Outcome.TaskID, resp.StatusCode)
	default:
		return fmt.Errorf("outcome: callback for task %s refused: http %d: %w", p.Outcome.TaskID, resp.StatusCode, asynq.SkipRetry)
	}
}
