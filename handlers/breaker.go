package handlers

import (
	"context"

	"github.com/vlensq/vlensq/tenancy"
	"github.com/vlensq/vlensq/vlens"
)

// The circuit breaker (package tenancy): an answer about the tenant's
// account pauses the tenant. The task that met it first is dead-lettered as
// the evidence; a task of the same tenant that meets it afterwards (in
// flight when the breaker tripped, or a probe) goes back to the hold
// instead of becoming another dead letter.

func (h *Handler) states() *tenancy.States {
	if h.cfg.Fair == nil {
		return nil
	}
	return h.cfg.Fair.States()
}

// accountAnswered notes that the tenant's account answered this attempt
// with a success or with an error about the task: a probe or trial resumes
// the tenant (when the breaker paused it) and the tenant is healthy.
func (h *Handler) accountAnswered(ctx context.Context, a *attempt) {
	st := h.states()
	if st == nil || a.payload == nil {
		return
	}
	if a.grantKind == tenancy.GrantProbe || a.grantKind == tenancy.GrantTrial {
		a.probeSettled = true
		if err := st.ProbeSucceeded(ctx, a.payload.Tenant); err != nil {
			a.log.Warn().Err(err).Msg("could not resume the tenant after its probe succeeded")
		}
		return
	}
	st.Healthy(ctx, a.payload.Tenant)
}

// breakerVerdict handles a failed call under the circuit breaker. It
// returns done with the attempt's error when it handled the failure: an
// account-level answer trips the breaker (dead-lettering this task) or, when
// the tenant is paused already, holds the task.
func (h *Handler) breakerVerdict(ctx context.Context, a *attempt, f failure) (bool, error) {
	verr := f.verr
	st := h.states()
	if st == nil || a.payload == nil {
		return false, nil
	}
	tenant := a.payload.Tenant
	probing := a.grantKind == tenancy.GrantProbe || a.grantKind == tenancy.GrantTrial
	if probing && verr.Class != vlens.ClassPermanent || verr.Breaker {
		a.probeSettled = true // released or handed on below
	}
	switch {
	case verr.Class != vlens.ClassPermanent:
		if probing {
			// No word on the account: the next probe runs after the lease.
			st.ProbeEnded(ctx, tenant)
		}
		return false, nil
	case !verr.Breaker:
		h.accountAnswered(ctx, a)
		return false, nil
	}
	bctx, cancel := bookkeeping(ctx)
	defer cancel()
	if a.grantKind == tenancy.GrantProbe {
		if err := st.ProbeFailed(bctx, tenant); err != nil {
			a.log.Warn().Err(err).Msg("could not schedule the tenant's next probe")
		}
		a.log.Info().Str("reason", verr.Reason).Msg("breaker probe failed; the tenant stays paused")
		return true, h.hold(bctx, a)
	}
	if a.grantKind == tenancy.GrantTrial {
		st.ProbeEnded(bctx, tenant)
	}
	tripped, err := st.Trip(bctx, tenant, tenancy.Cause{
		Code: verr.Code, HTTPStatus: verr.HTTPStatus, Message: verr.Reason, Category: string(verr.Category), Type: a.task.Type(),
	})
	if err != nil {
		a.log.Warn().Err(err).Msg("could not trip the tenant's circuit breaker; dead-lettering the task")
		return false, nil
	}
	if !tripped {
		a.log.Info().Str("reason", verr.Reason).Msg("tenant paused by its circuit breaker; the task waits")
		return true, h.hold(bctx, a)
	}
	a.log.Warn().Str("tenant", tenant).Str("reason", verr.Reason).Msg("account-level error: circuit breaker pauses the tenant")
	err = h.deadLetter(ctx, a, f)
	dlID := ""
	if rec, gerr := h.cfg.DeadLetters.GetByTaskID(bctx, a.id); gerr == nil {
		dlID = rec.ID
	}
	st.Tripped(bctx, tenant, dlID)
	return true, err
}
