package vlenstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// envelope is the Vlens response body. error_code, error_message and
// error_descriptions are always present (null when unset); services appears
// on document endpoints under one of two spellings.
type envelope struct {
	Data              any     `json:"data"`
	ErrorCode         *int    `json:"error_code"`
	ErrorMessage      *string `json:"error_message"`
	ErrorDescriptions any     `json:"error_descriptions"`
	TotalCount        *int    `json:"totalCount,omitempty"`
	ReturnedCount     *int    `json:"returnedCount,omitempty"`
	ServicesLower     any     `json:"services,omitempty"`
	ServicesUpper     any     `json:"Services,omitempty"`
}

// description is one entry of error_descriptions.
type description struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// services is the checks block of document endpoints.
type services struct {
	ValidationsLower *validations    `json:"validations,omitempty"`
	ValidationsUpper *validations    `json:"Validations,omitempty"`
	Spoofing         *spoofing       `json:"spoofing,omitempty"`
	Classification   *classification `json:"classification,omitempty"`
	Liveness         *bool           `json:"liveness"`
	AML              *amlCheck       `json:"AML,omitempty"`
	SRC              *srcCheck       `json:"SRC,omitempty"`
}

type validations struct {
	ValidationErrors []validationError `json:"validation_errors"`
}

type validationError struct {
	Field  string      `json:"field"`
	Value  any         `json:"value"`
	Errors []codedText `json:"errors"`
}

type codedText struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type spoofing struct {
	Fake bool `json:"fake"`
}

type classification struct {
	DocType string `json:"doc_type"`
}

type amlCheck struct {
	Matched bool  `json:"AML_matched"`
	Data    []any `json:"data"`
}

type srcCheck struct {
	IsValid      bool    `json:"isValid"`
	ErrorCode    *int    `json:"errorCode"`
	ErrorKey     *string `json:"errorKey"`
	ErrorMessage *string `json:"errorMessage"`
}

// casing says how an endpoint spells services and validations, and whether a
// success carries error_code 0 or null: Vlens is not consistent, and the
// fake reproduces each variant on some endpoint.
type casing struct {
	upperServices    bool
	upperValidations bool
	zeroCode         bool
}

// wrap places s in env under the endpoint's spelling.
func (c casing) wrap(env *envelope, s *services) {
	if s == nil {
		return
	}
	if c.upperServices {
		env.ServicesUpper = s
	} else {
		env.ServicesLower = s
	}
}

// validations returns an empty validations block under the endpoint's
// spelling, set on s.
func (c casing) validations(s *services, errs ...validationError) {
	v := &validations{ValidationErrors: append([]validationError{}, errs...)}
	if c.upperValidations {
		s.ValidationsUpper = v
	} else {
		s.ValidationsLower = v
	}
}

// response is what an endpoint answers, before a scenario step or fault may
// mangle it.
type response struct {
	status      int
	env         *envelope // nil: raw is sent as is
	raw         []byte
	contentType string
	header      http.Header
}

func ptr[T any](v T) *T { return &v }

// success builds HTTP 200 with data (and services under c's spelling).
func success(c casing, data any, s *services) *response {
	env := &envelope{Data: data}
	if c.zeroCode {
		env.ErrorCode = ptr(0)
	}
	c.wrap(env, s)
	return &response{status: http.StatusOK, env: env}
}

// failure builds an envelope with status, code (0: null) and message.
func failure(status, code int, msg string) *response {
	env := &envelope{ErrorMessage: ptr(msg)}
	if code != 0 {
		env.ErrorCode = ptr(code)
	}
	return &response{status: status, env: env}
}

// codeFailure is a Vlens code with its message, at the given HTTP status.
func codeFailure(status, code int) *response {
	return failure(status, code, codeMessage(code))
}

// validationFailure is the errors page's validation shape: HTTP 400,
// error_code 400, "Validation failed" and field-level descriptions.
func validationFailure(descs ...description) *response {
	r := failure(http.StatusBadRequest, http.StatusBadRequest, "Validation failed")
	r.env.ErrorDescriptions = descs
	return r
}

// messageFailure is a business-style failure: HTTP 200, error_code null and
// only an error_message, the way Vlens reports failures without a code.
func messageFailure(msg string) *response {
	return failure(http.StatusOK, 0, msg)
}

