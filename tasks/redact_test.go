package tasks

import (
	"encoding/json"
	"strings"
	"testing"
)

// Every secret, personal value and image of our payload shapes is hidden by
// FormatPayload, and references and ids stay readable.
func TestFormatPayload(t *testing.T) {
	t.Parallel()
	secrets := map[string]string{
		"otp": "731904", "id number": "29001011234567", "name": "Mona Tester", "name check": "Mona Other",
		"field value": "Cairo, Street 9", "latitude": "30.0444",
	}
	validate := validPayload(t, TypeBusinessValidateOTP)
	validate.OTPCode = secrets["otp"]
	aml := validPayload(t, TypeOCRAML)
	aml.IDNumber, aml.Name = secrets["id number"], secrets["name"]
	front := validPayload(t, TypeVerifyIDFront)
	front.NameCheckValue = secrets["name check"]
	create := validPayload(t, TypeBusinessCreate)
	create.RequestFieldsValues = map[string]any{"address": secrets["field value"]}
	live := validPayload(t, TypeVerifyLiveness)
	scan := validPayload(t, TypeBusinessRevalidateLiveness)
	ref := BlobRef{Key: "sha256:" + strings.Repeat("1", 64), Size: 10, Type: "image/jpeg"}
	scan.ScanTransaction.Face1 = RefImage(ref)

	for _, p := range []*Payload{validate, aml, front, create, live, scan} {
		raw, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		out := FormatPayload("", raw)
		if !json.Valid([]byte(out)) {
			t.Errorf("not JSON: %s", out)
		}
		for what, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s shown: %s", what, out)
			}
		}
		for _, im := range []*Image{p.Image, p.Face1, p.Face2, p.Face3} {
			if im != nil && strings.Contains(out, im.Inline[:64]) {
				t.Errorf("image bytes shown: %.300s", out)
			}
		}
		if !strings.Contains(out, `"tenant":"acme"`) {
			t.Errorf("tenant hidden: %.300s", out)
		}
	}
	if out := FormatPayload("", mustJSON(t, scan)); !strings.Contains(out, ref.Key) {
		t.Errorf("blob reference hidden: %.400s", out)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
