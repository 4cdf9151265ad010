package tasks

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestImageJSONForms(t *testing.T) {
	t.Parallel()
	ref := BlobRef{Key: "sha256:" + strings.Repeat("0f", 32), Size: 48213, Type: "image/jpeg"}
	tests := []struct {
		desc string
		img  Image
		json string
	}{
		{"inline", Image{Inline: "/9j/4AAQ"}, `"/9j/4AAQ"`},
		{"reference", Image{Ref: &ref}, `{"blob":"sha256:` + strings.Repeat("0f", 32) + `","size":48213,"type":"image/jpeg"}`},
		{"reference without type", Image{Ref: &BlobRef{Key: "sha256:aa", Size: 1}}, `{"blob":"sha256:aa","size":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			b, err := json.Marshal(tt.img)
			if err != nil || string(b) != tt.json {
				t.Fatalf("Marshal = %s, %v; want %s", b, err, tt.json)
			}
			var back Image
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.img, back); d != "" {
				t.Errorf("round trip (-want +got):\n%s", d)
			}
		})
	}
}

// Printing a payload or an image, in any verb, never prints image bytes or
// the OTP code.
func TestPrintingHidesBytesAndSecrets(t *testing.T) {
	t.Parallel()
	data := b64(fakeJPEG(600, 7))
	p := validPayload(t, TypeBusinessValidateOTP)
	p.OTPCode = "731904"
	p.IDNumber = "29001011234567"
	live := validPayload(t, TypeVerifyLiveness)
	live.Face1 = InlineImage(data)
	for _, v := range []any{p, live, *live.Face1, live.Face1} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			out := fmt.Sprintf(verb, v)
			for _, secret := range []string{data[:40], "731904", "29001011234567"} {
				if strings.Contains(out, secret) {
					t.Errorf("%s of %T prints a secret: %s", verb, v, out)
				}
			}
		}
	}
	if got, want := live.Face1.String(), "image(inline, 800 base64 chars)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got, want := p.String(), "payload(tenant=acme user,idNumber,requestId,otpRequestId,otpCode,geoLocation,userDeviceUtcTime)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestMegabytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    int
		want string
	}{{5 << 20, "5 MB"}, {MaxImageBytes + 1, "5.0 MB"}, {37748736 + 524288, "36.5 MB"}, {1 << 19, "0.5 MB"}}
	for _, tt := range tests {
		if got := megabytes(tt.n); got != tt.want {
			t.Errorf("megabytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
