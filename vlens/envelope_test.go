package vlens

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func ptr[T any](v T) *T { return &v }

func TestDecodeEnvelopeRejectsNonEnvelopes(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	tests := []struct {
		desc string
		body string
		kind error
	}{
		{"nil body", "", ErrEmptyBody},
		{"whitespace", " \r\n\t ", ErrEmptyBody},
		{"BOM only", "\xef\xbb\xbf", ErrEmptyBody},
		{"HTML gateway page", "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>", ErrBodyNotJSON},
		{"plain text", "Service Unavailable", ErrBodyNotJSON},
		{"truncated object", `{"data": {"isVerificationProcessCompleted": fal`, ErrBodyTruncated},
		{"truncated after key", `{"error_code": 3011, "error_message": "card not`, ErrBodyTruncated},
		{"opening brace only", `{`, ErrBodyTruncated},
		{"array", `[{"error_code": 3011}]`, ErrBodyNotObject},
		{"string", `"error"`, ErrBodyNotObject},
		{"number", `3011`, ErrBodyNotObject},
		{"null", `null`, ErrBodyNotObject},
		{"trailing garbage", `{"error_code": null}<html>`, ErrBodyNotJSON},
		{"two objects", `{"a":1}{"b":2}`, ErrBodyNotJSON},
		{"nesting beyond encoding/json's limit", deep, ErrBodyNotJSON},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			env, err := DecodeEnvelope([]byte(tc.body))
			if env != nil {
				t.Errorf("DecodeEnvelope returned an envelope %+v, want nil", env)
			}
			if !errors.Is(err, tc.kind) {
				t.Fatalf("DecodeEnvelope error = %v, want one wrapping %q", err, tc.kind)
			}
			var de *DecodeError
			if !errors.As(err, &de) || de.Size != len(tc.body) {
				t.Errorf("error %#v: want a *DecodeError with Size %d", err, len(tc.body))
			}
		})
	}
}

func TestDecodeErrorTextHasNoBodyContent(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		"<html>29901011234567 secret-canary</html>",
		`{"idNumber": "29901011234567", "name": "secret-canary"`,
		`["29901011234567", "secret-canary"]`,
	} {
		_, err := DecodeEnvelope([]byte(body))
		if err == nil {
			t.Fatalf("DecodeEnvelope(%q) succeeded, want an error", body)
		}
		if msg := err.Error(); strings.Contains(msg, "secret-canary") || strings.Contains(msg, "2990101") {
			t.Errorf("error text %q leaks body content", msg)
		}
	}
}

func TestDecodeEnvelopeErrorCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc     string
		body     string
		wantCode *int
		wantText string
	}{
		{"absent", `{"data": {}}`, nil, ""},
		{"null", `{"error_code": null}`, nil, ""},
		{"zero", `{"error_code": 0}`, ptr(0), ""},
		{"int", `{"error_code": 3011}`, ptr(3011), ""},
		{"negative", `{"error_code": -1}`, ptr(-1), ""},
		{"numeric string", `{"error_code": "3011"}`, ptr(3011), ""},
		{"padded numeric string", `{"error_code": " 4003 "}`, ptr(4003), ""},
		{"zero string", `{"error_code": "0"}`, ptr(0), ""},
		{"float", `{"error_code": 3011.0}`, ptr(3011), ""},
		{"exponent", `{"error_code": 3.011e3}`, ptr(3011), ""},
		{"float string", `{"error_code": "5000.0"}`, ptr(5000), ""},
		{"empty string means none", `{"error_code": ""}`, nil, ""},
		{"false means none", `{"error_code": false}`, nil, ""},
		{"fraction", `{"error_code": 3011.5}`, nil, "3011.5"},
		{"word", `{"error_code": "E12"}`, nil, `"E12"`},
		{"true", `{"error_code": true}`, nil, "true"},
		{"object", `{"error_code": {"code": 1}}`, nil, `{"code":1}`},
		{"out of range", `{"error_code": 1e20}`, nil, "1e20"},
		{"long junk is clipped", `{"error_code": "` + strings.Repeat("x", 500) + `"}`, nil, `"` + strings.Repeat("x", 60) + "…"},
		{"other casing", `{"Error_Code": 3011}`, ptr(3011), ""},
		{"camel case", `{"errorCode": 3011}`, ptr(3011), ""},
		{"exact spelling wins over another casing", `{"ERROR_CODE": 5000, "error_code": 3011}`, ptr(3011), ""},
		{"a non-null casing beats a null one", `{"error_code": null, "Error_Code": 3011}`, ptr(3011), ""},
		{"first of exact duplicates", `{"error_code": 3011, "error_code": 5000}`, ptr(3011), ""},
		{"null duplicate does not hide the code", `{"error_code": 3011, "error_code": null}`, ptr(3011), ""},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			env, err := DecodeEnvelope([]byte(tc.body))
			if err != nil {
				t.Fatalf("DecodeEnvelope: %v", err)
			}
			if diff := cmp.Diff(tc.wantCode, env.ErrorCode); diff != "" {
				t.Errorf("ErrorCode (-want +got):\n%s", diff)
			}
			if env.ErrorCodeText != tc.wantText {
				t.Errorf("ErrorCodeText = %q, want %q", env.ErrorCodeText, tc.wantText)
			}
		})
	}
}

func TestDecodeEnvelopeFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		body string
		want Envelope
	}{
		{
			desc: "success with data object",
			body: `{"data": {"id": 7}, "error_code": null, "error_message": null, "error_descriptions": null}`,
			want: Envelope{Data: json.RawMessage(`{"id": 7}`)},
		},
		{
			desc: "data absent",
			body: `{"error_code": 0}`,
			want: Envelope{ErrorCode: ptr(0)},
		},
		{
			desc: "data null",
			body: `{"data": null}`,
			want: Envelope{Data: json.RawMessage(`null`)},
		},
		{
			desc: "data array, counts",
			body: `{"data": [1, 2], "totalCount": 10, "returnedCount": "2"}`,
			want: Envelope{Data: json.RawMessage(`[1, 2]`), TotalCount: ptr(10), ReturnedCount: ptr(2)},
		},
		{
			desc: "data string",
			body: `{"data": "ok"}`,
			want: Envelope{Data: json.RawMessage(`"ok"`)},
		},
		{
			desc: "Data in another casing",
			body: `{"Data": {"x": 1}}`,
			want: Envelope{Data: json.RawMessage(`{"x": 1}`)},
		},
		{
			desc: "error message and unknown extra keys",
			body: `{"data": null, "error_code": 4003, "error_message": " Too many trials ", "traceId": "abc", "extra": {"deep": [1]}}`,
			want: Envelope{Data: json.RawMessage(`null`), ErrorCode: ptr(4003), ErrorMessage: "Too many trials"},
		},
		{
			desc: "non-string error message",
			body: `{"error_message": {"text": "bad"}}`,
			want: Envelope{ErrorMessage: `{"text":"bad"}`},
		},
		{
			desc: "UTF-8 byte order mark and surrounding whitespace",
			body: "\xef\xbb\xbf \r\n{\"error_code\": 0}\n",
			want: Envelope{ErrorCode: ptr(0)},
		},
		{
			desc: "error message of another casing",
			body: `{"ErrorMessage": "Invalid OTP"}`,
			want: Envelope{ErrorMessage: "Invalid OTP"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			env, err := DecodeEnvelope([]byte(tc.body))
			if err != nil {
				t.Fatalf("DecodeEnvelope: %v", err)
			}
			if diff := cmp.Diff(&tc.want, env); diff != "" {
				t.Errorf("envelope (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeEnvelopeDescriptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		raw  string
		want []string
	}{
		{"null", `null`, nil},
		{"errors page shape", `[{"field": "image", "message": "image is required"}]`, []string{"image: image is required"}},
		{"array of strings", `["image is required", "country is invalid"]`, []string{"image is required", "country is invalid"}},
		{"object field to message", `{"image": "image is required", "country": "bad"}`, []string{"image: image is required", "country: bad"}},
		{"object field to messages", `{"image": ["is required", "must be base64"]}`, []string{"image: is required", "image: must be base64"}},
		{"single field error object", `{"field": "otpCode", "message": "Invalid OTP"}`, []string{"otpCode: Invalid OTP"}},
		{"single string", `"Validation failed"`, []string{"Validation failed"}},
		{"ASP.NET member names", `[{"memberNames": ["Image", "Face1"], "errorMessage": "required"}]`, []string{"Image, Face1: required"}},
		{"coded errors", `[{"field": "image", "errors": [{"code": 3011, "message": "card not detected"}]}]`, []string{"image: card not detected (code 3011)"}},
		{"mixed and empty entries", `[null, "", {"field": "a", "message": "b"}, 42, {"other": "x"}]`, []string{"a: b", "42", "other: x"}},
		{"entry without message keys", `[{"foo": {"bar": "baz"}}]`, []string{"bar: baz"}},
		{"deep nesting is summarised", `[[[[[["x"]]]]]]`, []string{`[["x"]]`}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			env, err := DecodeEnvelope([]byte(`{"error_descriptions": ` + tc.raw + `}`))
			if err != nil {
				t.Fatalf("DecodeEnvelope: %v", err)
			}
			if diff := cmp.Diff(tc.want, env.Descriptions); diff != "" {
				t.Errorf("Descriptions (-want +got):\n%s", diff)
			}
			if tc.raw != "null" && !bytes.Equal(env.ErrorDescriptions, []byte(tc.raw)) {
				t.Errorf("ErrorDescriptions = %s, want the raw value %s", env.ErrorDescriptions, tc.raw)
			}
		})
	}
}

func TestDecodeEnvelopeDescriptionsAreBounded(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(`{"error_descriptions": [`)
	for i := range 2000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"field": "f%d", "message": "%s"}`, i, strings.Repeat("m", 1200))
	}
	b.WriteString(`]}`)
	env, err := DecodeEnvelope([]byte(b.String()))
	if err != nil {
		t.Fatalf("DecodeEnvelope: %v", err)
	}
	if got := len(env.Descriptions); got != maxDescriptions+1 {
		t.Fatalf("got %d description lines, want %d plus a summary", got, maxDescriptions)
	}
	if last := env.Descriptions[maxDescriptions]; last != "(1950 more)" {
		t.Errorf("summary line = %q, want %q", last, "(1950 more)")
	}
	for _, l := range env.Descriptions {
		if len(l) > maxTextBytes {
			t.Fatalf("line of %d bytes, want at most %d", len(l), maxTextBytes)
		}
	}
}

func TestDecodeEnvelopeServices(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		body string
		want *Services
	}{
		{"absent", `{"data": {}}`, nil},
		{"null", `{"services": null}`, nil},
		{"not an object", `{"services": [1]}`, nil},
		{"empty object", `{"services": {}}`, &Services{}},
		{
			desc: "the 3011 trap: error_code null, error only under Services.Validations",
			body: `{"data": {"isVerificationProcessCompleted": false}, "error_code": null, "error_message": null,
				"Services": {"Validations": {"validation_errors": [{"field": "image", "value": "29901011234567",
				"errors": [{"code": 3011, "message": "card not detected"}]}]}}}`,
			want: &Services{ValidationErrors: []FieldError{{Field: "image", Errors: []CodedText{{Code: 3011, Message: "card not detected"}}}}},
		},
		{
			desc: "Validation_Errors casing, string code",
			body: `{"services": {"validations": {"Validation_Errors": [{"field": "id", "errors": [{"code": "3001", "message": "bad"}]}]}}}`,
			want: &Services{ValidationErrors: []FieldError{{Field: "id", Errors: []CodedText{{Code: 3001, Message: "bad"}}}}},
		},
		{
			desc: "validationErrors camel case with a code on the entry",
			body: `{"services": {"Validations": {"validationErrors": [{"field": "face", "code": 4207, "message": "no face"}]}}}`,
			want: &Services{ValidationErrors: []FieldError{{Field: "face", Message: "no face", Errors: []CodedText{{Code: 4207}}}}},
		},
		{
			desc: "validation errors as strings and as an object",
			body: `{"services": {"validations": {"validation_errors": ["card not detected"]}, "validation_errors": {"image": [{"code": 3011}]}}}`,
			want: &Services{ValidationErrors: []FieldError{{Message: "card not detected"}, {Field: "image", Errors: []CodedText{{Code: 3011}}}}},
		},
		{
			desc: "empty validation errors",
			body: `{"services": {"validations": {"validation_errors": []}}}`,
			want: &Services{},
		},
		{
			desc: "every check",
			body: `{"services": {"spoofing": {"fake": true}, "classification": {"doc_type": "national_id_front"},
				"liveness": false, "AML": {"AML_matched": false, "data": [{"name": "x"}]},
				"SRC": {"isValid": false, "errorCode": 12, "errorKey": "NTRA_MISMATCH", "errorMessage": "mismatch"}}}`,
			want: &Services{Fake: ptr(true), DocType: "national_id_front", Liveness: ptr(false), AMLMatched: ptr(false),
				SRC: &SRCCheck{IsValid: ptr(false), ErrorCode: ptr(12), ErrorKey: "NTRA_MISMATCH", ErrorMessage: "mismatch"}},
		},
		{
			desc: "liveness null, loose booleans",
			body: `{"services": {"liveness": null, "spoofing": {"fake": "false"}, "aml": {"aml_matched": 1}}}`,
			want: &Services{Fake: ptr(false), AMLMatched: ptr(true)},
		},
		{
			desc: "both casings merged: a failure in either is kept",
			body: `{"services": {"spoofing": {"fake": false}, "liveness": true},
				"Services": {"spoofing": {"fake": true}, "liveness": false, "Validations": {"validation_errors": [{"errors": [{"code": 3013}]}]}}}`,
			want: &Services{Fake: ptr(true), Liveness: ptr(false), ValidationErrors: []FieldError{{Errors: []CodedText{{Code: 3013}}}}},
		},
		{
			desc: "both casings of SRC and spoofing: the failing reading wins, in either order",
			body: `{"Services": {"SRC": {"isValid": false, "errorKey": "NTRA"}, "spoofing": {"fake": true}},
				"services": {"SRC": {"isValid": true}, "spoofing": {"fake": false}, "sRC": null}}`,
			want: &Services{Fake: ptr(true), SRC: &SRCCheck{IsValid: ptr(false), ErrorKey: "NTRA"}},
		},
		{
			desc: "SRC and AML of other casings inside one block",
			body: `{"services": {"src": {"IsValid": "false", "ErrorCode": "3"}, "Src": {"isValid": true}, "aml": {"aml_matched": "yes"}}}`,
			want: &Services{AMLMatched: ptr(true), SRC: &SRCCheck{IsValid: ptr(false), ErrorCode: ptr(3)}},
		},
		{
			desc: "both casings, the lower-case block first whatever the order",
			body: `{"Services": {"classification": {"doc_type": "b"}}, "services": {"classification": {"doc_type": "a"}}}`,
			want: &Services{DocType: "a"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			env, err := DecodeEnvelope([]byte(tc.body))
			if err != nil {
				t.Fatalf("DecodeEnvelope: %v", err)
			}
			if diff := cmp.Diff(tc.want, env.Services); diff != "" {
				t.Errorf("Services (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServicesFirstCode(t *testing.T) {
	t.Parallel()
	var none *Services
	if got := none.FirstCode(); got != 0 {
		t.Errorf("nil Services: FirstCode = %d, want 0", got)
	}
	s := &Services{ValidationErrors: []FieldError{{Message: "x"}, {Errors: []CodedText{{Message: "y"}, {Code: 3014}}}, {Errors: []CodedText{{Code: 3011}}}}}
	if got := s.FirstCode(); got != 3014 {
		t.Errorf("FirstCode = %d, want 3014", got)
	}
}

func TestDecodeEnvelopeHugeBody(t *testing.T) {
	t.Parallel()
	img := strings.Repeat("QUJD", 1<<20) // 4 MB of base64
	body := []byte(`{"data": {"image": "` + img + `"}, "error_code": 5002, "error_message": "image too large"}`)
	env, err := DecodeEnvelope(body)
	if err != nil {
		t.Fatalf("DecodeEnvelope: %v", err)
	}
	if env.ErrorCode == nil || *env.ErrorCode != 5002 || len(env.Data) < len(img) {
		t.Errorf("got code %v and %d bytes of data, want 5002 and the whole data", env.ErrorCode, len(env.Data))
	}
}
