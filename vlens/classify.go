package vlens

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
)

// Classify returns the one verdict for a response: its HTTP status, the
// envelope and the error DecodeEnvelope returned for its body. It never
// fails and never retries blindly: anything it does not recognise is
// permanent with category unknown. Message rules that name an Endpoint are
// skipped; use ClassifyEndpoint when the request path is known.
//
// The first step that applies decides:
//
//  1. The body is not an envelope (decodeErr != nil, or env == nil: empty,
//     HTML, truncated, not an object). A 4xx the table knows (401, 403, 400,
//     404, 415, 422, 429) keeps its status rule; anything else (2xx, 408,
//     5xx, other statuses) is transient/server (check body_not_json). The
//     Reason names the status and the decode problem.
//  2. error_code is set and not 0: a code in the table gives its rule, on
//     any HTTP status (a 422 wraps a Vlens code: the code wins). On an HTTP
//     5xx nothing else can make the answer permanent: a code that is an HTTP
//     status the table knows gives that status's rule unless it is
//     permanent, and any other code is transient/unknown (check
//     unknown_code_server_error: retried, and if it persists dead-lettered as
//     retries exhausted with the code visible). Otherwise an unknown code that
//     is an HTTP status the table knows (the errors page's own example sends
//     error_code 400) gives that status's rule. Any other unknown code (also
//     a non-integer one, and the placeholders 1, 101, 1001, 1050 of the
//     examples): on HTTP 401 or 429 the status decides as in step 4 (after
//     the message rules), otherwise permanent/unknown.
//  3. error_code is null or 0 and error_message or a line of
//     error_descriptions matches a message rule: the first matching rule, in
//     table order. This carries registration, business-request and
//     authentication causes that have no code (401 "refresh token expired" is
//     permanent/authentication, not auth_expired). On an HTTP 5xx only a
//     transient or throttled message rule applies; the others are skipped and
//     the status decides (step 4): a message never makes a server error
//     permanent.
//  4. A non-2xx status without a code: its rule in the table (401
//     auth_expired, 403 permanent/authentication, 400/404/415/422
//     permanent/validation, 408 and 5xx transient/server, 429
//     throttled/server); an unlisted 5xx takes 500's rule, any other status
//     is permanent/unknown (check unknown_status).
//  5. A 2xx (or status 0: an envelope from elsewhere) without a code is still
//     a failure when services say so, checked in this order:
//     validation_errors (the first inner code through the code table, e.g.
//     3011; no code or an unknown one → check services_validation),
//     spoofing.fake == true (code 5005's rule), liveness == false (check
//     liveness_failed), SRC.isValid == false (check src_invalid); then field
//     errors in error_descriptions (check field_errors, permanent/validation);
//     then an error_message no rule explains with no data (check
//     message_without_data, permanent/unknown: business failures come
//     without codes, and a failure must never pass as a success).
//  6. Otherwise success, with no category.
func (t *Table) Classify(httpStatus int, env *Envelope, decodeErr error) Verdict {
	return t.ClassifyEndpoint("", httpStatus, env, decodeErr)
}

