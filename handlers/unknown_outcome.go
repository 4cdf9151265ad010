package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/tasks"
	"github.com/vlensq/vlensq/vlens"
)

// A call that is not idempotent (tasks.Spec.Idempotent false:
// business:request_otp sends an SMS, business:create opens a business
// request) is sent at most once per task. Its journal holds an in-flight
// mark from just before the call until Vlens's answer is journalled or the
// failure is known not to have taken effect. A failure that leaves the
// outcome unknown (the request was sent and no usable answer came back), and
// a re-run that finds the mark (the worker crashed or was stopped during
// the call), end the task as a dead letter with reason outcome_unknown and a
// resolution saying what to check before requeueing. Vlens documents no way
// to look a request up by anything the task knows (no idempotency key, no
// list of a user's business requests), so there is nothing to reconcile
// automatically.

// inFlightField is the journal field of the in-flight mark (Unix ms).
const inFlightField = "in_flight"

// markInFlight journals that a call that must not be repeated is about to be
// sent. A failure returns the error: nothing was sent, the task is retried.
func (h *Handler) markInFlight(ctx context.Context, a *attempt) error {
	if a.spec.Idempotent {
		return nil
	}
	k := journalKey(a.id)
	_, err := h.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k, inFlightField, h.cfg.Now().UnixMilli())
		p.Expire(ctx, k, h.cfg.JournalTTL)
		return nil
	})
	if err != nil {
		return fmt.Errorf("journal the call before sending it: %w", err)
	}
	return nil
}

// settleCall decides what a failed call of a type that is not idempotent
// means. When Vlens provably did not act on it (nothing sent, throttled) or
// answered with a permanent verdict, the in-flight mark goes and the task
// follows its verdict. Otherwise the outcome is unknown: it returns the
// dead-letter failure to end the task with, and true.
func (h *Handler) settleCall(ctx context.Context, a *attempt, verr *vlens.Error) (failure, bool) {
	if a.spec.Idempotent {
		return failure{}, false
	}
	bctx, cancel := bookkeeping(ctx) // also after a shutdown cancelled ctx
	defer cancel()
	if verr.Class == vlens.ClassPermanent || verr.NotProcessed() {
		if err := h.rdb.HDel(bctx, journalKey(a.id), inFlightField).Err(); err != nil {
			a.log.Warn().Err(err).Msg("could not clear the in-flight mark; a re-run will end the task as outcome unknown")
		}
		return failure{}, false
	}
	// The attempt goes in the history as the verdict path would put it.
	h.observe(ctx, a, verr.Class, verr.Category, verr.Code)
	if err := h.recordAttempt(bctx, a.id, attemptEntry{
		At: h.cfg.Now().UTC(), HTTPStatus: verr.HTTPStatus, ErrorCode: verr.Code,
		Class: string(verr.Class), XRequestID: verr.RequestID,
	}); err != nil {
		a.log.Warn().Err(err).Msg("could not record the attempt in the history")
	}
	e := *verr
	e.Resolution = unknownOutcomeResolution(a.spec.Type)
	if e.Message == "" {
		e.Message = "outcome unknown: the request was sent and no usable answer came back (" + e.Reason + "); it was not sent again"
	}
	a.log.Warn().Int("http_status", e.HTTPStatus).Str("reason", e.Reason).Str("x_request_id", e.RequestID).
		Msg("outcome unknown: the call may have taken effect; not sending it again")
	return failure{verr: &e, reason: deadletter.ReasonOutcomeUnknown}, true
}

// interruptedCall is the failure of a re-run that found the in-flight mark
// of an earlier attempt: that attempt stopped (crash, shutdown, lost lease)
// after sending its call and before recording the answer.
func (h *Handler) interruptedCall(a *attempt, since time.Time) failure {
	e := h.localError(a, vlens.ClassTransient, vlens.CategoryNetwork, fmt.Sprintf(
		"outcome unknown: an earlier attempt sent the call at %s and stopped before recording the answer; it was not sent again",
		since.UTC().Format(time.RFC3339)))
	e.Reason = "vlensq: attempt interrupted during the call"
	e.Resolution = unknownOutcomeResolution(a.spec.Type)
	a.log.Warn().Time("sent_at", since).Msg("outcome unknown: an earlier attempt was interrupted during the call; not sending it again")
	return failure{verr: e, reason: deadletter.ReasonOutcomeUnknown}
}

func unknownOutcomeResolution(taskType string) string {
	const lost = " vlensq sent the call once and did not repeat it. Vlens support can find the call by the x_request_id in the history."
	switch taskType {
	case tasks.TypeBusinessRequestOTP:
		return "Vlens may have sent the OTP SMS, but its otpRequestId never arrived." + lost +
			" Ask the customer whether an OTP arrived. Requeue only when a new OTP is wanted: a requeue sends another SMS."
	case tasks.TypeBusinessCreate:
		return "Vlens may have created the business request, but its id never arrived." + lost +
			" Look in the Vlens portal (or CheckEligibility's hasPendingRequest) for a request of this user and type created" +
			" between first_attempt_at and failed_at: if there is one, continue with its id and do not requeue; requeue only" +
			" if there is none (a requeue opens another request)."
	}
	return "The call may have taken effect at Vlens, but no usable answer arrived." + lost +
		" Check its effect with Vlens before requeueing: a requeue sends it again."
}
