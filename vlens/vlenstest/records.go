package vlenstest

import "time"

// Request is the record of one call to the fake. It never holds a body, a
// token, a key, a password or an OTP.
type Request struct {
	At time.Time `json:"at"`
	// RequestID is the X-Request-Id header the caller sent.
	RequestID string `json:"x_request_id,omitempty"`
	Method    string `json:"method"`
	// Path is the URL path as received, path-unescaped.
	Path string `json:"path"`
	// IDs are the ids Vlens issues that the body named.
	IDs BodyIDs `json:"ids,omitzero"`
	// Tenant is the tenant the ApiKey belongs to; empty when the key was
	// missing or unknown.
	Tenant string `json:"tenant,omitempty"`
	// User is the end user whose token was used; empty for tenant tokens and
	// ApiKey-only calls.
	User string `json:"user,omitempty"`
	// Token is the kind of bearer token presented: "tenant", "user", or empty.
	Token string `json:"token,omitempty"`
	// Status is the HTTP status sent; 0 when the connection was reset.
	Status int `json:"status"`
	// ErrorCode is the error_code sent; 0 when it was null or 0.
	ErrorCode int `json:"error_code,omitempty"`
	// Scenario is the "sandbox:..." string the request carried, and Step the
	// step of it that answered.
	Scenario string `json:"scenario,omitempty"`
	Step     string `json:"step,omitempty"`
	// Fault is the random fault injected, if any (see Faults).
	Fault string `json:"fault,omitempty"`
	// Latency is the random latency added (Faults latency=...).
	Latency time.Duration `json:"latency_ns,omitempty"`
}

// BodyIDs are the ids Vlens issues as a request body sent them, each as its
// JSON text: a string id quoted (`"5f2c…"`), a number bare (`77`), so a
// test sees the JSON type that was sent; empty when the body had none.
type BodyIDs struct {
	RequestID     string `json:"requestId,omitempty"`
	OTPRequestID  string `json:"otpRequestId,omitempty"`
	TransactionID string `json:"transaction_id,omitempty"`
	// VerifyRequestID is the request_id of the verification calls.
	VerifyRequestID string `json:"request_id,omitempty"`
}

// Injection records one injected failure or delay: a random fault, or a
// scenario step other than "ok".
type Injection struct {
	At        time.Time `json:"at"`
	RequestID string    `json:"x_request_id,omitempty"`
	Method    string    `json:"method"`
	Path      string    `json:"path"`
	Tenant    string    `json:"tenant,omitempty"`
	// Fault is the random fault kind ("5xx", "reset", "html", "truncated",
	// "empty", "429", "401", "4003") or the scenario step ("http500",
	// "delay:200ms+code:5000", ...).
	Fault string `json:"fault"`
	// Scenario is the scenario string for scripted steps; empty for random
	// faults.
	Scenario string `json:"scenario,omitempty"`
	// Status is the HTTP status sent; 0 for a reset connection.
	Status int `json:"status"`
}

// ring keeps the newest limit entries in order.
type ring[T any] struct {
	limit int
	buf   []T
	start int // index of the oldest entry once buf is full
}

func (r *ring[T]) add(v T) {
	if len(r.buf) < r.limit {
		r.buf = append(r.buf, v)
		return
	}
	r.buf[r.start] = v
	r.start = (r.start + 1) % r.limit
}

// all returns a copy, oldest first.
func (r *ring[T]) all() []T {
	out := make([]T, 0, len(r.buf))
	out = append(out, r.buf[r.start:]...)
	return append(out, r.buf[:r.start]...)
}
