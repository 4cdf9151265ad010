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
