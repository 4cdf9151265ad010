package tasks

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValidateAcceptsEveryValidPayload(t *testing.T) {
	t.Parallel()
	for _, typ := range Types() {
		if err := validPayload(t, typ).Validate(typ); err != nil {
			t.Errorf("%s: valid payload rejected: %v", typ, err)
		}
	}
}

func TestValidationErrorText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  ValidationError
		want string
	}{
		{ValidationError{Field: "payload.image", Problem: "not valid base64"}, "payload.image: not valid base64"},
		{ValidationError{Problem: "malformed JSON"}, "malformed JSON"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// The rules every type shares, applied to every type.
func TestValidateCommonRulesEveryType(t *testing.T) {
	t.Parallel()
	for _, typ := range Types() {
		spec, _ := Lookup(typ)
		t.Run(typ, func(t *testing.T) {
			check := func(desc string, mutate func(*Payload), want ValidationError) {
				t.Helper()
				p := validPayload(t, typ)
				mutate(p)
				err := p.Validate(typ)
				if err == nil {
					t.Errorf("%s: accepted", desc)
					return
				}
				if d := cmp.Diff(want, *asValidation(t, err)); d != "" {
					t.Errorf("%s (-want +got):\n%s", desc, d)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("%s: error is not one line: %q", desc, err)
				}
			}
			check("missing tenant", func(p *Payload) { p.Tenant = "" }, ValidationError{"tenant", "required"})
			check("blank tenant", func(p *Payload) { p.Tenant = "  " }, ValidationError{"tenant", "required"})
			if spec.UserToken {
				check("missing user", func(p *Payload) { p.User = "" },
					ValidationError{"payload.user", "required: " + typ + " runs with the user's token"})
			}
			for _, name := range spec.Required {
				check("missing "+name, func(p *Payload) { clearMember(t, p, name) },
					ValidationError{"payload." + name, "required for " + typ})
			}
			// A member of another type's call is refused, not silently dropped.
			stray := "otpCode"
			if slices.Contains(spec.Params(), stray) {
				stray = "image"
			}
			check("stray "+stray, func(p *Payload) {
				if stray == "image" {
					p.Image = img(99)
				} else {
					p.OTPCode = "1234"
				}
			}, ValidationError{"payload." + stray, "not used by " + typ})
			check("relative callback", func(p *Payload) { p.CallbackURL = "/hook" },
				ValidationError{"payload.callback_url", "must be an absolute http or https URL"})
			for _, name := range spec.Images {
				f := "payload." + name
				for _, rule := range imageRules {
					check(name+": "+rule.desc, func(p *Payload) {
						if p.ScanTransaction == nil && strings.HasPrefix(name, "scanTransaction.") {
							p.ScanTransaction = &ScanTransaction{} // optional (business:request_otp)
						}
						*p.imageSlot(name) = rule.img()
					},
						ValidationError{f + rule.suffix, rule.problem})
				}
			}
		})
	}
}

// imageRules are the image problems checked on every image field.
var imageRules = []struct {
	desc    string
	img     func() *Image
	suffix  string
	problem string
}{
	{"bad base64", func() *Image { return InlineImage("/9j/4AAQ*kZJRg==") }, "", "not valid base64 (at byte 8)"},
	{"unpadded base64", func() *Image { return InlineImage("/9j/4AAQSkZJRg") }, "", "not valid base64 (at byte 12)"},
	{"data URI", func() *Image { return InlineImage("data:image/jpeg;base64,/9j/4AAQ") }, "", "is a data: URI; send the bare base64 text"},
	{"empty", func() *Image { return InlineImage("") }, "", "required"},
	{"gif", func() *Image { return ImageBytes([]byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;")) }, "", "image/gif is not supported; send JPEG or PNG"},
	{"pdf", func() *Image { return ImageBytes([]byte("%PDF-1.7\n%\xe2\xe3")) }, "", "not a JPEG or PNG image"},
	{"over 5 MB", func() *Image { return InlineImage(oversizeImage()) }, "", "image is 5.0 MB decoded, over the 5 MB limit"},
	{"far over 5 MB", func() *Image { return InlineImage(farOversizeImage()) }, "", "image is 9 MB decoded, over the 5 MB limit"},
	{"inline and ref", func() *Image {
		return &Image{Inline: b64(fakeJPEG(10, 1)), Ref: &BlobRef{Key: "sha256:" + strings.Repeat("a", 64), Size: 10}}
	}, "", "holds both inline base64 and a blob reference; set one"},
	{"ref bad key", func() *Image { return RefImage(BlobRef{Key: "md5:abc", Size: 10}) }, ".blob", `must be "sha256:" and 64 lowercase hex digits`},
	{"ref upper hex", func() *Image { return RefImage(BlobRef{Key: "sha256:" + strings.Repeat("A", 64), Size: 10}) }, ".blob", `must be "sha256:" and 64 lowercase hex digits`},
	{"ref zero size", func() *Image { return RefImage(BlobRef{Key: "sha256:" + strings.Repeat("a", 64)}) }, ".size", "must be between 1 and 5242880 bytes"},
	{"ref too big", func() *Image {
		return RefImage(BlobRef{Key: "sha256:" + strings.Repeat("a", 64), Size: MaxImageBytes + 1})
	}, ".size", "must be between 1 and 5242880 bytes"},
	{"ref bad type", func() *Image {
		return RefImage(BlobRef{Key: "sha256:" + strings.Repeat("a", 64), Size: 9, Type: "image/gif"})
	}, ".type", `must be "image/jpeg" or "image/png"`},
}

var (
	oversizeImage    = sync.OnceValue(func() string { return b64(fakeJPEG(MaxImageBytes+1, 3)) })
	farOversizeImage = sync.OnceValue(func() string { return strings.Repeat("AAAA", 3<<20) })
)

// clearMember unsets a payload member by its (dotted) json name.
func clearMember(t *testing.T, p *Payload, name string) {
	t.Helper()
	if slot := p.imageSlot(name); slot != nil {
		*slot = nil
		return
	}
	v, ok := p.member(name)
	if !ok {
		t.Fatalf("no member %q", name)
	}
	v.SetZero()
}

// Rules of individual members.
func TestValidateMemberRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc   string
		typ    string
		mutate func(*Payload)
		want   ValidationError // zero: valid
	}{
		{desc: "unknown type", typ: "verify:selfie", mutate: func(*Payload) {},
			want: ValidationError{"type", `unknown task type "verify:selfie" (known: ` + strings.Join(Types(), ", ") + ")"}},
		{desc: "empty type", typ: "", mutate: func(*Payload) {}, want: ValidationError{"type", "required"}},
		{desc: "https callback", typ: TypeOCRAML, mutate: func(p *Payload) { p.CallbackURL = "https://hooks.example.com/vlens?x=1" }},
		{desc: "http callback", typ: TypeOCRAML, mutate: func(p *Payload) { p.CallbackURL = "http://10.0.0.1:8080/cb" }},
		{desc: "ftp callback", typ: TypeOCRAML, mutate: func(p *Payload) { p.CallbackURL = "ftp://example.com/x" },
			want: ValidationError{"payload.callback_url", "must be an absolute http or https URL"}},
		{desc: "hostless callback", typ: TypeOCRAML, mutate: func(p *Payload) { p.CallbackURL = "https:///x" },
			want: ValidationError{"payload.callback_url", "must be an absolute http or https URL"}},
		{desc: "unparsable callback", typ: TypeOCRAML, mutate: func(p *Payload) { p.CallbackURL = "http://[::1" },
			want: ValidationError{"payload.callback_url", "must be an absolute http or https URL"}},
		{desc: "callback with credentials", typ: TypeOCRAML, mutate: func(p *Payload) { p.CallbackURL = "https://bob:s3cret@example.com/" },
			want: ValidationError{"payload.callback_url", "must not carry credentials (user:password@)"}},
		{desc: "type_id zero", typ: TypeBusinessCreate, mutate: func(p *Payload) { p.TypeID = 0 },
			want: ValidationError{"payload.type_id", "required for business:create"}},
		{desc: "type_id negative", typ: TypeBusinessCreate, mutate: func(p *Payload) { p.TypeID = -2 },
			want: ValidationError{"payload.type_id", "must be a positive integer"}},
		{desc: "type_id elsewhere", typ: TypeBusinessStatus, mutate: func(p *Payload) { p.TypeID = 3 },
			want: ValidationError{"payload.type_id", "not used by business:status"}},
		{desc: "requestId UUID", typ: TypeBusinessStatus, mutate: func(p *Payload) { p.BusinessRequestID = TextID("0b9f6d2e-1c4a-4f7e-9a3b-5d8c2e1f0a64") }},
		{desc: "requestId number", typ: TypeBusinessRequestOTP, mutate: func(p *Payload) { p.BusinessRequestID = NumberID(4711) }},
		{desc: "requestId any text", typ: TypeBusinessValidateOTP, mutate: func(p *Payload) { p.BusinessRequestID = TextID("BR/2025 #7") }},
		{desc: "requestId empty", typ: TypeBusinessStatus, mutate: func(p *Payload) { p.BusinessRequestID = TextID("") },
			want: ValidationError{"payload.requestId", "required for business:status"}},
		{desc: "requestId blank", typ: TypeBusinessRequestOTP, mutate: func(p *Payload) { p.BusinessRequestID = TextID("  ") },
			want: ValidationError{"payload.requestId", "required for business:request_otp"}},
		{desc: "requestId too long", typ: TypeBusinessStatus, mutate: func(p *Payload) { p.BusinessRequestID = TextID(strings.Repeat("a", MaxIDLength+1)) },
			want: ValidationError{"payload.requestId", "too long for an id (257 bytes, at most 256)"}},
		{desc: "otpRequestId empty", typ: TypeBusinessValidateOTP, mutate: func(p *Payload) { p.OTPRequestID = TextID("") },
			want: ValidationError{"payload.otpRequestId", "required for business:validate_otp"}},
		{desc: "transaction_id too long", typ: TypeVerifyIDFront, mutate: func(p *Payload) { p.TransactionID = TextID(strings.Repeat("t", 300)) },
			want: ValidationError{"payload.transaction_id", "too long for an id (300 bytes, at most 256)"}},
		{desc: "request_id number", typ: TypeVerifyIDBack, mutate: func(p *Payload) { p.RequestID = NumberID(5) }},
		{desc: "otpCode with space", typ: TypeBusinessValidateOTP, mutate: func(p *Payload) { p.OTPCode = "123 456" },
			want: ValidationError{"payload.otpCode", "must not contain spaces or control characters"}},
		{desc: "otpRequestId string", typ: TypeBusinessValidateOTP, mutate: func(p *Payload) { p.OTPRequestID = TextID("a1b2-c3") }},
		{desc: "latitude", typ: TypeBusinessRequestOTP, mutate: func(p *Payload) { p.GeoLocation.Latitude = 91 },
			want: ValidationError{"payload.geoLocation.latitude", "must be between -90 and 90"}},
		{desc: "longitude", typ: TypeBusinessCreate, mutate: func(p *Payload) { p.GeoLocation.Longitude = -180.5 },
			want: ValidationError{"payload.geoLocation.longitude", "must be between -180 and 180"}},
		{desc: "device time with offset", typ: TypeBusinessCreate, mutate: func(p *Payload) { p.UserDeviceUTCTime = "2025-01-02T17:04:05.123+02:00" }},
		{desc: "device time without zone", typ: TypeBusinessCreate, mutate: func(p *Payload) { p.UserDeviceUTCTime = "2025-01-02T15:04:05.5" }},
		{desc: "device time bad", typ: TypeBusinessValidateOTP, mutate: func(p *Payload) { p.UserDeviceUTCTime = "02/01/2025 15:04" },
			want: ValidationError{"payload.userDeviceUtcTime", `must be an RFC 3339 time such as "2025-01-02T15:04:05Z"`}},
		{desc: "request field empty key", typ: TypeBusinessCreate, mutate: func(p *Payload) { p.RequestFieldsValues[" "] = 1 },
			want: ValidationError{"payload.requestFieldsValues", "has an empty key"}},
		{desc: "request fields optional", typ: TypeBusinessCreate, mutate: func(p *Payload) { p.RequestFieldsValues = nil }},
		{desc: "png accepted", typ: TypeOCRIDFront, mutate: func(p *Payload) { p.Image = ImageBytes(fakePNG(100, 1)) }},
		{desc: "base64 with line breaks", typ: TypeOCRIDFront, mutate: func(p *Payload) {
			s := b64(fakeJPEG(300, 4))
			p.Image = InlineImage(s[:76] + "\r\n" + s[76:152] + "\n" + s[152:])
		}},
		{desc: "5 MB exactly", typ: TypeOCRIDBack, mutate: func(p *Payload) { p.Image = ImageBytes(fakeJPEG(MaxImageBytes, 5)) }},
		{desc: "user on tenant-token type", typ: TypeOCRAML, mutate: func(p *Payload) { p.User = "user-1" }},
		{desc: "liveness frames 1 and 2 equal", typ: TypeVerifyLiveness, mutate: func(p *Payload) { p.Face2 = img(11) },
			want: ValidationError{"payload.face_2", "same image as payload.face_1; liveness needs three distinct frames"}},
		{desc: "liveness frames 1 and 3 equal", typ: TypeVerifyLiveness, mutate: func(p *Payload) { p.Face3 = img(11) },
			want: ValidationError{"payload.face_3", "same image as payload.face_1; liveness needs three distinct frames"}},
		{desc: "liveness ref frames equal", typ: TypeVerifyLiveness, mutate: func(p *Payload) {
			ref := BlobRef{Key: "sha256:" + strings.Repeat("b", 64), Size: 100, Type: "image/jpeg"}
			p.Face1, p.Face3 = RefImage(ref), RefImage(ref)
		}, want: ValidationError{"payload.face_3", "same image as payload.face_1; liveness needs three distinct frames"}},
		{desc: "scan frames equal", typ: TypeBusinessRevalidateLiveness, mutate: func(p *Payload) { p.ScanTransaction.Face3 = img(22) },
			want: ValidationError{"payload.scanTransaction.face_3", "same image as payload.scanTransaction.face_2; liveness needs three distinct frames"}},
		{desc: "scan ID image may equal nothing else", typ: TypeBusinessRevalidateLiveness, mutate: func(p *Payload) { p.ScanTransaction.Image = img(21) }},
		{desc: "empty scanTransaction", typ: TypeBusinessRevalidateLiveness, mutate: func(p *Payload) { p.ScanTransaction = &ScanTransaction{} },
			want: ValidationError{"payload.scanTransaction.image", "required for business:revalidate_liveness"}},
		{desc: "scanTransaction elsewhere", typ: TypeVerifyLiveness, mutate: func(p *Payload) { p.ScanTransaction = &ScanTransaction{Image: img(1)} },
			want: ValidationError{"payload.scanTransaction", "not used by verify:liveness"}},
		{desc: "blank transaction id", typ: TypeOCRFaceMatch, mutate: func(p *Payload) { p.TransactionID = TextID(" ") },
			want: ValidationError{"payload.transaction_id", "required for ocr:face_match"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			var p *Payload
			if _, ok := Lookup(tt.typ); ok {
				p = validPayload(t, tt.typ)
			} else {
				p = validPayload(t, TypeOCRAML)
			}
			tt.mutate(p)
			err := p.Validate(tt.typ)
			if tt.want == (ValidationError{}) {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if d := cmp.Diff(tt.want, *asValidation(t, err)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestValidateNilPayload(t *testing.T) {
	t.Parallel()
	var p *Payload
	err := p.Validate(TypeOCRAML)
	if d := cmp.Diff(ValidationError{"payload", "required"}, *asValidation(t, err)); d != "" {
		t.Error(d)
	}
}

// Error text never quotes image data, OTP codes or personal data.
func TestValidationErrorsHideValues(t *testing.T) {
	t.Parallel()
	secret := "Zm9vYmFyYmF6cXV4" // base64 that is not an image
	p := validPayload(t, TypeOCRIDFront)
	p.Image = InlineImage(secret)
	if err := p.Validate(TypeOCRIDFront); err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("error %v quotes the image", err)
	}
	q := validPayload(t, TypeBusinessValidateOTP)
	q.OTPCode = "98 7654"
	if err := q.Validate(TypeBusinessValidateOTP); err == nil || strings.Contains(err.Error(), "7654") {
		t.Errorf("error %v quotes the OTP", err)
	}
}
