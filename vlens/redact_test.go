package vlens

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Canary values: none of them may survive redaction.
var (
	canaryImage   = fakeImage("front-canary", 600)
	canaryImage2  = fakeImage("back-canary", 900)
	canaryFace1   = fakeImage("face1-canary", 400)
	canaryFace2   = fakeImage("face2-canary", 400)
	canaryFace3   = fakeImage("face3-canary", 400)
	canaryIDNum   = "29901011234567"
	canaryName    = "Canary Ahmed Mohamed"
	canaryPhone   = "01012345678"
	canaryEmail   = "canary.user@example.com"
	canaryOTP     = "482913"
	canaryPass    = "Canary-Pass-123!"
	canaryAPIKey  = "canary-api-key-0001"
	canaryAccess  = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJlLWNhbmFyeQ"
	canaryRefresh = "canary-refresh-token-7f3a"
	canaryAddress = "12 Canary Street, Nasr City, Cairo"
	canaryBirth   = "1987-06-05"
	canarySalary  = "98765.43"
	canaryLat     = "30.0444123"
	canaryLng     = "31.2357123"
)

func allCanaries() []string {
	return []string{canaryImage, canaryImage2, canaryFace1, canaryFace2, canaryFace3, canaryIDNum, canaryName,
		canaryPhone, canaryEmail, canaryOTP, canaryPass, canaryAPIKey, canaryAccess, canaryRefresh, canaryAddress,
		canaryBirth, canarySalary, canaryLat, canaryLng}
}

