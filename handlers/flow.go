package handlers

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/flows"
	"github.com/vlensq/vlensq/tasks"
	"github.com/vlensq/vlensq/vlens"
)

// flowFailure is what the dead letter of a failed flow step adds to the
// record and the stored payload.
type flowFailure struct {
	step    string
	steps   []deadletter.Step
	payload []byte // the original payload packed with the resume state
	start   int    // the attempt in which the failed step was first tried
}

// runFlow runs the steps of a flow task (verify:identity) that its step
// journal does not hold yet, each with the single-call machinery (call,
// failed), and publishes one outcome when the last one succeeds. A step
// that fails transiently makes asynq retry the task, which skips the
// journalled steps.
func (h *Handler) runFlow(ctx context.Context, a *attempt, j journal) error {
	if err := h.waitNotBefore(ctx, j.NotBefore); err != nil {
		return fmt.Errorf("waiting for the retry's due time: %w", err)
	}
	p, ttl := a.payload, h.cfg.JournalTTL
	steps := flows.StepsOf(a.task.Type())
	st, err := flows.Begin(ctx, h.rdb, a.id, cmp.Or(p.TransactionID.String(), flows.NewTransactionID()), "", 0, ttl)
	if err != nil {
		return err
	}
	if p.TransactionID.String() != st.TransactionID {
		// The outcome and the record carry it; a producer's own id keeps
		// its JSON type.
		p.TransactionID = tasks.TextID(st.TransactionID)
	}
	txn := p.TransactionID
	a.log = a.log.With().Str("transaction_id", st.TransactionID).Logger()
	calledOnce := false
	for _, step := range steps {
		if st.Done(step.Name) {
			continue
		}
		if st, err = flows.Begin(ctx, h.rdb, a.id, "", step.Name, a.retried, ttl); err != nil {
			return err
		}
		spec, _ := tasks.Lookup(step.Type)
		a.spec, a.body = spec, nil
		body, err := flows.StepPayload(p, step, txn).RequestBody(ctx, spec, h.cfg.Blobs)
		if err != nil {
			if errors.Is(err, tasks.ErrBlobMissing) {
				return h.deadLetter(ctx, a, failure{flow: h.flowFailure(a, steps, st, step),
					verr: h.localError(a, vlens.ClassPermanent, vlens.CategoryValidation,
						"image: the claim-checked image has expired or is missing; enqueue the task again with the image")})
			}
			return fmt.Errorf("build request body of step %s: %w", step.Name, err)
		}
		a.body = body
		// The fair dispatcher reserved the attempt's first call; the other
		// steps ask the tenant's rate limit themselves.
		resp, err := h.call(ctx, a, vlens.Call{
			Tenant: p.Tenant, User: p.User, Token: vlens.TokenUser, Method: spec.Method, Path: spec.Path, Body: body,
			Reserved: a.granted && !calledOnce,
		})
		calledOnce = true
		if err != nil {
			a.log.Info().Str("step", step.Name).Msg("step failed")
			return h.failed(ctx, a, err, failure{flow: h.flowFailure(a, steps, st, step)})
		}
		// Vlens has answered: journal it even if a shutdown cancels the task
		// now, so that no re-run calls the step again.
		result := resultOf(resp.Body, resp.Envelope)
		bctx, cancel := bookkeeping(ctx)
		err = flows.SaveStep(bctx, h.rdb, a.id, step.Name, result, ttl)
		cancel()
		if err != nil {
			return err // the step is idempotent: the retry calls it again
		}
		st.Results[step.Name] = result
		a.log.Info().Str("step", step.Name).Str("x_request_id", resp.RequestID).Msg("step succeeded")
	}
	bctx, cancel := bookkeeping(ctx)
	defer cancel()
	h.accountAnswered(bctx, a)
	return h.publishSuccess(bctx, a, flows.ResultOf(st), "", false)
}

// flowFailure describes the failure of step for the dead letter.
func (h *Handler) flowFailure(a *attempt, steps []flows.Step, st *flows.State, step flows.Step) *flowFailure {
	payload, err := flows.Pack(a.task.Payload(), st)
	if err != nil {
		// Cannot happen (the state is JSON); a requeue then restarts.
		a.log.Warn().Err(err).Msg("could not pack the flow's resume state")
		payload = a.task.Payload()
	}
	return &flowFailure{
		step: step.Name, payload: payload, start: st.Starts[step.Name],
		steps: flows.Summary(steps, st, step.Name, func(s flows.Step) deadletter.Endpoint {
			spec, _ := tasks.Lookup(s.Type)
			return deadletter.Endpoint{Method: spec.Method, URL: spec.Path}
		}),
	}
}
