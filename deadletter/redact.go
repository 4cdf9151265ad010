package deadletter

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Redacted replaces the value of a secret-named field.
const Redacted = "[REDACTED]"

// secretKeys are field names (lower case, without '_' and '-') whose values
// are secrets. The caller redacts images and personal data before Add; this
// is the store's own second line of defence for credentials.
var secretKeys = map[string]bool{
	"apikey": true, "password": true, "otp": true, "otpcode": true,
	"accesstoken": true, "refreshtoken": true, "newrefreshtoken": true,
	"encryptedaccesstoken": true, "authorization": true, "token": true,
	"secret": true, "clientsecret": true,
}

// secretHints are cheap substrings: a body containing none of them has no
// secret-named field and is kept byte for byte.
var secretHints = [][]byte{[]byte("key"), []byte("password"), []byte("otp"), []byte("token"), []byte("auth"), []byte("secret")}

var keySeparators = strings.NewReplacer("_", "", "-", "")

func isSecretKey(k string) bool {
	return secretKeys[keySeparators.Replace(strings.ToLower(k))]
}

// redactSecrets returns b with the values of secret-named object fields
// (at any depth) replaced by Redacted. When nothing is replaced b is
// returned unchanged, so a response keeps its bytes as received.
func redactSecrets(b json.RawMessage) json.RawMessage {
	lower := bytes.ToLower(b)
	hit := false
	for _, h := range secretHints {
		if bytes.Contains(lower, h) {
			hit = true
			break
		}
	}
	if !hit {
		return b
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return b
	}
	if !redactValue(v) {
		return b
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return b
	}
	return bytes.TrimRight(out.Bytes(), "\n")
}

func redactValue(v any) bool {
	changed := false
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if isSecretKey(k) {
				if s, ok := val.(string); ok && (s == "" || s == Redacted) {
					continue
				}
				if val == nil {
					continue
				}
				x[k] = Redacted
				changed = true
				continue
			}
			if redactValue(val) {
				changed = true
			}
		}
	case []any:
		for _, e := range x {
			if redactValue(e) {
				changed = true
			}
		}
	}
	return changed
}