// fakeImage returns the base64 of a JPEG-like blob of n bytes carrying tag.
func fakeImage(tag string, n int) string {
	b := make([]byte, n)
	copy(b, "\xff\xd8\xff\xe0JFIF"+tag)
	for i := 16 + len(tag); i < n; i++ {
		b[i] = byte(i * 7)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func imageMarker(b64 string) string {
	sum := sha256.Sum256([]byte(b64))
	return fmt.Sprintf("[redacted %d B sha256:%s]", len(b64), hex.EncodeToString(sum[:6]))
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type obj = map[string]any

func TestRedactRealisticBodies(t *testing.T) {
	t.Parallel()
	geo := obj{"latitude": json.Number(canaryLat), "longitude": json.Number(canaryLng)}
	const utc = "2026-11-25T14:00:00Z"
	tests := []struct {
		desc string
		body any
		// keep are paths (dot-separated) whose values must come out unchanged.
		keep map[string]any
	}{
		{"verify:id_front", obj{"tenant": "acme", "user": "user-17", "transaction_id": "7d5b3c1e-9a0f-4c1e-8f2b-2a1d3c4b5e6f",
			"client_transaction_id": "client-42", "request_id": "req-1", "country": "EG", "name_check_value": canaryName,
			"getExtractedData": true, "image": canaryImage, "callback_url": "https://producer.example/cb"},
			map[string]any{"tenant": "acme", "user": "user-17", "transaction_id": "7d5b3c1e-9a0f-4c1e-8f2b-2a1d3c4b5e6f",
				"client_transaction_id": "client-42", "country": "EG", "getExtractedData": true, "image": imageMarker(canaryImage),
				"callback_url": "https://producer.example/cb"}},
		{"verify:id_back", obj{"tenant": "acme", "user": "user-17", "transaction_id": "t-1", "getExtractedData": false, "image": canaryImage2},
			map[string]any{"transaction_id": "t-1", "getExtractedData": false, "image": imageMarker(canaryImage2)}},
		{"verify:liveness", obj{"tenant": "acme", "user": "user-17", "transaction_id": "t-1", "getExtractedData": true,
			"face_1": canaryFace1, "face_2": canaryFace2, "face_3": canaryFace3},
			map[string]any{"transaction_id": "t-1", "face_1": imageMarker(canaryFace1), "face_3": imageMarker(canaryFace3)}},
		{"ocr:id_front", obj{"tenant": "acme", "image": canaryImage, "transaction_id": "t-2", "client_transaction_id": "c-2", "country": "EG"},
			map[string]any{"transaction_id": "t-2", "country": "EG"}},
		{"ocr:id_back with a data URI", obj{"tenant": "acme", "image": "data:image/jpeg;base64," + canaryImage2, "country": "EG"},
			map[string]any{"country": "EG"}},
		{"ocr:face_match", obj{"tenant": "acme", "transaction_id": "t-3", "image": canaryFace1},
			map[string]any{"transaction_id": "t-3"}},
		{"ocr:aml", obj{"tenant": "acme", "idNumber": canaryIDNum, "name": canaryName},
			map[string]any{"tenant": "acme", "idNumber": "[redacted 14 B]", "name": fmt.Sprintf("[redacted %d B]", len(canaryName))}},
		{"ocr:aml with a numeric ID", obj{"tenant": "acme", "IdNumber": json.Number(canaryIDNum), "Name": canaryName},
			map[string]any{"IdNumber": "[redacted 14 B]"}},
		{"business:create", obj{"tenant": "acme", "user": "user-17", "type_id": 3, "geoLocation": geo, "userDeviceUtcTime": utc,
			"requestFieldsValues": obj{"customer_name": canaryName, "salary": json.Number(canarySalary), "address": canaryAddress,
				"national_id": canaryIDNum, "mobile": canaryPhone, "email": canaryEmail, "birth_date": canaryBirth,
				"accepted_terms": true, "notes": nil}},
			map[string]any{"type_id": json.Number("3"), "userDeviceUtcTime": utc, "requestFieldsValues.accepted_terms": true,
				"requestFieldsValues.notes": nil}},
		{"business:create with fields as a list", obj{"tenant": "acme", "type_id": 4,
			"requestFieldsValues": []any{obj{"key": "salary", "value": canarySalary}, obj{"key": "owner", "value": canaryName}}},
			map[string]any{"type_id": json.Number("4")}},
		{"business:request_otp", obj{"tenant": "acme", "user": "user-17", "geoLocation": geo, "userDeviceUtcTime": utc, "requestId": 123},
			map[string]any{"requestId": json.Number("123"), "userDeviceUtcTime": utc}},
		{"business:revalidate_liveness", obj{"tenant": "acme", "user": "user-17", "geoLocation": geo, "userDeviceUtcTime": utc,
			"scanTransaction": obj{"image": canaryImage, "face_1": canaryFace1, "face_2": canaryFace2, "face_3": canaryFace3}},
			map[string]any{"scanTransaction.image": imageMarker(canaryImage), "scanTransaction.face_2": imageMarker(canaryFace2)}},
		{"business:validate_otp", obj{"tenant": "acme", "user": "user-17", "geoLocation": geo, "userDeviceUtcTime": utc,
			"otpRequestId": "otp-req-9", "otpCode": canaryOTP, "requestId": 123},
			map[string]any{"otpRequestId": "otp-req-9", "otpCode": "[redacted 6 B]", "requestId": json.Number("123")}},
		{"business:status", obj{"tenant": "acme", "user": "user-17", "requestId": 123},
			map[string]any{"tenant": "acme", "user": "user-17", "requestId": json.Number("123")}},
		{"images as blob references", obj{"tenant": "acme", "transaction_id": "t-4",
			"image":           obj{"blob": "sha256:" + strings.Repeat("ab", 32), "size": 48213, "type": "image/jpeg"},
			"scanTransaction": obj{"face_1": obj{"blob": "sha256:" + strings.Repeat("cd", 32), "size": 1000, "type": "image/png"}}},
			map[string]any{"image.blob": "sha256:" + strings.Repeat("ab", 32), "image.size": json.Number("48213"),
				"scanTransaction.face_1.type": "image/png"}},
		{"login", obj{"tenancyName": "acme", "userNameOrEmailAddress": canaryEmail, "password": canaryPass},
			map[string]any{"tenancyName": "acme"}},
		{"refresh", obj{"refreshToken": canaryRefresh}, nil},
		{"login response", obj{"data": obj{"accessToken": canaryAccess, "encryptedAccessToken": canaryAccess, "expireInSeconds": 86400,
			"refreshToken": canaryRefresh, "newRefreshToken": canaryRefresh}, "error_code": nil},
			map[string]any{"data.expireInSeconds": json.Number("86400"), "error_code": nil}},
		{"tenants file entry", []any{obj{"tenancy_name": "acme", "api_key": canaryAPIKey, "username": "admin@acme", "password": canaryPass}},
			nil},
		{"headers", obj{"ApiKey": canaryAPIKey, "Authorization": "Bearer " + canaryAccess, "TenancyName": "acme", "X-Request-Id": "rid-1"},
			map[string]any{"TenancyName": "acme", "X-Request-Id": "rid-1"}},
		{"verify response", obj{"data": obj{"isVerificationProcessCompleted": true, "isDigitalIdentityVerified": true,
			"idFrontData": obj{"firstName": canaryName, "address": canaryAddress, "idNumber": canaryIDNum, "birthDate": canaryBirth,
				"faceImage": canaryFace1, "isValid": true},
			"idBackData": obj{"job": "engineer", "husbandName": canaryName, "expiryDate": "2030-01-01"}},
			"error_code": nil, "services": obj{"classification": obj{"doc_type": "national_id_front"},
				"Validations": obj{"validation_errors": []any{obj{"field": "idNumber", "value": canaryIDNum,
					"errors": []any{obj{"code": 3001, "message": "ID number invalid"}}}}}}},
			map[string]any{"data.isVerificationProcessCompleted": true, "data.idFrontData.isValid": true,
				"services.classification.doc_type": "national_id_front"}},
		{"aml response", obj{"data": nil, "services": obj{"AML": obj{"AML_matched": true,
			"data": []any{obj{"name": canaryName, "dob": canaryBirth, "list": "OFAC"}}}}},
			map[string]any{"services.AML.AML_matched": true}},
		{"error message quoting personal data", obj{"error_code": 3001,
			"error_message":      "ID " + canaryIDNum + " of " + canaryEmail + " (" + canaryPhone + ") is invalid",
			"error_descriptions": []any{"mobile +20" + canaryPhone[1:] + " not reachable"}},
			map[string]any{"error_code": json.Number("3001")}},
		{"image under an unknown key, MIME-wrapped", obj{"attachment": wrap76(canaryImage), "note": "see attachment"},
			map[string]any{"note": "see attachment"}},
		{"JWT under an unknown key", obj{"x": canaryAccess}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			in := mustJSON(t, tc.body)
			out := Redact(in)
			if !json.Valid(out) {
				t.Fatalf("Redact output is not valid JSON: %s", out)
			}
			for _, c := range allCanaries() {
				if bytes.Contains(out, []byte(c)) || (len(c) > 64 && bytes.Contains(out, []byte(c[:64]))) {
					t.Errorf("canary %.40q survived redaction:\n%s", c, out)
				}
			}
			if strings.Contains(string(out), canaryPhone[1:]) {
				t.Errorf("phone number survived redaction:\n%s", out)
			}
			dec := json.NewDecoder(bytes.NewReader(out))
			dec.UseNumber()
			var got any
			if err := dec.Decode(&got); err != nil {
				t.Fatal(err)
			}
			for path, want := range tc.keep {
				if diff := cmp.Diff(want, lookup(got, path)); diff != "" {
					t.Errorf("%s (-want +got):\n%s\nin %s", path, diff, out)
				}
			}
		})
	}
}

func wrap76(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	b.WriteString(s)
	return b.String()
}

func lookup(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Sprintf("<no object at %q>", k)
		}
		if v, ok = m[k]; !ok {
			return fmt.Sprintf("<missing %q>", k)
		}
	}
	return v
}

