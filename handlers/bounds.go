package handlers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/vlens"
)

// The retry policy, not asynq, decides how every task ends. asynq archives a
// task without asking once Retried >= MaxRetry (throttled tasks included),
// which would leave it with no dead-letter record and no outcome. bound
// therefore looks at every error about to go back to asynq:
//
//   - on asynq's last attempt it dead-letters the task instead (reason
//     attempt_budget), trying the writes again while Redis comes back;
//   - a failure of our own (not a Vlens verdict: Redis, the blob store, a
//     dead-letter or outcome write) is retried up to Policy.InternalAttempts
//     attempts, then dead-lettered with category internal.

// lastChanceWrites bounds the dead-letter writes tried on asynq's last
// attempt; each failed one first waits for Redis (awaitRedis).
const lastChanceWrites = 5

// bound turns err, on its way back to asynq, into a dead letter when the
// task's budget says so. It runs last in ProcessTask.
func (h *Handler) bound(ctx context.Context, a *attempt, err error) error {
	if err == nil || errors.Is(err, asynq.SkipRetry) || errors.Is(ctx.Err(), context.Canceled) {
		// Done, or a shutdown / lost lease: asynq puts the task back without
		// counting (or the recoverer does), so no budget is spent.
		return err
	}
	var re *RetryError
	var te *ThrottledError
	policyRetry := errors.As(err, &re) || errors.As(err, &te)
	if _, known := asynq.GetMaxRetry(ctx); known && a.retried >= a.maxRetry {
		f := h.budgetFailure(a, err)
		for i := 1; ; i++ {
			derr := h.deadLetter(ctx, a, f)
			if errors.Is(derr, asynq.SkipRetry) || i >= lastChanceWrites || ctx.Err() != nil {
				return derr
			}
			a.log.Warn().Err(derr).Int("try", i).Msg("last attempt asynq allows: dead-lettering failed, trying again")
			h.awaitRedis(ctx)
		}
	}
	if !policyRetry && a.retried+1 >= h.policy.InternalAttempts {
		a.log.Error().Err(err).Int("attempts", a.retried+1).Msg("internal failures used up their attempts; dead-lettering")
		if a.ending != nil {
			return h.deadLetter(ctx, a, *a.ending) // the dead letter whose writing failed
		}
		return h.deadLetter(ctx, a, failure{verr: h.internalError(a, err), retriesExhausted: true})
	}
	return err
}

// budgetFailure describes a task ended by asynq's budget: the dead letter
// this attempt failed to write, else the Vlens failure of this attempt, else
// the internal error.
func (h *Handler) budgetFailure(a *attempt, err error) failure {
	a.log.Warn().Err(err).Int("max_retry", a.maxRetry).Msg("asynq's retry budget is spent: dead-lettering instead of letting asynq archive the task")
	switch {
	case a.ending != nil:
		return *a.ending
	case a.verr != nil:
		return failure{verr: a.verr, retriesExhausted: true, reason: deadletter.ReasonAttemptBudget}
	}
	return failure{verr: h.internalError(a, err), retriesExhausted: true, reason: deadletter.ReasonAttemptBudget}
}

// internalError describes a failure of our own. Its text is the error's: it
// comes from our code and names the step (it never carries the payload).
func (h *Handler) internalError(a *attempt, err error) *vlens.Error {
	e := h.localError(a, vlens.ClassTransient, vlens.CategoryInternal, "internal error: "+err.Error())
	e.Reason = "vlensq: internal error"
	e.Resolution = "vlensq could not process the task for a reason of its own (Redis, the image store, a dead-letter or " +
		"outcome write): see error_message and the worker's log for the task id, fix the cause, then requeue"
	return e
}

// throttledSinceField is the journal field holding when Vlens first
// throttled the task (Unix ms).
const throttledSinceField = "throttled_since"

// throttledTooLong records the first throttled answer of Vlens for the task
// and reports whether the task has been throttled for longer than
// Policy.ThrottleLimit. Throttling by the local rate limit (nothing sent)
// neither starts nor ends the clock. A Redis failure answers false: the
// task is throttled once more.
func (h *Handler) throttledTooLong(ctx context.Context, a *attempt, verr *vlens.Error) bool {
	if verr.HTTPStatus == 0 {
		return false
	}
	now := h.cfg.Now()
	k := journalKey(a.id)
	var since *redis.StringCmd
	_, err := h.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSetNX(ctx, k, throttledSinceField, now.UnixMilli())
		since = p.HGet(ctx, k, throttledSinceField)
		p.Expire(ctx, k, h.cfg.JournalTTL)
		return nil
	})
	if err != nil {
		a.log.Warn().Err(err).Msg("could not journal the throttling time")
		return false
	}
	ms, err := strconv.ParseInt(since.Val(), 10, 64)
	if err != nil {
		return false
	}
	return now.Sub(time.UnixMilli(ms)) >= h.policy.ThrottleLimit
}

// throttledTooLongFailure is the dead letter of a task Vlens kept throttling.
func (h *Handler) throttledTooLongFailure(a *attempt, verr *vlens.Error) failure {
	e := *verr
	e.Resolution = fmt.Sprintf("Vlens kept throttling this task for more than %v (the worker's --throttle-limit): check the "+
		"tenant's limits and trials with Vlens (code 4003: too many trials), then requeue. %s", h.policy.ThrottleLimit, verr.Resolution)
	a.log.Warn().Dur("limit", h.policy.ThrottleLimit).Msg("throttled for too long; dead-lettering")
	return failure{verr: &e, reason: deadletter.ReasonThrottledTooLong}
}
