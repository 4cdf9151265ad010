package tasks

import (
	"net/http"
	"slices"
	"strings"
)

// Task type names. They are stable strings: they appear in asynq, in
// dead-letter records, in NDJSON files and in metrics.
const (
	TypeVerifyIDFront  = "verify:id_front"
	TypeVerifyIDBack   = "verify:id_back"
	TypeVerifyLiveness = "verify:liveness"
	// TypeVerifyIdentity runs verify:id_front and verify:id_back, then
	// verify:liveness, as one task with one transaction_id (package flows).
	TypeVerifyIdentity = "verify:identity"

	TypeOCRIDFront   = "ocr:id_front"
	TypeOCRIDBack    = "ocr:id_back"
	TypeOCRFaceMatch = "ocr:face_match"
	TypeOCRAML       = "ocr:aml"

	TypeBusinessCreate             = "business:create"
	TypeBusinessRequestOTP         = "business:request_otp"
	TypeBusinessRevalidateLiveness = "business:revalidate_liveness"
	TypeBusinessValidateOTP        = "business:validate_otp"
	TypeBusinessStatus             = "business:status"
)

// Spec describes the Vlens call behind one task type. Specs are data: the
// handler builds the request from them and the validator checks payloads
// against them.
type Spec struct {
	// Type is the task type name, e.g. "verify:id_front".
	Type string
	// Method is the HTTP method of the Vlens call.
	Method string
	// Path is the URL path below the Vlens base URL. It may hold the
	// placeholders {type_id} and {requestId}, filled from the payload by
	// Payload.PathFor.
	Path string
	// UserToken is true when the call is made with the end user's token
	// (verify:*, business:*) and false when it uses the tenant token (ocr:*).
	UserToken bool
	// Fields are the Vlens request fields passed through to the call body,
	// in Vlens's own names. A GET call has none.
	Fields []string
	// Required are the payload fields that must be present. Nested fields are
	// dotted ("scanTransaction.image"); path placeholders are listed too.
	Required []string
	// Images are the image fields, dotted for nested ones
	// ("scanTransaction.image").
	Images []string
	// Idempotent is false when repeating the call after a lost response has a
	// visible side effect: business:request_otp sends another SMS and
	// business:create opens a second business request.
	Idempotent bool
	// Flow is true for a task type that runs several Vlens calls
	// (verify:identity; see package flows). Method and Path are empty; Fields
	// are the payload members its steps use, and the steps build their own
	// bodies.
	Flow bool
	// Extra are payload members the worker uses but does not send with the
	// call: business:request_otp's scanTransaction, sent to
	// StepReValidateLiveness only when Vlens asks for it.
	Extra []string
}

// Params returns the names a payload of this type may carry: our own
// tenant, user and callback_url, the path placeholders and the Fields.
func (s Spec) Params() []string {
	p := []string{"tenant", "user", "callback_url"}
	p = append(p, s.placeholders()...)
	p = append(p, s.Fields...)
	return append(p, s.Extra...)
}

// placeholders returns the {names} in Path, in order.
func (s Spec) placeholders() []string {
	var out []string
	rest := s.Path
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return out
		}
		out = append(out, rest[i+1:i+j])
		rest = rest[i+j+1:]
	}
}

var (
	verifyIDFields  = []string{"image", "transaction_id", "client_transaction_id", "request_id", "country", "name_check_value", "getExtractedData"}
	ocrIDFields     = []string{"image", "transaction_id", "client_transaction_id", "country"}
	liveFrames      = []string{"face_1", "face_2", "face_3"}
	scanImages      = []string{"scanTransaction.image", "scanTransaction.face_1", "scanTransaction.face_2", "scanTransaction.face_3"}
	businessContext = []string{"geoLocation", "userDeviceUtcTime"}
)

