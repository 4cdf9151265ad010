package vlens

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// Seed bodies shared by the fuzz targets (the committed corpus under
// testdata/fuzz/ adds more).
var fuzzSeeds = []string{
	``,
	`<html><body>502 Bad Gateway</body></html>`,
	`{"data": null, "error_code": null, "error_message": null, "error_descriptions": null}`,
	`{"data": {"id": 1}, "error_code": 0}`,
	`{"data": null, "error_code": 3011, "error_message": "card not detected"}`,
	`{"data": null, "error_code": "4003", "error_message": "Too many trials"}`,
	`{"data": null, "error_code": 3011.0}`,
	`{"data": null, "error_code": 1050, "error_message": "Image quality too low for OCR extraction"}`,
	`{"data": {"isVerificationProcessCompleted": false}, "error_code": null, "Services": {"Validations": {"Validation_Errors": [{"field": "image", "value": "x", "errors": [{"code": 3011, "message": "card not detected"}]}]}}}`,
	`{"data": {}, "services": {"spoofing": {"fake": true}, "liveness": false, "AML": {"AML_matched": true}, "SRC": {"isValid": false, "errorCode": 1}}}`,
	`{"error_code": null, "error_message": "Validation failed", "error_descriptions": {"image": ["is required"], "otpCode": "Invalid OTP"}}`,
	`{"error_code": null, "error_descriptions": [{"field": "image", "message": "image is required"}, "x", 1, null]}`,
	`{"error_code": 400, "error_message": "Validation failed"}`,
	`{"error_code": null, "Error_Code": 3010, "services": {}, "Services": null}`,
	`{"data": {"image": "` + strings.Repeat("QUJD", 80) + `", "idNumber": "29901011234567", "name": "x"}, "totalCount": 1}`,
	`{"tenant": "acme", "geoLocation": {"latitude": 30.1, "longitude": 31.2}, "requestFieldsValues": {"salary": 1}, "otpCode": "123456"}`,
	`{"a": [[[[{"b": [{"c": "d"}]}]]]]}`,
	`{"data": {"x": `,
	`[1, 2, 3]`,
	`"just a string"`,
}

// FuzzDecodeClassify: any status and body give exactly one valid class,
// never a panic.
func FuzzDecodeClassify(f *testing.F) {
	for _, s := range fuzzSeeds {
		for _, status := range []int{200, 401, 422, 429, 502} {
			f.Add(status, []byte(s))
		}
	}
	tab := DefaultTable()
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		env, err := DecodeEnvelope(body)
		if (env == nil) == (err == nil) {
			t.Fatalf("DecodeEnvelope returned env=%v err=%v: want exactly one", env, err)
		}
		for _, v := range []Verdict{
			tab.Classify(status, env, err),
			tab.ClassifyEndpoint("/api/BusinessRequest/CustomerSign/StepValidateOtp", status, env, err),
		} {
			if !v.Class.Valid() {
				t.Fatalf("invalid class %q for status %d body %q", v.Class, status, body)
			}
			if v.Class == ClassSuccess {
				if v.Category != CategoryNone || v.Code != 0 {
					t.Fatalf("success with category %q code %d", v.Category, v.Code)
				}
				if err != nil || (status != 0 && (status < 200 || status > 299)) {
					t.Fatalf("success for status %d, decode error %v", status, err)
				}
				continue
			}
			if !v.Category.Valid() || v.Resolution == "" || v.Reason == "" {
				t.Fatalf("failure verdict %+v lacks a valid category, resolution or reason", v)
			}
		}
	})
}

// FuzzRedact: the output of Redact and StripImages is valid JSON, keeps no
// long base64 run anywhere (so no image), and an image planted under any key
// does not survive.
func FuzzRedact(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), "image", []byte("\xff\xd8\xff\xe0 seed image"))
		f.Add([]byte(s), "note", []byte{})
	}
	f.Fuzz(func(t *testing.T, body []byte, key string, img []byte) {
		out := Redact(body)
		checkRedacted(t, body, out)
		checkRedacted(t, body, StripImages(body))

		raw := img
		if len(raw) < 192 { // at least 256 base64 characters
			raw = append(bytes.Repeat([]byte{0x5a}, 192-len(raw)), raw...)
		}
		image := base64.StdEncoding.EncodeToString(raw)
		rest := body
		if !json.Valid(body) {
			rest = quote(string(body))
		}
		doc := []byte(`{` + string(quote(key)) + `:` + string(quote(image)) + `,"rest":` + string(rest) + `}`)
		out = Redact(doc)
		checkRedacted(t, doc, out)
		if bytes.Contains(out, []byte(image)) {
			t.Fatalf("planted image under key %q survived: %.300s", key, out)
		}
		if out := StripImages(doc); bytes.Contains(out, []byte(image)) {
			t.Fatalf("planted image under key %q survived StripImages: %.300s", key, out)
		}
	})
}

func checkRedacted(t *testing.T, in, out []byte) {
	t.Helper()
	if !json.Valid(out) {
		t.Fatalf("Redact(%.200q) = %.200q: not valid JSON", in, out)
	}
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("Redact output does not decode: %v", err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			if hasLongBase64Run(x) {
				t.Fatalf("a long base64 run survived in %.100q (input %.200q)", x, in)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for k, e := range x {
				walk(k)
				walk(e)
			}
		}
	}
	walk(v)
}

// FuzzMembers: the scanning members and elements split every valid JSON
// object and array exactly as encoding/json's Decoder does (the oracle
// below): same keys, same values, same order, duplicates kept.
func FuzzMembers(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(` { "a\u00e9\"b" : [ 1 , {"x":"]}\\"} , "s" ] , "n":-1.5e3,"t":true,"\xff":null } `))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		wantObj, isObj := membersOracle(raw)
		got := members(raw)
		if isObj != (got != nil) {
			t.Fatalf("members(%q) = %v, object %v", raw, got, isObj)
		}
		if len(got) != len(wantObj) {
			t.Fatalf("members(%q): %d members, want %d", raw, len(got), len(wantObj))
		}
		for i, m := range got {
			if w := wantObj[i]; m.key != w.key || m.norm != normKey(w.key) || !bytes.Equal(m.val, w.val) {
				t.Fatalf("members(%q)[%d] = %q:%s, want %q:%s", raw, i, m.key, m.val, w.key, w.val)
			}
		}
		wantArr := elementsOracle(raw)
		gotArr := elements(raw)
		if len(gotArr) != len(wantArr) {
			t.Fatalf("elements(%q) = %q, want %q", raw, gotArr, wantArr)
		}
		for i := range gotArr {
			if !bytes.Equal(gotArr[i], wantArr[i]) {
				t.Fatalf("elements(%q)[%d] = %s, want %s", raw, i, gotArr[i], wantArr[i])
			}
		}
	})
}

// membersOracle splits a JSON object with encoding/json's Decoder.
func membersOracle(raw []byte) (object, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var obj object
	for dec.More() {
		tok, _ := dec.Token()
		key, _ := tok.(string)
		var val json.RawMessage
		_ = dec.Decode(&val)
		obj = append(obj, member{key: key, val: val})
	}
	return obj, true
}

// elementsOracle splits a JSON array with encoding/json's Decoder (nil for
// anything else).
func elementsOracle(raw []byte) []json.RawMessage {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil
	}
	var out []json.RawMessage
	for dec.More() {
		var val json.RawMessage
		_ = dec.Decode(&val)
		out = append(out, val)
	}
	return out
}
