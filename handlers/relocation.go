package handlers

import (
	"context"
	"errors"

	"github.com/vlensq/vlensq/tasks"
	"github.com/vlensq/vlensq/vlens"
)

// relocated reports whether a business:request_otp call failed because the
// device moved too far since the user's last location (Vlens demands
// StepReValidateLiveness first) and the payload carries the scanTransaction
// frames to re-validate with. Without frames the failure is dead-lettered
// with the resolution that says so.
func (h *Handler) relocated(a *attempt, err error) bool {
	var verr *vlens.Error
	return a.spec.Type == tasks.TypeBusinessRequestOTP && a.payload.ScanTransaction != nil &&
		errors.As(err, &verr) && verr.MatchedRule(vlens.RuleLocationChanged)
}

// revalidateAndReplay calls StepReValidateLiveness with the payload's
// geoLocation, userDeviceUtcTime and scanTransaction, then replays otpCall
// (StepRequestOtp) once. The refused StepRequestOtp sent no OTP, so the
// replay sends the only one. Errors are those of call.
func (h *Handler) revalidateAndReplay(ctx context.Context, a *attempt, otpCall vlens.Call) (*vlens.Response, error) {
	spec, _ := tasks.Lookup(tasks.TypeBusinessRevalidateLiveness)
	body, err := a.payload.RequestBody(ctx, spec, h.cfg.Blobs)
	if errors.Is(err, tasks.ErrBlobMissing) {
		return nil, h.localError(a, vlens.ClassPermanent, vlens.CategoryValidation,
			"scanTransaction: the claim-checked image has expired or is missing; enqueue the task again with the images")
	}
	if err != nil {
		return nil, err
	}
	a.log.Info().Msg("location changed: re-validating liveness, then requesting the OTP again")
	otpBody := a.body
	a.body = body // a failure's record shows the re-validation request
	if _, err := h.call(ctx, a, vlens.Call{
		Tenant: otpCall.Tenant, User: otpCall.User, Token: vlens.TokenUser, Method: spec.Method, Path: spec.Path, Body: body,
	}); err != nil {
		return nil, err
	}
	a.body = otpBody
	return h.call(ctx, a, otpCall)
}
