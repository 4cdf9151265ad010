package tasks

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

var fuzzPayloadSeeds = []string{
	`{}`,
	`{"tenant":"acme","image":"` + pngB64Fuzz + `","country":"EG","client_transaction_id":"c-1"}`,
	`{"tenant":"acme","user":"u1","face_1":"` + pngB64Fuzz + `","face_2":{"blob":"b","size":1,"type":"image/png"},"transaction_id":"t"}`,
	`{"tenant":"acme","user":"u","requestId":"12","otpRequestId":7,"otpCode":"123456","geoLocation":{"latitude":30,"longitude":31},"userDeviceUtcTime":"2025-01-02T15:04:05Z"}`,
	`{"tenant":"acme","user":"u","type_id":3,"requestFieldsValues":{"salary":1e400},"geoLocation":{"latitude":"x"}}`,
	`{"tenant":"acme","image":5}`,
	`{"tenant":"acme","image":"not base64!!"}`,
	`{"tenant":"acme","callback_url":"http://user:pw@example.com/x"}`,
	`{"tenant":"acme","scanTransaction":{"image":"","face_1":null}}`,
	`{"tenant":"a\u0000b","unknown":1}`,
	"{\"tenant\":\"\xff\"}",
	`[1,2]`,
	`{"tenant":"acme","requestId":-1}`,
}

// pngB64Fuzz is a 1×1 PNG, base64.
const pngB64Fuzz = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4//8/AAX+Av4N70a4AAAAAElFTkSuQmCC"

// FuzzPayloadValidation: decoding and validating any bytes as any task
// type never panics; a rejection is a *ValidationError naming a field or a
// problem; an accepted payload survives a JSON round trip and is accepted
// again.
func FuzzPayloadValidation(f *testing.F) {
	types := []string{TypeVerifyIDFront, TypeVerifyLiveness, TypeOCRIDFront, TypeOCRFaceMatch, TypeOCRAML,
		TypeBusinessCreate, TypeBusinessRequestOTP, TypeBusinessRevalidateLiveness, TypeBusinessValidateOTP, TypeBusinessStatus}
	for i, s := range fuzzPayloadSeeds {
		f.Add(uint8(i), []byte(s))
	}
	f.Fuzz(func(t *testing.T, typ uint8, b []byte) {
		taskType := types[int(typ)%len(types)]
		p, err := DecodePayload(b)
		if err == nil {
			err = p.Validate(taskType)
		}
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("rejection %v (%T) is not a *ValidationError", err, err)
			}
			if ve.Field == "" && ve.Problem == "" {
				t.Fatalf("rejection names neither a field nor a problem: %#v", ve)
			}
			return
		}
		again, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("accepted payload does not marshal: %v", err)
		}
		p2, err := DecodePayload(again)
		if err == nil {
			err = p2.Validate(taskType)
		}
		if err != nil {
			t.Fatalf("accepted payload %s rejected after a round trip as %s: %v", again, taskType, err)
		}
		if strings.Contains(p.String(), p.OTPCode) && p.OTPCode != "" && len(p.OTPCode) > 3 {
			t.Fatalf("Payload.String shows the OTP: %s", p.String())
		}
	})
}

// FuzzParseLine: no NDJSON line makes the enqueue parser panic; a bad line
// is a *ValidationError; a good one has a known type and a tenant that
// agrees with its payload's.
func FuzzParseLine(f *testing.F) {
	for _, s := range fuzzPayloadSeeds {
		f.Add([]byte(`{"type":"ocr:id_front","tenant":"acme","payload":` + s + `}`))
	}
	for _, s := range []string{``, `{`, `{"type":"nope"}`, `{"type":"ocr:aml","payload":{"idNumber":"1","name":"x"}}`,
		`{"type":"ocr:aml","tenant":"a","payload":{"tenant":"b","idNumber":"1","name":"x"}}`,
		`{"type":"ocr:aml","tenant":"a","queue":"{q}","id":"x y","payload":{"idNumber":"1","name":"x"}}`,
		"\xef\xbb\xbf{\"type\":\"ocr:aml\",\"tenant\":\"a\",\"payload\":{\"idNumber\":\"1\",\"name\":\"x\"}}\r",
		`{"type":"ocr:aml","tenant":"a","payload":{"idNumber":"1","name":"x"},"extra":true}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseLine(b)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("rejection %v (%T) is not a *ValidationError", err, err)
			}
			return
		}
		if _, ok := Lookup(l.Type); !ok {
			t.Fatalf("accepted unknown type %q", l.Type)
		}
		if strings.TrimSpace(l.Tenant) == "" || l.Tenant != l.Payload.Tenant {
			t.Fatalf("accepted line with tenant %q, payload tenant %q", l.Tenant, l.Payload.Tenant)
		}
	})
}