// encode renders r's body.
func (r *response) body() []byte {
	if r.env == nil {
		return r.raw
	}
	b, err := json.Marshal(r.env)
	if err != nil {
		// Only fake-built values are marshalled; they always encode.
		panic(fmt.Sprintf("vlenstest: encode envelope: %v", err))
	}
	return b
}

// code returns the error_code sent, 0 for null.
func (r *response) code() int {
	if r.env == nil || r.env.ErrorCode == nil {
		return 0
	}
	return *r.env.ErrorCode
}

// Messages of the codes Vlens documents (api.md), used by code:NNNN and by
// the fake's own checks.
var codeMessages = map[int]string{
	3001: "Invalid ID number",
	3002: "Invalid birth date",
	3003: "Invalid governorate",
	3004: "Invalid ID key",
	3005: "Invalid gender",
	3006: "Invalid issue date",
	3007: "Invalid birth date format",
	3008: "Invalid issue date format",
	3009: "Invalid expiry date format",
	3010: "Document expired",
	3011: "Card not detected",
	3013: "Invalid MRZ",
	3014: "No face detected on the ID",
	3101: "Front and back ID numbers do not match",
	3102: "Name does not match the car licence",
	4001: "Bundle key invalid",
	4002: "Bundle balance exhausted",
	4003: "Too many trials, try again later",
	4004: "Service is not in the bundle",
	4005: "Bundle disabled",
	4006: "Not subscribed",
	4007: "Subscription expired",
	4206: "Several faces detected",
	4207: "No face detected",
	4208: "Face is not clear",
	4209: "Face is too far or too small",
	4210: "Face is partially covered",
	5000: "Something went wrong",
	5001: "Unsupported document",
	5002: "Image size exceeds 5 MB",
	5003: "Image resolution exceeds 25 megapixels",
	5004: "Invalid transaction id: transaction not found",
	5005: "Document detected as fake",
	5006: "Image is blurry",
	5007: "Wrong endpoint for this document",
	5008: "Could not map extracted data",
	7000: "Error while processing the document",
	7001: "Error while processing the ID front",
	7002: "Error while processing the ID back",
	7003: "Error while processing the passport",
	7004: "Error while processing the car licence",
	7005: "Error while processing the driving licence",
	7006: "Error while processing the face images",
	7008: "Error while processing the extracted data",
}

// codeMessage is the message Vlens sends with code; a generic one for codes
// it does not document.
func codeMessage(code int) string {
	if m, ok := codeMessages[code]; ok {
		return m
	}
	return "Error " + strconv.Itoa(code)
}

// Messages of failures that have no numeric code. The texts carry the cause
// wording of the Vlens errors page so that message patterns match them.
const (
	msgAPIKey          = "ApiKey header missing or invalid"
	msgNoAuthorization = "Authorization header missing on a protected endpoint"
	msgAccessExpired   = "Access token expired"
	msgAccessInvalid   = "Access token invalid or expired"
	msgRefreshExpired  = "Refresh token expired or revoked"
	msgNoPermission    = "Token does not have permission for this endpoint"
	msgOtherTenant     = "Token belongs to a different tenant"
	msgBadCredentials  = "Invalid user name or password"
	msgInternal        = "An internal error occurred during your request!"
	msgUnavailable     = "The service is temporarily unavailable, please try again later"
	msgTimeout         = "Request timeout"
	msgTooMany         = "Too many requests"
	msgIdenticalFaces  = "Identical face images: capture three distinct, sequential frames"
	msgInvalidOTP      = "Invalid OTP"
	msgOTPExpired      = "OTP expired or request not found"
	msgNotEligible     = "User not eligible: the digital identity is not verified"
	msgWrongStatus     = "Wrong request status for this operation"
	msgLocationChanged = "Location changed: liveness required. Call StepReValidateLiveness before StepRequestOtp"
	msgRequestNotFound = "Business request not found"
	msgTypeNotFound    = "Business request type not found"
	msgFieldMissing    = "Required form field missing: "
)

// html502 is what the gateway in front of Vlens sends when the backend is
// down.
const html502 = `<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center>
</body>
</html>
`

// text504 is a gateway timeout in plain text.
const text504 = "upstream request timeout"
