package handlers

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/vlensq/vlensq/outcome"
)

// Server timing defaults. asynq's own defaults (5 s forwarder, 1 s polling)
// would add seconds to a 500 ms retry; these keep a retry within ~100 ms of
// its policy delay.
const (
	DelayedTaskCheckIntervalDefault = 50 * time.Millisecond
	TaskCheckIntervalDefault        = 50 * time.Millisecond
	ShutdownTimeoutDefault          = 30 * time.Second
)

// Router returns the asynq handler of a worker: outcome callbacks go to cb,
// every other task to h. Unlike asynq.ServeMux, whose unknown-type error would
// be retried 25 times, an unknown type reaches h and is dead-lettered at once
// as a validation failure naming the type.
func (h *Handler) Router(cb *outcome.CallbackHandler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		if t.Type() == outcome.TypeCallback && cb != nil {
			return cb.ProcessTask(ctx, t)
		}
		return h.ProcessTask(ctx, t)
	})
}

// ServerConfig completes an asynq server configuration with vlensq's retry
// rules: the policy's delays (callbacks have their own), throttling that
// spends no attempt, fast forwarding of due retries, and logging through
// zerolog. Fields already set in c are kept, except RetryDelayFunc and
// IsFailure, which must be vlensq's.
func (h *Handler) ServerConfig(c asynq.Config) asynq.Config {
	c.RetryDelayFunc = func(n int, err error, t *asynq.Task) time.Duration {
		if t.Type() == outcome.TypeCallback {
			return outcome.CallbackRetryDelay(n)
		}
		return h.policy.Delay(n, err)
	}
	c.IsFailure = IsFailure
	c.DelayedTaskCheckInterval = cmp.Or(c.DelayedTaskCheckInterval, DelayedTaskCheckIntervalDefault)
	c.TaskCheckInterval = cmp.Or(c.TaskCheckInterval, TaskCheckIntervalDefault)
	c.ShutdownTimeout = cmp.Or(c.ShutdownTimeout, ShutdownTimeoutDefault)
	if c.Logger == nil {
		c.Logger = AsynqLogger(h.log)
	}
	if c.ErrorHandler == nil && h.cfg.Metrics != nil {
		m := h.cfg.Metrics
		c.ErrorHandler = asynq.ErrorHandlerFunc(func(_ context.Context, t *asynq.Task, err error) {
			if t.Type() == outcome.TypeCallback {
				m.Callbacks.WithLabelValues("failed").Inc()
			}
		})
	}
	return c
}

// AsynqLogger adapts zerolog to asynq's Logger.
func AsynqLogger(l zerolog.Logger) asynq.Logger {
	return zlog{l.With().Str("component", "asynq").Logger()}
}

type zlog struct{ l zerolog.Logger }

func (z zlog) Debug(a ...any) { z.l.Debug().Msg(fmt.Sprint(a...)) }
func (z zlog) Info(a ...any)  { z.l.Info().Msg(fmt.Sprint(a...)) }
func (z zlog) Warn(a ...any) {
	msg := fmt.Sprint(a...)
	// asynq warns "Retry exhausted" for every archived task, also for the
	// SkipRetry of a dead letter, which the handler has already logged with
	// its record id: keep it at debug level.
	if strings.HasPrefix(msg, "Retry exhausted for task") {
		z.l.Debug().Msg(msg)
		return
	}
	z.l.Warn().Msg(msg)
}
func (z zlog) Error(a ...any) { z.l.Error().Msg(fmt.Sprint(a...)) }
func (z zlog) Fatal(a ...any) { z.l.Fatal().Msg(fmt.Sprint(a...)) }
