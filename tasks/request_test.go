package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// mapBlobs is a BlobReader over a map, for tests without Redis.
type mapBlobs map[string][]byte

func (m mapBlobs) Get(_ context.Context, ref BlobRef) ([]byte, error) {
	b, ok := m[ref.Key]
	if !ok {
		return nil, &BlobMissingError{Ref: ref}
	}
	return b, nil
}

// The Vlens body of every type, as JSON on the wire.
func TestRequestBodyEveryType(t *testing.T) {
	t.Parallel()
	i1, i2, i3, i4 := b64(fakeJPEG(2048, 1)), b64(fakeJPEG(2048, 11)), b64(fakeJPEG(2048, 12)), b64(fakeJPEG(2048, 13))
	s0, s1, s2, s3 := b64(fakeJPEG(2048, 20)), b64(fakeJPEG(2048, 21)), b64(fakeJPEG(2048, 22)), b64(fakeJPEG(2048, 23))
	geo := `"geoLocation":{"latitude":30.0444,"longitude":31.2357}`
	when := `"userDeviceUtcTime":"2025-01-02T15:04:05Z"`
	tests := []struct {
		typ  string
		edit func(*Payload)
		want string
	}{
		{TypeVerifyIDFront, func(p *Payload) {
			p.ClientTransactionID = "c-1"
			p.NameCheckValue = "Mona"
			p.CallbackURL = "https://h.example/x"
		},
			`{"client_transaction_id":"c-1","getExtractedData":true,"image":"` + i1 + `","name_check_value":"Mona","transaction_id":"tx-1"}`},
		{TypeVerifyIDBack, func(p *Payload) { p.GetExtractedData = ptr(false); p.Country = "EG"; p.RequestID = TextID("r-9") },
			`{"country":"EG","getExtractedData":false,"image":"` + i1 + `","request_id":"r-9","transaction_id":"tx-1"}`},
		{TypeVerifyLiveness, nil,
			`{"face_1":"` + i2 + `","face_2":"` + i3 + `","face_3":"` + i4 + `","transaction_id":"tx-1"}`},
		{TypeOCRIDFront, nil, `{"country":"EG","image":"` + i1 + `"}`},
		{TypeOCRIDBack, func(p *Payload) { p.TransactionID = TextID("tx-2") }, `{"country":"EG","image":"` + i1 + `","transaction_id":"tx-2"}`},
		{TypeOCRFaceMatch, func(p *Payload) { p.Image = ImageBytes(fakeJPEG(2048, 1)) }, `{"image":"` + i1 + `","transaction_id":"tx-1"}`},
		{TypeOCRAML, nil, `{"idNumber":"29001011234567","name":"Mona Test"}`},
		{TypeBusinessCreate, nil, `{` + geo + `,"requestFieldsValues":{"amount":1000},` + when + `}`},
		{TypeBusinessRequestOTP, nil, `{` + geo + `,"requestId":"` + testRequestID + `",` + when + `}`},
		// A number stays a number, a numeric string stays a string.
		{TypeBusinessRequestOTP, func(p *Payload) { p.BusinessRequestID = NumberID(77) }, `{` + geo + `,"requestId":77,` + when + `}`},
		{TypeBusinessRevalidateLiveness, nil,
			`{` + geo + `,"scanTransaction":{"face_1":"` + s1 + `","face_2":"` + s2 + `","face_3":"` + s3 + `","image":"` + s0 + `"},` + when + `}`},
		{TypeBusinessValidateOTP, nil, `{` + geo + `,"otpCode":"123456","otpRequestId":9001,"requestId":"` + testRequestID + `",` + when + `}`},
		{TypeBusinessValidateOTP, func(p *Payload) { p.BusinessRequestID, p.OTPRequestID = TextID("77"), TextID("9001") },
			`{` + geo + `,"otpCode":"123456","otpRequestId":"9001","requestId":"77",` + when + `}`},
		{TypeBusinessStatus, nil, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			t.Parallel()
			p := validPayload(t, tt.typ)
			if tt.edit != nil {
				tt.edit(p)
			}
			spec, _ := Lookup(tt.typ)
			body, err := p.RequestBody(context.Background(), spec, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("body\n got %.300s\nwant %.300s", got, tt.want)
			}
		})
	}
}

func TestRequestBodyResolvesBlobs(t *testing.T) {
	t.Parallel()
	data := fakeJPEG(4096, 8)
	ci, err := checkImage("x", ImageBytes(data))
	if err != nil {
		t.Fatal(err)
	}
	ref := BlobRef{Key: ci.key, Size: len(data), Type: "image/jpeg"}
	p := validPayload(t, TypeBusinessRevalidateLiveness)
	p.ScanTransaction.Image = RefImage(ref)
	spec, _ := Lookup(TypeBusinessRevalidateLiveness)

	body, err := p.RequestBody(context.Background(), spec, mapBlobs{ref.Key: data})
	if err != nil {
		t.Fatal(err)
	}
	if got := body["scanTransaction"].(map[string]any)["image"]; got != b64(data) {
		t.Errorf("scanTransaction.image = %.40v..., want the blob's base64", got)
	}

	_, err = p.RequestBody(context.Background(), spec, mapBlobs{})
	if !errors.Is(err, ErrBlobMissing) {
		t.Fatalf("missing blob: err = %v, want ErrBlobMissing", err)
	}
	me, ok := errors.AsType[*BlobMissingError](err)
	if !ok || me.Field != "payload.scanTransaction.image" || me.Ref != ref {
		t.Errorf("missing blob error = %#v", err)
	}
	if want := "payload.scanTransaction.image: blob " + ref.Key + " is missing (expired or never stored)"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}

	if _, err := p.RequestBody(context.Background(), spec, nil); err == nil || errors.Is(err, ErrBlobMissing) {
		t.Errorf("reference without a blob store: err = %v, want a configuration error", err)
	}
}

func TestPathFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ  string
		p    Payload
		want string
	}{
		{TypeBusinessCreate, Payload{TypeID: 12}, "/api/BusinessRequest/Create/12"},
		{TypeBusinessStatus, Payload{BusinessRequestID: NumberID(4711)}, "/api/BusinessRequest/GetBusinessRequestById/4711"},
		{TypeBusinessStatus, Payload{BusinessRequestID: TextID(testRequestID)}, "/api/BusinessRequest/GetBusinessRequestById/" + testRequestID},
		{TypeBusinessStatus, Payload{BusinessRequestID: TextID("a/b c?#%")}, "/api/BusinessRequest/GetBusinessRequestById/a%2Fb%20c%3F%23%25"},
		{TypeVerifyIDFront, Payload{TypeID: 1, BusinessRequestID: TextID("2")}, "/api/DigitalIdentity/verify/id/front"},
	}
	for _, tt := range tests {
		spec, _ := Lookup(tt.typ)
		if got := tt.p.PathFor(spec); got != tt.want {
			t.Errorf("%s: PathFor = %q, want %q", tt.typ, got, tt.want)
		}
	}
	if d := cmp.Diff([]string{"requestId"}, mustSpec(t, TypeBusinessStatus).placeholders()); d != "" {
		t.Error(d)
	}
}

func mustSpec(t *testing.T, typ string) Spec {
	t.Helper()
	s, ok := Lookup(typ)
	if !ok {
		t.Fatalf("no spec %q", typ)
	}
	return s
}