func TestRedactExact(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("A", 300)
	addr := strings.Repeat("street ", 40)
	tests := []struct {
		desc string
		in   string
		want string
	}{
		{"key order and untouched values kept", `{"z": 1, "a": "x", "m": [true, null, 2.50]}`, `{"z":1,"a":"x","m":[true,null,2.50]}`},
		{"short secret keeps only its length", `{"otpCode": "123456"}`, `{"otpCode":"[redacted 6 B]"}`},
		{"image keeps size and hash", `{"Image": "` + long + `"}`, `{"Image":"` + imageMarker(long) + `"}`},
		{"long personal data keeps size and hash", `{"address": "` + addr + `"}`, `{"address":"` + imageMarker(addr) + `"}`},
		{"long base64 under any key", `{"blob": "` + long + `"}`, `{"blob":"` + imageMarker(long) + `"}`},
		{"short base64-looking string under a plain key stays", `{"transaction_id": "QUJDRA=="}`, `{"transaction_id":"QUJDRA=="}`},
		{"empty, null and boolean sensitive values stay", `{"image": "", "password": null, "email": true}`, `{"image":"","password":null,"email":true}`},
		{"secret object goes whole", `{"geoLocation": {"latitude": 30.1, "longitude": 31.2}}`, `{"geoLocation":"[redacted 34 B]"}`},
		{"secret array goes whole", `{"names": ["a", "b"]}`, `{"names":"[redacted 9 B]"}`},
		{"array of faces", `{"faces": ["` + long + `", "ab"]}`, `{"faces":["` + imageMarker(long) + `","[redacted 2 B]"]}`},
		{"case-insensitive keys", `{"PASSWORD": "p", "Id_Number": "x", "FACE_2": "f"}`, `{"PASSWORD":"[redacted 1 B]","Id_Number":"[redacted 1 B]","FACE_2":"[redacted 1 B]"}`},
		{"value of a sensitive field entry", `[{"field": "idNumber", "value": "2"}, {"field": "country", "value": "EG"}]`, `[{"field":"idNumber","value":"[redacted 1 B]"},{"field":"country","value":"EG"}]`},
		{"container keeps keys and booleans", `{"requestFieldsValues": {"loan": 5000, "ok": true, "nested": {"who": "me"}}}`, `{"requestFieldsValues":{"loan":"[redacted 4 B]","ok":true,"nested":{"who":"[redacted 2 B]"}}}`},
		{"national ID in text", `{"error_message": "ID 29901011234567 invalid"}`, `{"error_message":"ID [redacted 14 B] invalid"}`},
		{"14 digits that are not an ID stay", `{"ref": "20241301123456"}`, `{"ref":"20241301123456"}`},
		{"longer digit runs stay", `{"ref": "1299010112345678"}`, `{"ref":"1299010112345678"}`},
		{"mobile in text", `{"m": "call +201012345678 now"}`, `{"m":"call [redacted 13 B] now"}`},
		{"email in text", `{"m": "sent to a.b@c.example.org."}`, `{"m":"sent to [redacted 17 B]."}`},
		{"national ID as a bare number", `[29901011234567]`, `["[redacted 14 B]"]`},
		{"HTML characters are not escaped", `{"m": "<b>&</b>"}`, `{"m":"<b>&</b>"}`},
		{"key that is an image", `{"` + long + `": 1}`, `{"` + imageMarker(long) + `":1}`},
		{"top-level string", `"` + long + `"`, `"` + imageMarker(long) + `"`},
		{"top-level scalar", `42`, `42`},
		{"surrounding whitespace", " \n{\"a\": 1}\n ", `{"a":1}`},
		{"not JSON", `<html>ID 29901011234567</html>`, `"[redacted non-JSON 30 B]"`},
		{"empty", ``, `"[redacted non-JSON 0 B]"`},
		{"truncated", `{"image": "abc`, `"[redacted non-JSON 14 B]"`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got := string(Redact([]byte(tc.in)))
			if got != tc.want {
				t.Errorf("Redact(%.80q):\n got %s\nwant %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestStripImages(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("A", 300)
	tests := []struct {
		desc string
		in   string
		want string
	}{
		{"images go, personal data stays",
			`{"data": {"idFrontData": {"firstName": "Ahmed", "idNumber": "29901011234567", "faceImage": "` + canaryFace1 + `"}, "isMatched": true}}`,
			`{"data":{"idFrontData":{"firstName":"Ahmed","idNumber":"29901011234567","faceImage":"` + imageMarker(canaryFace1) + `"},"isMatched":true}}`},
		{"long base64 under any key", `{"note": "` + long + `", "email": "a@b.example"}`, `{"note":"` + imageMarker(long) + `","email":"a@b.example"}`},
		{"short image value", `{"face_1": "abc"}`, `{"face_1":"[redacted 3 B]"}`},
		{"blob reference kept", `{"image": {"blob": "sha256:ab", "size": 3}}`, `{"image":{"blob":"sha256:ab","size":3}}`},
		{"secrets are not its business", `{"otpCode": "123456", "requestFieldsValues": {"salary": 5}}`, `{"otpCode":"123456","requestFieldsValues":{"salary":5}}`},
		{"not JSON", `<html>`, `"[redacted non-JSON 6 B]"`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := string(StripImages([]byte(tc.in))); got != tc.want {
				t.Errorf("StripImages(%.80q):\n got %s\nwant %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestRedactDeepNesting(t *testing.T) {
	t.Parallel()
	in := strings.Repeat(`{"a":`, 5000) + `"` + strings.Repeat("B", 300) + `"` + strings.Repeat("}", 5000)
	out := Redact([]byte(in))
	if !json.Valid(out) {
		t.Fatalf("output is not valid JSON")
	}
	if bytes.Contains(out, []byte(strings.Repeat("B", 300))) {
		t.Error("deeply nested blob survived")
	}
	if !bytes.HasPrefix(out, []byte(strings.Repeat(`{"a":`, maxRedactDepth))) {
		t.Errorf("the first %d levels should be kept: %.200s", maxRedactDepth, out)
	}
}

func TestRedactLargeBody(t *testing.T) {
	t.Parallel()
	img := fakeImage("big", 1<<20) // a 1 MB image
	in := mustJSON(t, obj{"image": img, "transaction_id": "t", "scanTransaction": obj{"face_1": img}})
	out := Redact(in)
	if len(out) > 300 {
		t.Errorf("redacted body is %d bytes, want a small one: %.300s", len(out), out)
	}
}

func TestRedactValue(t *testing.T) {
	t.Parallel()
	in := map[string]any{
		"tenant": "acme", "otpCode": "123456", "count": 3.0,
		"scanTransaction": map[string]any{"face_1": canaryFace1},
		"list":            []any{map[string]any{"password": "p"}},
	}
	got := RedactValue(in)
	want := map[string]any{
		"tenant": "acme", "otpCode": "[redacted 6 B]", "count": json.Number("3"),
		"scanTransaction": map[string]any{"face_1": imageMarker(canaryFace1)},
		"list":            []any{map[string]any{"password": "[redacted 1 B]"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RedactValue (-want +got):\n%s", diff)
	}
	if in["otpCode"] != "123456" || in["scanTransaction"].(map[string]any)["face_1"] != canaryFace1 {
		t.Error("RedactValue changed its input")
	}
	if got := RedactValue(nil); got != nil {
		t.Errorf("RedactValue(nil) = %v", got)
	}
	if got := RedactValue(struct {
		Image string `json:"image"`
	}{"x"}); !cmp.Equal(got, map[string]any{"image": "[redacted 1 B]"}) {
		t.Errorf("RedactValue(struct) = %v", got)
	}
	if got := RedactValue(func() {}); got != "[redacted unencodable value]" {
		t.Errorf("RedactValue(func) = %v", got)
	}
}

func TestIsSensitiveField(t *testing.T) {
	t.Parallel()
	sensitive := []string{
		"image", "Image", "face_1", "face_2", "face_3", "FACE3", "faces", "frontImage", "imageBase64", "selfie", "croppedFace",
		"password", "Password", "refreshToken", "refresh_token", "accessToken", "encryptedAccessToken", "newRefreshToken",
		"ApiKey", "api_key", "X-Api-Key", "Authorization", "otp", "otpCode", "OTP_CODE", "pin",
		"idNumber", "id_number", "IdNumber", "nationalId", "national_id", "name", "Name", "names", "firstName", "full_name",
		"fatherName", "name_check_value", "phone", "phoneNumber", "mobile", "email", "emailAddress", "userNameOrEmailAddress",
		"birthDate", "birth_date", "dateOfBirth", "dob", "address", "fullAddress", "street", "geoLocation", "latitude",
		"longitude", "requestFieldsValues", "idFrontData", "idBackData", "AML", "husbandName", "religion", "gender", "job",
	}
	plain := []string{
		"tenant", "tenancyName", "TenancyName", "user", "transaction_id", "client_transaction_id", "request_id", "requestId",
		"otpRequestId", "type_id", "country", "getExtractedData", "userDeviceUtcTime", "callback_url", "error_code",
		"error_message", "data", "services", "scanTransaction", "isVerificationProcessCompleted", "doc_type",
		"requestStatusName", "requeststatus", "expireInSeconds", "X-Request-Id", "isMatched", "blob", "size", "type",
	}
	for _, f := range sensitive {
		if !IsSensitiveField(f) {
			t.Errorf("IsSensitiveField(%q) = false, want true", f)
		}
	}
	for _, f := range plain {
		if IsSensitiveField(f) {
			t.Errorf("IsSensitiveField(%q) = true, want false", f)
		}
	}
}

func TestMarkerFormat(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^\[redacted \d+ B( sha256:[0-9a-f]{12})?\]$`)
	for _, s := range []string{"", "x", strings.Repeat("y", 255), strings.Repeat("y", 256), canaryImage} {
		m := marker(s)
		if !re.MatchString(m) {
			t.Errorf("marker(%d bytes) = %q, not in the documented form", len(s), m)
		}
		if hasHash := strings.Contains(m, "sha256:"); hasHash != (len(s) >= BlobRedactThreshold) {
			t.Errorf("marker(%d bytes) = %q: a hash only from %d bytes", len(s), m, BlobRedactThreshold)
		}
	}
}

func BenchmarkRedact(b *testing.B) {
	body, err := json.Marshal(obj{"tenant": "acme", "user": "user-17", "transaction_id": "t-1", "getExtractedData": true,
		"face_1": fakeImage("f1", 300<<10), "face_2": fakeImage("f2", 300<<10), "face_3": fakeImage("f3", 300<<10)})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		Redact(body)
	}
}

func ExampleRedact() {
	body := []byte(`{"tenant": "acme", "transaction_id": "t-1", "idNumber": "29901011234567",
		"otpCode": "123456", "image": "` + strings.Repeat("QUJD", 128) + `"}`)
	fmt.Println(string(Redact(body)))
	// Output:
	// {"tenant":"acme","transaction_id":"t-1","idNumber":"[redacted 14 B]","otpCode":"[redacted 6 B]","image":"[redacted 512 B sha256:000b9117aac6]"}
}
