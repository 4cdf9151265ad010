package tasks

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/vlensq/vlensq/internal/jsonscan"
)

// Payload is the JSON payload of every task type. Member names are Vlens's
// own request field names, passed through to the call, plus our tenant,
// user, type_id and callback_url. Which members a type uses, and which it
// requires, is in its Spec; Validate checks a payload against it.
//
// Decoding (json.Unmarshal, DecodePayload, ParseLine) is strict: an unknown
// member is an error naming it, so a typo ("face1") is caught at enqueue.
type Payload struct {
	// Tenant is the Vlens tenancy name the call is made for. Required.
	Tenant string `json:"tenant"`
	// User names the end user whose tokens (in the session store) make a
	// user-token call. Required for verify:* and business:*.
	User string `json:"user,omitempty"`
	// TypeID is the business request type of business:create (path
	// {type_id}).
	TypeID int `json:"type_id,omitempty"`
	// CallbackURL, when set, receives the task's outcome as a POST. It must
	// be an absolute http(s) URL without credentials.
	CallbackURL string `json:"callback_url,omitempty"`

	// Image is the ID card side (verify:id_*, ocr:id_*) or the face to match
	// (ocr:face_match).
	Image *Image `json:"image,omitempty"`
	// FrontImage and BackImage are the two sides of the ID card of
	// verify:identity (sent as "image" to verify/id/front and /id/back).
	FrontImage *Image `json:"front_image,omitempty"`
	BackImage  *Image `json:"back_image,omitempty"`
	// Face1..Face3 are the three distinct liveness frames (verify:liveness,
	// verify:identity).
	Face1 *Image `json:"face_1,omitempty"`
	Face2 *Image `json:"face_2,omitempty"`
	Face3 *Image `json:"face_3,omitempty"`

	// TransactionID groups the steps of one identity verification. Required
	// for verify:liveness and ocr:face_match.
	// An opaque ID (string or number, passed on as it came).
	TransactionID ID `json:"transaction_id,omitzero"`
	// ClientTransactionID is the producer's own id, echoed back by Vlens.
	ClientTransactionID string `json:"client_transaction_id,omitempty"`
	// RequestID is Vlens's request_id of the verification calls, an opaque
	// ID.
	RequestID ID `json:"request_id,omitzero"`
	// Country of the ID document. Required for ocr:id_front and ocr:id_back.
	Country string `json:"country,omitempty"`
	// GetExtractedData asks Vlens to return the extracted ID data.
	GetExtractedData *bool `json:"getExtractedData,omitempty"`
	// NameCheckValue is a name Vlens compares with the one on the ID.
	NameCheckValue string `json:"name_check_value,omitempty"`

	// IDNumber and Name are checked against AML lists (ocr:aml).
	IDNumber string `json:"idNumber,omitempty"`
	Name     string `json:"name,omitempty"`

	// BusinessRequestID is the business request's id ("requestId"): the
	// data.id that business:create returned (a UUID string at Vlens), an
	// opaque ID passed on in the JSON type it came in and path-escaped in
	// GetBusinessRequestById/{requestId}.
	BusinessRequestID ID `json:"requestId,omitzero"`
	// OTPRequestID is the otpRequestId returned by business:request_otp, an
	// opaque ID.
	OTPRequestID ID `json:"otpRequestId,omitzero"`
	// OTPCode is the code the user received. Secret: never logged or shown
	// (String hides it; FormatPayload redacts it for display).
	OTPCode string `json:"otpCode,omitempty"`
	// GeoLocation is the user's device location, required by business steps.
	GeoLocation *GeoLocation `json:"geoLocation,omitempty"`
	// UserDeviceUTCTime is the device's UTC time, RFC 3339
	// ("2025-01-02T15:04:05Z"; a missing zone means UTC).
	UserDeviceUTCTime string `json:"userDeviceUtcTime,omitempty"`
	// RequestFieldsValues are the business request template's field values
	// (business:create). Numbers pass through exactly.
	RequestFieldsValues map[string]any `json:"requestFieldsValues,omitempty"`
	// ScanTransaction holds the ID image and three liveness frames of
	// business:revalidate_liveness; on business:request_otp, the ones the
	// worker re-validates liveness with when Vlens answers that the device
	// location changed.
	ScanTransaction *ScanTransaction `json:"scanTransaction,omitempty"`
}

// UnmarshalJSON decodes strictly; errors are *ValidationError naming the
// member relative to the payload ("image.blob").
func (p *Payload) UnmarshalJSON(b []byte) error {
	if err := checkJSON(b); err != nil {
		return err
	}
	return p.decodeRaw(b)
}

func (p *Payload) decodeRaw(b []byte) error {
	type plain Payload
	return decodeStrict(b, (*plain)(p))
}