// ClassifyEndpoint is Classify for a call whose request path is known (e.g.
// "/api/BusinessRequest/CustomerSign/StepValidateOtp"): message rules with an
// Endpoint pattern apply only when it matches path, so an invalid OTP on a
// signing step gets the business-request resolution rather than the
// registration one.
func (t *Table) ClassifyEndpoint(path string, httpStatus int, env *Envelope, decodeErr error) Verdict {
	t = t.orDefault()
	status := "http " + strconv.Itoa(httpStatus)

	// 1. Not an envelope.
	if decodeErr != nil || env == nil {
		problem := ErrEmptyBody.Error()
		var de *DecodeError
		switch {
		case errors.As(decodeErr, &de):
			problem = de.Kind.Error()
		case decodeErr != nil:
			problem = "body could not be read"
		}
		if r, ok := t.HTTPStatuses[httpStatus]; ok && httpStatus >= 400 && httpStatus < 500 {
			return r.verdict(0, status+", "+problem)
		}
		return t.check(CheckBodyNotJSON).verdict(0, status+", "+problem)
	}

	// 2. A code.
	if env.ErrorCodeText != "" || (env.ErrorCode != nil && *env.ErrorCode != 0) {
		code := 0
		if env.ErrorCode != nil {
			code = *env.ErrorCode
		}
		reason := "error_code " + strconv.Itoa(code)
		unknown := reason + " unknown"
		if env.ErrorCodeText != "" {
			unknown = "error_code is not an integer"
		} else if r, ok := t.Codes[code]; ok {
			return r.verdict(code, reason)
		}
		if isServerError(httpStatus) {
			// A 5xx is a server error whatever its body says: only a code the
			// table knows (above) can make it permanent. An unknown code is
			// retried like any server error, and keeps category unknown so
			// that, if it persists, the dead letter shows and counts it.
			if r, ok := t.HTTPStatuses[code]; ok && env.ErrorCodeText == "" && r.Class != ClassPermanent {
				return r.verdict(code, reason+" (an HTTP status), "+status)
			}
			return t.check(CheckUnknownCodeServerError).verdict(code, unknown+", "+status)
		}
		if r, ok := t.HTTPStatuses[code]; ok && env.ErrorCodeText == "" {
			return r.verdict(code, reason+" (an HTTP status)")
		}
		if httpStatus == 401 || httpStatus == 429 {
			if v, ok := t.matchMessage(path, env); ok {
				v.Code = code
				return v
			}
			if r, ok := t.HTTPStatuses[httpStatus]; ok {
				return r.verdict(code, unknown+", "+status)
			}
		}
		return t.check(CheckUnknownCode).verdict(code, unknown)
	}

	// 3. A message rule. On a 5xx only one that retries (transient or
	// throttled) applies: a message never makes a server error permanent.
	if v, ok := t.matchMessage(path, env); ok && (!isServerError(httpStatus) || v.Class == ClassTransient || v.Class == ClassThrottled) {
		return v
	}

	// 4. A failing HTTP status.
	if httpStatus != 0 && (httpStatus < 200 || httpStatus > 299) {
		if r, ok := t.HTTPStatuses[httpStatus]; ok {
			return r.verdict(0, status)
		}
		if isServerError(httpStatus) {
			if r, ok := t.HTTPStatuses[500]; ok {
				return r.verdict(0, status)
			}
			return defaultTable().HTTPStatuses[500].verdict(0, status)
		}
		return t.check(CheckUnknownStatus).verdict(0, status)
	}

	// 5. Failed checks on a 2xx.
	if s := env.Services; s != nil {
		if len(s.ValidationErrors) > 0 {
			code := s.FirstCode()
			if r, ok := t.Codes[code]; ok && code != 0 {
				return r.verdict(code, "services.validation_errors "+strconv.Itoa(code))
			}
			reason := "services.validation_errors"
			if code != 0 {
				reason += " " + strconv.Itoa(code) + " unknown"
			}
			return t.check(CheckServicesValidation).verdict(code, reason)
		}
		if s.Fake != nil && *s.Fake {
			r, ok := t.Codes[CodeFakeDocument]
			if !ok {
				r = defaultTable().Codes[CodeFakeDocument]
			}
			return r.verdict(0, "services.spoofing.fake")
		}
		if s.Liveness != nil && !*s.Liveness {
			return t.check(CheckLivenessFailed).verdict(0, "services.liveness false")
		}
		if s.SRC != nil && s.SRC.IsValid != nil && !*s.SRC.IsValid {
			code := 0
			if s.SRC.ErrorCode != nil {
				code = *s.SRC.ErrorCode
			}
			return t.check(CheckSRCInvalid).verdict(code, "services.SRC.isValid false")
		}
	}
	if len(env.Descriptions) > 0 {
		return t.check(CheckFieldErrors).verdict(0, "error_descriptions")
	}

	if env.ErrorMessage != "" && (len(env.Data) == 0 || string(env.Data) == "null") {
		return t.check(CheckMessageWithoutData).verdict(0, "error_message without error_code or data")
	}

	// 6. Success.
	return Verdict{Class: ClassSuccess}
}

// matchMessage finds the first message rule matching error_message or a
// line of error_descriptions.
func (t *Table) matchMessage(path string, env *Envelope) (Verdict, bool) {
	if env.ErrorMessage == "" && len(env.Descriptions) == 0 {
		return Verdict{}, false
	}
	for _, m := range t.compiled() {
		if m.endpoint != nil && (path == "" || !m.endpoint.MatchString(path)) {
			continue
		}
		if m.re.MatchString(env.ErrorMessage) {
			return m.Rule.verdict(0, "message: "+m.Name), true
		}
		for _, d := range env.Descriptions {
			if m.re.MatchString(d) {
				return m.Rule.verdict(0, "error_descriptions: "+m.Name), true
			}
		}
	}
	return Verdict{}, false
}

// ClassifyTransport returns the verdict for a call that got no response:
// timeouts, connection resets and refusals, DNS failures, dial errors and
// connections closed early are all transient/network (check network); the
// Reason names which. It reads err only through errors.Is / errors.As, so a
// wrapped *url.Error works, and the Reason never contains err's text.
func (t *Table) ClassifyTransport(err error) Verdict {
	t = t.orDefault()
	return t.check(CheckNetwork).verdict(0, transportReason(err))
}

func transportReason(err error) string {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var netErr net.Error
	switch {
	case err == nil:
		return "no response"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case errors.As(err, &dnsErr):
		return "dns lookup failed"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "connection closed early (EOF)"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return "dial failed"
	}
	return "transport error"
}

// Retryable reports whether the call may be tried again: transient and
// throttled verdicts are retried later, and auth_expired is retried once
// after a token refresh. Success and permanent verdicts are not.
func (v Verdict) Retryable() bool {
	switch v.Class {
	case ClassTransient, ClassThrottled, ClassAuthExpired:
		return true
	}
	return false
}

// isServerError reports an HTTP 5xx.
func isServerError(status int) bool { return status >= 500 && status <= 599 }
