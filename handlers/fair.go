package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vlensq/vlensq/internal/tracing"
	"github.com/vlensq/vlensq/tenancy"
)

// Fair dispatch (package tenancy): a task runs when the fair dispatcher
// granted it a slot of its tenant's rate budget. A task that arrives
// without a grant, or whose tenant is paused, goes back to its tenant's
// hold set without spending an attempt; retries and throttled tasks are held
// until they are due instead of waiting in asynq's retry set, so that they
// too take their turn.

// grantCmds adds the read-and-consume of the task's grant to the attempt's
// first pipeline; nil without fair dispatch.
func (h *Handler) grantCmds(ctx context.Context, pipe redis.Pipeliner, a *attempt) *redis.StringCmd {
	if h.cfg.Fair == nil || a.queue == "" {
		return nil
	}
	key := tenancy.TaskKey(a.queue, a.id)
	cmd := pipe.HGet(ctx, key, tenancy.GrantField)
	pipe.HDel(ctx, key, tenancy.GrantField)
	return cmd
}

// readGrant records in a whether the dispatcher granted this run.
func (h *Handler) readGrant(a *attempt, cmd *redis.StringCmd) {
	if cmd == nil {
		return
	}
	if v, err := cmd.Result(); err == nil && v != "" {
		a.granted = true
		a.grantKind, a.grantDue = tenancy.GrantKind(v)
	}
}

// mustHold reports whether the attempt must wait for its tenant's turn
// before calling Vlens.
func (h *Handler) mustHold(ctx context.Context, a *attempt) bool {
	if h.cfg.Fair == nil || a.queue == "" {
		return false
	}
	// A paused tenant's task waits, unless it is the breaker's probe.
	if !a.granted || (a.grantKind != tenancy.GrantProbe && h.cfg.Fair.Paused(ctx, a.payload.Tenant)) {
		if a.grantKind != "" {
			// A trial dispatched just before a pause: free its slot for the
			// breaker's probe.
			h.cfg.Fair.States().ProbeEnded(ctx, a.payload.Tenant)
		}
		return true
	}
	if a.grantKind != "" {
		// A probe or trial: keep its tenant's slot while the call runs.
		a.keepProbe = h.cfg.Fair.States().KeepProbe(ctx, a.payload.Tenant)
	}
	if !a.grantDue.IsZero() && h.cfg.Now().Sub(a.grantDue) > fairWaitSpanMin {
		tracing.RecordWait(ctx, tracing.SpanFairWait, a.grantDue, tracing.AttrTenant.String(a.payload.Tenant))
	}
	if m := h.cfg.Metrics; m != nil && !a.grantDue.IsZero() {
		// Enqueue (or due time of a retry) to start: the wait fairness is
		// about.
		m.TenantWait.WithLabelValues(a.payload.Tenant).Observe(max(h.cfg.Now().Sub(a.grantDue), 0).Seconds())
	}
	return false
}

// holdUntil puts the task back in its tenant's hold set, due at due, and
// reports whether it did; when Redis refuses, the caller falls back to
// asynq's own retry delay (the task then arrives without a grant and is
// held on that run).
func (h *Handler) holdUntil(ctx context.Context, a *attempt, due time.Time) bool {
	if h.cfg.Fair == nil || a.queue == "" {
		return false
	}
	if err := h.cfg.Fair.Hold(ctx, nil, a.queue, a.payload.Tenant, a.id, due); err != nil {
		a.log.Warn().Err(err).Msg("could not hold the task for its tenant's turn; asynq retries it")
		return false
	}
	return true
}

// hold returns an ungranted task to its tenant's hold set: no Vlens call,
// no attempt spent.
func (h *Handler) hold(ctx context.Context, a *attempt) error {
	if !h.holdUntil(ctx, a, h.cfg.Now()) {
		return fmt.Errorf("could not hold the task for its tenant's turn")
	}
	a.log.Debug().Msg("held for its tenant's turn")
	return &HeldError{}
}

// fairWaitSpanMin is the wait for a turn below which a traced attempt
// records no vlensq.fair_wait span: a dispatch and asynq's pickup take
// about this long (the wait is still in the queue wait attribute).
const fairWaitSpanMin = 50 * time.Millisecond

// HeldError returns a task to asynq parked: the fair dispatcher starts it
// again when its tenant's turn comes. It spends no attempt.
type HeldError struct{}

func (e *HeldError) Error() string { return "held for its tenant's turn (fair dispatch)" }