// String names the tenant and the members set, never their values (images,
// OTP codes and personal data stay out of logs).
func (p *Payload) String() string {
	if p == nil {
		return "payload(nil)"
	}
	var set []string
	for _, f := range payloadFields().list {
		if f.name != "tenant" && p.has(f.name) {
			set = append(set, f.name)
		}
	}
	return "payload(tenant=" + p.Tenant + " " + strings.Join(set, ",") + ")"
}

// GoString is String, so %#v hides values too.
func (p *Payload) GoString() string { return p.String() }

// GeoLocation is the user's device location.
type GeoLocation struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// UnmarshalJSON decodes strictly; latitude and longitude are required.
// Each is a JSON number or a string holding one ("30.0444"), which Vlens
// (ASP.NET) reads too; it is sent on as a number.
func (g *GeoLocation) UnmarshalJSON(b []byte) error {
	if err := checkJSON(b); err != nil {
		return err
	}
	return g.decodeRaw(b)
}

func (g *GeoLocation) decodeRaw(b []byte) error {
	type plain GeoLocation
	b = bytes.TrimSpace(b)
	if jsonscan.Kind(b) == "object" {
		members, err := splitObject(b)
		if err != nil {
			return err
		}
		changed := false
		for _, k := range []string{"latitude", "longitude"} {
			raw, ok := members[k]
			if !ok || jsonscan.Kind(raw) != "string" {
				continue
			}
			s, err := jsonString(raw)
			f, perr := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || perr != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return &ValidationError{Field: k, Problem: "must be a number, or a string holding one"}
			}
			members[k], changed = json.RawMessage(strconv.FormatFloat(f, 'g', -1, 64)), true
		}
		if changed {
			b, _ = json.Marshal(members)
		}
	}
	return decodeStrict(b, (*plain)(g), "latitude", "longitude")
}

// ScanTransaction is the fresh ID image and liveness frames sent with
// business:revalidate_liveness.
type ScanTransaction struct {
	Image *Image `json:"image,omitempty"`
	Face1 *Image `json:"face_1,omitempty"`
	Face2 *Image `json:"face_2,omitempty"`
	Face3 *Image `json:"face_3,omitempty"`
}

// UnmarshalJSON decodes strictly.
func (s *ScanTransaction) UnmarshalJSON(b []byte) error {
	if err := checkJSON(b); err != nil {
		return err
	}
	return s.decodeRaw(b)
}

func (s *ScanTransaction) decodeRaw(b []byte) error {
	type plain ScanTransaction
	return decodeStrict(b, (*plain)(s))
}

// MaxIDLength is the longest id (requestId, otpRequestId, transaction_id,
// request_id) a payload may carry, in bytes: a UUID is 36, and anything
// far longer is not an id.
const MaxIDLength = 256

// ID is an identifier that Vlens issues and takes back: a business
// request's requestId (a UUID from BusinessRequest/Create), an
// otpRequestId, a transaction_id, a request_id. It is opaque: it is
// accepted as a JSON string (any non-blank text) or a JSON number and sent
// back to Vlens in the JSON type it came in, with its text unchanged: the
// string "9001" stays a string, the number 9001 stays a number. Validate
// checks only that it is present and at most MaxIDLength bytes long.
//
// Build one with TextID or NumberID. The zero ID is absent (omitted from
// JSON).
type ID struct {
	text   string // the string's text, or the number's JSON text
	number bool   // it came as a JSON number
}

// TextID is the id s, sent as a JSON string.
func TextID(s string) ID { return ID{text: s} }

// NumberID is the id n, sent as a JSON number.
func NumberID(n int64) ID { return ID{text: strconv.FormatInt(n, 10), number: true} }

// String is the id's text: the string, or the number's digits.
func (id ID) String() string { return id.text }

// IsNumber reports whether the id is sent as a JSON number.
func (id ID) IsNumber() bool { return id.number }

// Equal reports whether id and o are the same text in the same JSON type.
func (id ID) Equal(o ID) bool { return id == o }

// IsZero reports an absent id: no text, or only spaces.
func (id ID) IsZero() bool { return blank(id.text) }

// MarshalJSON writes the id in the JSON type it came in.
func (id ID) MarshalJSON() ([]byte, error) {
	if id.number {
		return []byte(id.text), nil
	}
	return json.Marshal(id.text)
}

// UnmarshalJSON accepts a JSON string or number.
func (id *ID) UnmarshalJSON(b []byte) error {
	if err := checkJSON(b); err != nil {
		return err
	}
	return id.decodeRaw(b)
}

func (id *ID) decodeRaw(b []byte) error {
	switch jsonscan.Kind(b) {
	case "string":
		s, err := jsonString(b)
		if err != nil {
			return &ValidationError{Problem: "malformed JSON string"}
		}
		*id = ID{text: s}
		return nil
	case "number":
		*id = ID{text: strings.TrimSpace(string(b)), number: true}
		return nil
	}
	return &ValidationError{Problem: "must be " + ID{}.describeJSON() + ", got " + jsonscan.Kind(b)}
}

func (ID) describeJSON() string { return "a string or a number" }
