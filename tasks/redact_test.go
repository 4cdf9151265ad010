package tasks

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRedacted(t *testing.T) {
	t.Parallel()
	ref := BlobRef{Key: "sha256:" + strings.Repeat("1", 64), Size: 10, Type: "image/jpeg"}
	p := &Payload{
		Tenant: "acme", User: "user-1", OTPCode: "731904", IDNumber: "29001011234567", Name: "Mona", NameCheckValue: "Mona T",
		CallbackURL: "https://hooks.example.com/kyc?token=abc#frag", BusinessRequestID: "7",
		RequestFieldsValues: map[string]any{"nationalId": "29001011234567"},
		Image:               InlineImage("/9j/4AAQSkZJRg=="), Face1: RefImage(ref),
		ScanTransaction: &ScanTransaction{Image: InlineImage("iVBORw0KGgo=")},
	}
	orig, _ := json.Marshal(p)
	got := p.Redacted()
	want := &Payload{
		Tenant: "acme", User: "user-1", OTPCode: RedactedMarker, IDNumber: RedactedMarker, Name: RedactedMarker, NameCheckValue: RedactedMarker,
		CallbackURL: "https://hooks.example.com/kyc?[redacted]", BusinessRequestID: "7",
		RequestFieldsValues: map[string]any{"nationalId": RedactedMarker},
		Image:               InlineImage("[image: 16 base64 chars]"), Face1: RefImage(ref),
		ScanTransaction: &ScanTransaction{Image: InlineImage("[image: 12 base64 chars]")},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if after, _ := json.Marshal(p); string(after) != string(orig) {
		t.Error("Redacted changed the original payload")
	}
	var nilP *Payload
	if nilP.Redacted() != nil {
		t.Error("nil payload")
	}
}

func TestFormatPayload(t *testing.T) {
	t.Parallel()
	p := validPayload(t, TypeBusinessValidateOTP)
	p.OTPCode = "731904"
	raw, _ := json.Marshal(p)
	got := FormatPayload(TypeBusinessValidateOTP, raw)
	if strings.Contains(got, "731904") || !strings.Contains(got, `"otpCode":"[redacted]"`) || !strings.Contains(got, `"requestId":77`) {
		t.Errorf("FormatPayload = %s", got)
	}
	bad := FormatPayload(TypeOCRAML, []byte(`{"otpCode":"731904","x":1}`))
	if strings.Contains(bad, "731904") || !strings.HasPrefix(bad, "[ocr:aml payload of 26 bytes that does not decode: payload.x: unknown field") {
		t.Errorf("FormatPayload of a bad payload = %s", bad)
	}
}
