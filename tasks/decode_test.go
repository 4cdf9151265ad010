package tasks

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodePayloadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		in   string
		want ValidationError
	}{
		{"not JSON", `{"tenant":`, ValidationError{"payload", "malformed JSON: unexpected end of JSON input (at byte 10)"}},
		{"array", `[1,2]`, ValidationError{"payload", "must be a JSON object, got array"}},
		{"empty", ``, ValidationError{"payload", "malformed JSON: unexpected end of JSON input (at byte 0)"}},
		{"invalid UTF-8", "{\"tenant\":\"ac\xffme\"}", ValidationError{"payload", "not valid UTF-8 (at byte 13)"}},
		{"unknown member", `{"tenant":"a","selfie":"x"}`, ValidationError{"payload.selfie", "unknown field"}},
		{"typo face1", `{"tenant":"a","face1":"x"}`, ValidationError{"payload.face1", `unknown field; did you mean "face_1"?`}},
		{"wrong case", `{"tenant":"a","Image":"x"}`, ValidationError{"payload.Image", `unknown field; did you mean "image"?`}},
		{"camel transaction", `{"tenant":"a","transactionId":"x"}`, ValidationError{"payload.transactionId", `unknown field; did you mean "transaction_id"?`}},
		{"first unknown in order", `{"zz":1,"aa":2}`, ValidationError{"payload.aa", "unknown field"}},
		{"tenant number", `{"tenant":5}`, ValidationError{"payload.tenant", "must be a string, got number"}},
		{"type_id string", `{"tenant":"a","type_id":"3"}`, ValidationError{"payload.type_id", "must be an integer, got string"}},
		{"type_id fraction", `{"tenant":"a","type_id":3.5}`, ValidationError{"payload.type_id", "must be an integer, got number"}},
		{"requestId bool", `{"tenant":"a","requestId":true}`, ValidationError{"payload.requestId", "must be a string or a number, got boolean"}},
		{"otpRequestId object", `{"tenant":"a","otpRequestId":{}}`, ValidationError{"payload.otpRequestId", "must be a string or a number, got object"}},
		{"transaction_id array", `{"tenant":"a","transaction_id":[1]}`, ValidationError{"payload.transaction_id", "must be a string or a number, got array"}},
		{"getExtractedData string", `{"tenant":"a","getExtractedData":"yes"}`, ValidationError{"payload.getExtractedData", "must be true or false, got string"}},
		{"image number", `{"tenant":"a","image":42}`, ValidationError{"payload.image", `must be a base64 string or a blob reference {"blob","size","type"}, got number`}},
		{"image ref unknown", `{"tenant":"a","image":{"blob":"sha256:x","size":1,"sha":"y"}}`, ValidationError{"payload.image.sha", "unknown field"}},
		{"image ref no size", `{"tenant":"a","image":{"blob":"sha256:x"}}`, ValidationError{"payload.image.size", "required"}},
		{"image ref size string", `{"tenant":"a","image":{"blob":"sha256:x","size":"1"}}`, ValidationError{"payload.image.size", "must be an integer, got string"}},
		{"geo missing longitude", `{"tenant":"a","geoLocation":{"latitude":1}}`, ValidationError{"payload.geoLocation.longitude", "required"}},
		{"geo array", `{"tenant":"a","geoLocation":[1,2]}`, ValidationError{"payload.geoLocation", "must be a JSON object, got array"}},
		{"geo lat not a number", `{"tenant":"a","geoLocation":{"latitude":"north","longitude":2}}`, ValidationError{"payload.geoLocation.latitude", "must be a number, or a string holding one"}},
		{"geo lon bool", `{"tenant":"a","geoLocation":{"latitude":1,"longitude":true}}`, ValidationError{"payload.geoLocation.longitude", "must be a number, got boolean"}},
		{"scan unknown", `{"tenant":"a","scanTransaction":{"face_4":"x"}}`, ValidationError{"payload.scanTransaction.face_4", "unknown field"}},
		{"scan image bool", `{"tenant":"a","scanTransaction":{"face_1":true}}`, ValidationError{"payload.scanTransaction.face_1", `must be a base64 string or a blob reference {"blob","size","type"}, got boolean`}},
		{"fields not object", `{"tenant":"a","requestFieldsValues":[1]}`, ValidationError{"payload.requestFieldsValues", "must be an object, got array"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			p, err := DecodePayload([]byte(tt.in))
			if err == nil {
				t.Fatalf("decoded %v", p)
			}
			if d := cmp.Diff(tt.want, *asValidation(t, err)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestDecodePayloadValues(t *testing.T) {
	t.Parallel()
	in := `{"tenant":"acme","user":"u","requestId":"77","otpRequestId":9001,"otpCode":"0042",
		"geoLocation":{"latitude":30.5,"longitude":-1},"userDeviceUtcTime":"2025-01-02T15:04:05Z",
		"image":null,"requestFieldsValues":{"big":12345678901234567890,"s":"x","nested":{"n":1.25}}}`
	p, err := DecodePayload([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := &Payload{
		Tenant: "acme", User: "u", BusinessRequestID: TextID("77"), OTPRequestID: NumberID(9001), OTPCode: "0042",
		GeoLocation: &GeoLocation{Latitude: 30.5, Longitude: -1}, UserDeviceUTCTime: "2025-01-02T15:04:05Z",
		RequestFieldsValues: map[string]any{
			"big": json.Number("12345678901234567890"), "s": "x", "nested": map[string]any{"n": json.Number("1.25")},
		},
	}
	if d := cmp.Diff(want, p); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	// Large integers in requestFieldsValues survive a round trip exactly.
	out, err := json.Marshal(p.RequestFieldsValues)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), `{"big":12345678901234567890,"nested":{"n":1.25},"s":"x"}`; got != want {
		t.Errorf("re-encoded %s, want %s", got, want)
	}
}

// A coordinate may come as a string holding a number, as mobile SDKs send
// it and as Vlens (ASP.NET) reads it; it is sent on as a number.
func TestGeoLocationAcceptsNumericStrings(t *testing.T) {
	t.Parallel()
	p, err := DecodePayload([]byte(`{"tenant":"a","geoLocation":{"latitude":"30.0444","longitude":" -31.5 "}}`))
	if err != nil {
		t.Fatal(err)
	}
	if g := p.GeoLocation; g.Latitude != 30.0444 || g.Longitude != -31.5 {
		t.Fatalf("geoLocation = %+v", g)
	}
	b, _ := json.Marshal(p.GeoLocation)
	if string(b) != `{"latitude":30.0444,"longitude":-31.5}` {
		t.Errorf("sent as %s", b)
	}
}

// A Payload marshals and strictly decodes back to itself, with both image
// forms.
func TestPayloadJSONRoundTrip(t *testing.T) {
	t.Parallel()
	for _, typ := range Types() {
		p := validPayload(t, typ)
		p.CallbackURL = "https://hooks.example.com/a?b=c&d=<e>"
		if p.Image != nil {
			p.Image = RefImage(BlobRef{Key: "sha256:ab", Size: 3, Type: "image/png"})
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodePayload(b)
		if err != nil {
			t.Fatalf("%s: decode own JSON %s: %v", typ, b, err)
		}
		if d := cmp.Diff(p, got); d != "" {
			t.Errorf("%s: round trip (-want +got):\n%s", typ, d)
		}
	}
}

// An id keeps its JSON type and its text through decode and encode: a
// string stays a string (even when it looks like a number), a number stays
// a number (even when it is not an integer).
func TestIDJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       string
		text     string
		isNumber bool
	}{
		{`"5f2c7a1e-93b4-4c1d-8e0a-2b6f4d9c1a77"`, "5f2c7a1e-93b4-4c1d-8e0a-2b6f4d9c1a77", false},
		{`"9001"`, "9001", false},
		{`9001`, "9001", true},
		{`0`, "0", true},
		{`"007"`, "007", false},
		{`12345678901234567890`, "12345678901234567890", true},
		{`-1.5e3`, "-1.5e3", true},
		{`"a/b c?"`, "a/b c?", false},
	}
	for _, tt := range tests {
		var id ID
		if err := json.Unmarshal([]byte(tt.in), &id); err != nil {
			t.Fatalf("Unmarshal(%s): %v", tt.in, err)
		}
		if id.String() != tt.text || id.IsNumber() != tt.isNumber {
			t.Errorf("Unmarshal(%s) = %q number=%v; want %q number=%v", tt.in, id, id.IsNumber(), tt.text, tt.isNumber)
		}
		if b, err := json.Marshal(id); err != nil || string(b) != tt.in {
			t.Errorf("Marshal(Unmarshal(%s)) = %s, %v", tt.in, b, err)
		}
	}
	for _, in := range []string{`true`, `{}`, `[1]`} {
		var id ID
		err := json.Unmarshal([]byte(in), &id)
		if ve, ok := errors.AsType[*ValidationError](err); !ok || ve.Problem != "must be a string or a number, got "+jsonKind(in) {
			t.Errorf("Unmarshal(%s) = %v", in, err)
		}
	}
	if b, _ := json.Marshal(NumberID(77)); string(b) != `77` {
		t.Errorf("NumberID(77) = %s", b)
	}
	if b, _ := json.Marshal(TextID("77")); string(b) != `"77"` {
		t.Errorf("TextID(77) = %s", b)
	}
}

func jsonKind(s string) string {
	switch s[0] {
	case 't', 'f':
		return "boolean"
	case '{':
		return "object"
	}
	return "array"
}

// The member splitter agrees with encoding/json on awkward but valid JSON:
// escaped quotes and braces inside strings, escaped keys, nesting,
// whitespace, duplicate members (the last wins).
func TestDecodePayloadAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	inputs := []string{
		`{"tenant":"a\"}{b","name":"q\\","idNumber":"\\\"x\\"}`,
		" {\n\t\"tenant\" : \"a\" ,\r\n \"requestFieldsValues\" : { \"x\" : \"}\\\"]\" , \"y\" : [1, {\"z\":\"\\\\\"}, [[]], -2.5e3, true, null] } } ",
		`{"tenant":"first","tenant":"second"}`,
		`{"tenan\u0074":"escaped key","name":"caf\u00e9 \ud83d\ude00"}`,
		`{"tenant":"a","geoLocation":{"longitude":-0.0,"latitude":1E2},"type_id":7,"getExtractedData":false}`,
		`{"tenant":"a","image":{"size":12,"type":"image/png","blob":"sha256:\u0061b"},"face_1":"/9j/\/x"}`,
		`{}`,
	}
	for _, in := range inputs {
		got, err := DecodePayload([]byte(in))
		if err != nil {
			t.Errorf("DecodePayload(%s): %v", in, err)
			continue
		}
		type plain Payload
		var want plain
		d := json.NewDecoder(strings.NewReader(in))
		d.UseNumber()
		if err := d.Decode(&want); err != nil {
			t.Fatalf("encoding/json on %s: %v", in, err)
		}
		if diff := cmp.Diff((*Payload)(&want), got); diff != "" {
			t.Errorf("%s (-encoding/json +DecodePayload):\n%s", in, diff)
		}
	}
}
