package handlers

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vlensq/vlensq/vlens"
)

// The stored result is the envelope's data and services as sent (any key
// spelling), images stripped, extracted fields kept; the same whether the
// caller passes the decoded envelope or only the body (a journalled
// answer replayed after a crash).
func TestResultOf(t *testing.T) {
	img := strings.Repeat("QUJD", 200)
	tests := []struct {
		desc, body, want string
	}{
		{"data and services",
			`{"data": {"idNumber": "29901011234567", "face": "` + img + `"}, "error_code": null, "Services": {"liveness": true}}`,
			`{"data":{"idNumber":"29901011234567","face":"[redacted 800 B sha256:`},
		{"data only", `{"data": {"amlMatched": false}, "error_code": 0}`, `{"data":{"amlMatched":false}}`},
		{"null data", `{"data": null, "services": {"x": 1}}`, `{"data":null,"services":{"x":1}}`},
		{"neither", `{"error_code": null}`, `{}`},
		{"not an envelope", `<html>`, `null`},
	}
	for _, tt := range tests {
		env, _ := vlens.DecodeEnvelope([]byte(tt.body))
		for _, e := range []*vlens.Envelope{env, nil} {
			got := string(resultOf([]byte(tt.body), e))
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("%s (envelope given: %v): result %s, want %s…", tt.desc, e != nil, got, tt.want)
			}
			if !json.Valid([]byte(got)) || strings.Contains(got, img) {
				t.Errorf("%s: result %s is not valid JSON or keeps the image", tt.desc, got)
			}
		}
	}
	got := string(resultOf([]byte(`{"data":{"a":1},"Services":{"liveness":true}}`), nil))
	if got != `{"data":{"a":1},"services":{"liveness":true}}` {
		t.Errorf("services under another spelling: %s", got)
	}
}
