package vlens

import (
	"fmt"
	"strings"
)

// Error implements error. The text names the call and the verdict and never
// includes the request body, tokens or keys.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("vlens: ")
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.URL)
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, ": http %d", e.HTTPStatus)
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, " error_code %d", e.Code)
	}
	fmt.Fprintf(&b, " (%s", e.Class)
	if e.Category != "" {
		fmt.Fprintf(&b, "/%s", e.Category)
	}
	b.WriteByte(')')
	switch {
	case e.Message != "":
		b.WriteString(": ")
		b.WriteString(e.Message)
	case e.Err != nil:
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	case e.Reason != "":
		b.WriteString(": ")
		b.WriteString(e.Reason)
	}
	return b.String()
}

// Unwrap returns the transport error, if any.
func (e *Error) Unwrap() error { return e.Err }

// Verdict returns the classification the error carries.
func (e *Error) Verdict() Verdict {
	return Verdict{Class: e.Class, Category: e.Category, Resolution: e.Resolution, Code: e.Code, Reason: e.Reason, RetryAfter: e.RetryAfter, Breaker: e.Breaker}
}

// NotProcessed reports that Vlens provably did not act on the call, so that
// repeating a call that is not idempotent (an OTP request, a business request)
// cannot do it twice: nothing was sent (Sent is false: the limiter refused,
// no token, the connection could not be made), or Vlens answered that it did
// not take the call (throttled: HTTP 429 or code 4003; a 401 whose token
// refresh failed). Any other failure of
// a call that was sent (timeout or reset after the request was written, a
// 502/504 from a gateway, a body cut short, a 5xx) leaves the outcome
// unknown: the call may have taken effect.
func (e *Error) NotProcessed() bool {
	return !e.Sent || e.refused || e.Class == ClassThrottled
}

// RuleLocationChanged is the name of the default message rule that
// recognises StepRequestOtp's answer that the device moved too far and
// liveness must be re-validated (StepReValidateLiveness) first.
const RuleLocationChanged = "location changed"

// MatchedRule reports whether the error's verdict comes from the message
// rule called name (see Table's messages and RuleLocationChanged).
func (e *Error) MatchedRule(name string) bool {
	for _, p := range []string{"message: ", "error_descriptions: "} {
		if rest, ok := strings.CutPrefix(e.Reason, p+name); ok && (rest == "" || strings.HasPrefix(rest, ": ")) {
			return true
		}
	}
	return false
}
