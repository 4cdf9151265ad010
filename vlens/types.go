package vlens

import (
	"encoding/json"
	"time"
)

// Envelope is a decoded Vlens response body. Decoding is defensive: see
// DecodeEnvelope. Raw fields keep what Vlens sent so that dead-letter records
// can show the response as received.
type Envelope struct {
	// Data is the "data" member as sent (object, array, string or null);
	// nil when absent.
	Data json.RawMessage `json:"data,omitempty"`
	// ErrorCode is nil when "error_code" is null or absent. A code of 0 is
	// kept as 0 (success, seen in the wild).
	ErrorCode *int `json:"error_code"`
	// ErrorCodeText is "error_code" as sent when it is set but is not an
	// integer (e.g. "E12" or 3011.5); ErrorCode is then nil and Classify
	// treats the envelope as carrying an unknown code.
	ErrorCodeText string `json:"-"`
	ErrorMessage  string `json:"error_message,omitempty"`
	// ErrorDescriptions is the raw "error_descriptions" (array, object or null).
	ErrorDescriptions json.RawMessage `json:"error_descriptions,omitempty"`
	// Descriptions are the human-readable lines found in ErrorDescriptions,
	// e.g. "image: image is required".
	Descriptions []string `json:"-"`
	// Services is the "services" / "Services" block of document endpoints;
	// nil when absent.
	Services *Services `json:"services,omitempty"`
	// ServicesRaw is the first non-null services block as sent (any key
	// spelling); nil when absent.
	ServicesRaw json.RawMessage `json:"-"`
	// TotalCount and ReturnedCount are set on list envelopes.
	TotalCount    *int `json:"totalCount,omitempty"`
	ReturnedCount *int `json:"returnedCount,omitempty"`
}

// Services is the checks block of document endpoints. Keys are matched in any
// casing ("validations" / "Validations", ...).
type Services struct {
	ValidationErrors []FieldError `json:"validation_errors,omitempty"`
	// Fake is spoofing.fake; nil when absent.
	Fake *bool `json:"fake,omitempty"`
	// DocType is classification.doc_type.
	DocType string `json:"doc_type,omitempty"`
	// Liveness is the liveness verdict; nil when absent or null.
	Liveness *bool `json:"liveness,omitempty"`
	// AMLMatched is AML.AML_matched; nil when absent.
	AMLMatched *bool `json:"aml_matched,omitempty"`
	// SRC is the national-records check; nil when absent.
	SRC *SRCCheck `json:"src,omitempty"`
}

// SRCCheck is services.SRC: the check against national records (NTRA / CSO).
type SRCCheck struct {
	IsValid      *bool  `json:"isValid,omitempty"`
	ErrorCode    *int   `json:"errorCode,omitempty"`
	ErrorKey     string `json:"errorKey,omitempty"`
	ErrorMessage string `json:"errorMessage,omitempty"`
}

// FieldError is one entry of services.validations.validation_errors or of
// error_descriptions.
type FieldError struct {
	Field   string      `json:"field,omitempty"`
	Message string      `json:"message,omitempty"`
	Errors  []CodedText `json:"errors,omitempty"`
}

// CodedText is a {code, message} pair inside a FieldError.
type CodedText struct {
	Code    int    `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// Verdict is the result of classifying one response (or one transport
// failure).
type Verdict struct {
	Class    Class    `json:"class"`
	Category Category `json:"category,omitempty"`
	// Resolution is the resolution text from the Vlens errors page.
	Resolution string `json:"resolution,omitempty"`
	// Code is the Vlens code the verdict rests on: error_code, or the first
	// code found under services; 0 when there is none.
	Code int `json:"code,omitempty"`
	// Reason says which signal decided, e.g. "error_code 3011",
	// "http 503", "services.validation_errors", "spoofing.fake",
	// "message: otp expired", "body is not JSON". For logs and records.
	Reason string `json:"reason,omitempty"`
	// RetryAfter is the wait the table's rule asks for before a retry
	// (e.g. 60 s for code 4003); zero when the rule names none. A
	// Retry-After header, when longer, should win.
	RetryAfter time.Duration `json:"retry_after,omitempty"`
	// Breaker reports an answer about the tenant's account, not the task
	// (the rule's Breaker): the circuit breaker pauses the tenant.
	Breaker bool `json:"breaker,omitempty"`
}

// Error is a failed Vlens call. Use errors.As to get it from a returned error.
// It never carries request bodies, tokens or API keys; Body is the response
// as received, size-bounded.
type Error struct {
	Method     string `json:"method"`
	URL        string `json:"url"`
	HTTPStatus int    `json:"http_status"` // 0 when no response arrived
	// RequestID is the X-Request-Id sent with the call.
	RequestID string `json:"x_request_id,omitempty"`

	Code         int      `json:"error_code,omitempty"`
	Message      string   `json:"error_message,omitempty"`
	Descriptions []string `json:"error_descriptions,omitempty"`
	// FieldErrors are the validation errors found under services.
	FieldErrors []FieldError `json:"field_errors,omitempty"`

	Class      Class    `json:"class"`
	Category   Category `json:"category"`
	Resolution string   `json:"resolution,omitempty"`
	Reason     string   `json:"reason,omitempty"`

	// Envelope is the decoded response, nil when the body was not JSON.
	Envelope *Envelope `json:"-"`
	// Body is the raw response body, cut at the client's limit.
	Body []byte `json:"-"`
	// BodyTruncated reports that Body was cut.
	BodyTruncated bool `json:"-"`
	// RetryAfter is the wait Vlens (Retry-After) or the local rate limiter
	// asked for; zero when none.
	RetryAfter time.Duration `json:"retry_after,omitempty"`
	// Breaker reports an answer about the tenant's account, not the task:
	// the circuit breaker pauses the tenant (see Rule.Breaker).
	Breaker bool `json:"breaker,omitempty"`
	// Err is the transport error (timeout, reset, ...), nil when a response
	// arrived. Unwrap returns it.
	Err error `json:"-"`
	// Sent reports that the request's headers were written to a connection
	// to Vlens: from then on Vlens may have acted on the call even when no
	// answer arrived. It is false when the call failed before (limiter, token,
	// dial, DNS, refused connection). See NotProcessed.
	Sent bool `json:"-"`
	// refused marks a call Vlens answered without acting on it (a 401 whose
	// token refresh then failed).
	refused bool
}
