package deadletter

import (
	"encoding/json"
	"testing"
)

func TestRedactSecrets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		in   string
		want string
	}{
		{"no secret kept byte for byte", `{ "b":1,  "a":"x" }`, `{ "b":1,  "a":"x" }`},
		{"hint but no secret key", `{"otpRequestId":"r","tokenType":"x"}`, `{"otpRequestId":"r","tokenType":"x"}`},
		{"password", `{"password":"p","user":"u"}`, `{"password":"[REDACTED]","user":"u"}`},
		{"any casing and separators", `{"Api-Key":"k","ACCESS_TOKEN":"a","refreshToken":"r"}`,
			`{"ACCESS_TOKEN":"[REDACTED]","Api-Key":"[REDACTED]","refreshToken":"[REDACTED]"}`},
		{"nested and in arrays", `{"a":[{"otpCode":"123456"}],"n":12345678901234567890}`,
			`{"a":[{"otpCode":"[REDACTED]"}],"n":12345678901234567890}`},
		{"null and empty left alone", `{"password":null,"token":""}`, `{"password":null,"token":""}`},
		{"JSON string body", `"apikey: secret in text"`, `"apikey: secret in text"`},
		{"no HTML escaping", `{"token":"t","m":"<a&b>"}`, `{"m":"<a&b>","token":"[REDACTED]"}`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got := string(redactSecrets(json.RawMessage(tt.in)))
			if got != tt.want {
				t.Errorf("redactSecrets(%s) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}