// specs is the task type table, in the order Types returns.
var specs = []Spec{
	{
		Type: TypeVerifyIDFront, Method: http.MethodPost, Path: "/api/DigitalIdentity/verify/id/front",
		UserToken: true, Fields: verifyIDFields, Required: []string{"image"}, Images: []string{"image"}, Idempotent: true,
	},
	{
		Type: TypeVerifyIDBack, Method: http.MethodPost, Path: "/api/DigitalIdentity/verify/id/back",
		UserToken: true, Fields: verifyIDFields, Required: []string{"image"}, Images: []string{"image"}, Idempotent: true,
	},
	{
		Type: TypeVerifyLiveness, Method: http.MethodPost, Path: "/api/DigitalIdentity/verify/liveness/multi",
		UserToken:  true,
		Fields:     []string{"face_1", "face_2", "face_3", "transaction_id", "client_transaction_id", "getExtractedData"},
		Required:   []string{"face_1", "face_2", "face_3", "transaction_id"},
		Images:     liveFrames,
		Idempotent: true,
	},
	{
		Type: TypeVerifyIdentity, UserToken: true, Flow: true,
		Fields: []string{"front_image", "back_image", "face_1", "face_2", "face_3", "transaction_id",
			"client_transaction_id", "request_id", "country", "name_check_value", "getExtractedData"},
		Required:   []string{"front_image", "back_image", "face_1", "face_2", "face_3"},
		Images:     []string{"front_image", "back_image", "face_1", "face_2", "face_3"},
		Idempotent: true,
	},
	{
		Type: TypeOCRIDFront, Method: http.MethodPost, Path: "/v1/ocr/id/front",
		Fields: ocrIDFields, Required: []string{"image", "country"}, Images: []string{"image"}, Idempotent: true,
	},
	{
		Type: TypeOCRIDBack, Method: http.MethodPost, Path: "/v1/ocr/id/back",
		Fields: ocrIDFields, Required: []string{"image", "country"}, Images: []string{"image"}, Idempotent: true,
	},
	{
		Type: TypeOCRFaceMatch, Method: http.MethodPost, Path: "/v1/ocr/face/match",
		Fields: []string{"transaction_id", "image"}, Required: []string{"transaction_id", "image"},
		Images: []string{"image"}, Idempotent: true,
	},
	{
		Type: TypeOCRAML, Method: http.MethodPost, Path: "/v1/ocr/aml/validate",
		Fields: []string{"idNumber", "name"}, Required: []string{"idNumber", "name"}, Idempotent: true,
	},
	{
		Type: TypeBusinessCreate, Method: http.MethodPost, Path: "/api/BusinessRequest/Create/{type_id}",
		UserToken: true,
		Fields:    []string{"geoLocation", "userDeviceUtcTime", "requestFieldsValues"},
		Required:  []string{"type_id", "geoLocation", "userDeviceUtcTime"},
	},
	{
		Type: TypeBusinessRequestOTP, Method: http.MethodPost, Path: "/api/BusinessRequest/CustomerSign/StepRequestOtp",
		UserToken: true,
		Fields:    []string{"geoLocation", "userDeviceUtcTime", "requestId"},
		Required:  []string{"geoLocation", "userDeviceUtcTime", "requestId"},
		// scanTransaction, when given, answers Vlens's "location changed":
		// the worker re-validates liveness with it and asks for the OTP again.
		Extra:  []string{"scanTransaction"},
		Images: scanImages,
	},
	{
		Type: TypeBusinessRevalidateLiveness, Method: http.MethodPost, Path: "/api/BusinessRequest/CustomerSign/StepReValidateLiveness",
		UserToken:  true,
		Fields:     []string{"geoLocation", "userDeviceUtcTime", "scanTransaction"},
		Required:   append(slices.Clone(businessContext), scanImages...),
		Images:     scanImages,
		Idempotent: true,
	},
	{
		Type: TypeBusinessValidateOTP, Method: http.MethodPost, Path: "/api/BusinessRequest/CustomerSign/StepValidateOtp",
		UserToken:  true,
		Fields:     []string{"geoLocation", "userDeviceUtcTime", "otpRequestId", "otpCode", "requestId"},
		Required:   []string{"geoLocation", "userDeviceUtcTime", "otpRequestId", "otpCode", "requestId"},
		Idempotent: true,
	},
	{
		Type: TypeBusinessStatus, Method: http.MethodGet, Path: "/api/BusinessRequest/GetBusinessRequestById/{requestId}",
		UserToken: true, Required: []string{"requestId"}, Idempotent: true,
	},
}

// Lookup returns the Spec of a task type.
func Lookup(taskType string) (Spec, bool) {
	s, ok := specFor(taskType)
	if !ok {
		return Spec{}, false
	}
	return s.clone(), true
}

// specFor returns the table's own Spec (not to be modified).
func specFor(taskType string) (*Spec, bool) {
	for i := range specs {
		if specs[i].Type == taskType {
			return &specs[i], true
		}
	}
	return nil, false
}

// params holds Spec.Params of every type, computed once.
var params = func() map[string][]string {
	m := make(map[string][]string, len(specs))
	for _, s := range specs {
		m[s.Type] = s.Params()
	}
	return m
}()

// clone returns s with its own slices, so a caller cannot change the table.
func (s Spec) clone() Spec {
	s.Fields = slices.Clone(s.Fields)
	s.Required = slices.Clone(s.Required)
	s.Images = slices.Clone(s.Images)
	s.Extra = slices.Clone(s.Extra)
	return s
}

// Types returns every task type name, verification first, then OCR, then
// business. The slice is a fresh copy.
func Types() []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.Type
	}
	return out
}
