package vlenstest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image"
	_ "image/jpeg" // image.DecodeConfig for the 25 megapixel check
	_ "image/png"
	"io"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Image limits, from api.md: 5002 "image > 5 MB", 5003 "> 25 megapixels",
// liveness frames "< 500 KB each".
const (
	ImageMaxBytes = 5 << 20
	FrameMaxBytes = 500 << 10
	MaxPixels     = 25_000_000
)

// readBody checks the Content-Type, reads the body (bounded) and decodes it
// as a JSON object.
func (f *Fake) readBody(c *call) *response {
	mt, _, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return failure(http.StatusUnsupportedMediaType, 0, "Content-Type must be application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, f.opts.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return failure(http.StatusRequestEntityTooLarge, 0, "Request body too large")
		}
		return failure(http.StatusBadRequest, 0, "Could not read the request body")
	}
	fields, err := decodeObject(body)
	if err != nil {
		return validationFailure(description{Field: "body", Message: "the request body must be a JSON object"})
	}
	c.body, c.fields = body, fields
	c.rec.IDs = idsOf(fields)
	return nil
}

// idsOf returns the ids of a decoded body as JSON text.
func idsOf(fields map[string]any) BodyIDs {
	text := func(k string) string {
		v, ok := fields[k]
		if !ok {
			return ""
		}
		b, _ := json.Marshal(v) // a json.Number stays bare, a string quoted
		return string(b)
	}
	return BodyIDs{
		RequestID: text("requestId"), OTPRequestID: text("otpRequestId"),
		TransactionID: text("transaction_id"), VerifyRequestID: text("request_id"),
	}
}

func decodeObject(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("null body")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return m, nil
}

// lookup finds key in m the way ASP.NET model binding does: exact name
// first, then case-insensitively (in key order, so the result is stable).
func lookup(m map[string]any, key string) (any, bool) {
	if m == nil {
		return nil, false
	}
	if v, ok := m[key]; ok {
		return v, true
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if strings.EqualFold(k, key) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, false
	}
	sort.Strings(keys)
	return m[keys[0]], true
}

// stringField returns m[key] when it is a string.
func stringField(m map[string]any, key string) (string, bool) {
	v, ok := lookup(m, key)
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	return s, ok
}

// checker collects field errors for one error_descriptions answer.
type checker struct {
	prefix string // for nested fields, e.g. "scanTransaction."
	descs  []description
}

func (ck *checker) add(field, msg string) {
	ck.descs = append(ck.descs, description{Field: field, Message: msg})
}

// failed returns the validation answer when a check failed.
func (ck *checker) failed() *response {
	if len(ck.descs) == 0 {
		return nil
	}
	return validationFailure(ck.descs...)
}

func (ck *checker) requireString(m map[string]any, key string) string {
	name := ck.prefix + key
	v, ok := lookup(m, key)
	if !ok || v == nil {
		ck.add(name, name+" is required")
		return ""
	}
	s, ok := v.(string)
	switch {
	case !ok:
		ck.add(name, name+" must be a string")
	case strings.TrimSpace(s) == "":
		ck.add(name, name+" is required")
	}
	return s
}

// optionalString returns the string at key; absent and null give "".
func (ck *checker) optionalString(m map[string]any, key string) string {
	name := ck.prefix + key
	v, ok := lookup(m, key)
	if !ok || v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		ck.add(name, name+" must be a string or null")
	}
	return s
}

// optionalBool returns the boolean at key, def when absent or null.
func (ck *checker) optionalBool(m map[string]any, key string, def bool) bool {
	name := ck.prefix + key
	v, ok := lookup(m, key)
	if !ok || v == nil {
		return def
	}
	b, ok := v.(bool)
	if !ok {
		ck.add(name, name+" must be true or false")
		return def
	}
	return b
}

func (ck *checker) requireObject(m map[string]any, key string) map[string]any {
	name := ck.prefix + key
	v, ok := lookup(m, key)
	if !ok || v == nil {
		ck.add(name, name+" is required")
		return nil
	}
	o, ok := v.(map[string]any)
	if !ok {
		ck.add(name, name+" must be an object")
	}
	return o
}

// requireID returns an id sent as a whole number or a string.
func (ck *checker) requireID(m map[string]any, key string) string {
	name := ck.prefix + key
	v, ok := lookup(m, key)
	if !ok || v == nil {
		ck.add(name, name+" is required")
		return ""
	}
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil && n > 0 {
			return strconv.FormatInt(n, 10)
		}
	case string:
		if s := strings.TrimSpace(x); s != "" {
			return s
		}
	}
	ck.add(name, name+" must be an id")
	return ""
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

// geoPoint is a geoLocation {latitude, longitude}.
type geoPoint struct{ lat, lon float64 }

func (ck *checker) requireGeo(m map[string]any, key string) *geoPoint {
	o := ck.requireObject(m, key)
	if o == nil {
		return nil
	}
	name := ck.prefix + key
	lat, okLat := lookup(o, "latitude")
	lon, okLon := lookup(o, "longitude")
	la, okA := number(lat)
	lo, okO := number(lon)
	switch {
	case !okLat || !okA || la < -90 || la > 90:
		ck.add(name+".latitude", name+".latitude must be a number from -90 to 90")
	case !okLon || !okO || lo < -180 || lo > 180:
		ck.add(name+".longitude", name+".longitude must be a number from -180 to 180")
	default:
		return &geoPoint{lat: la, lon: lo}
	}
	return nil
}

// deviceTimeLayouts are the date-time forms userDeviceUtcTime accepts.
var deviceTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05"}

func (ck *checker) requireTime(m map[string]any, key string) {
	name := ck.prefix + key
	s := ck.requireString(m, key)
	if s == "" {
		return
	}
	for _, layout := range deviceTimeLayouts {
		if _, err := time.Parse(layout, s); err == nil {
			return
		}
	}
	ck.add(name, name+" must be a date-time such as 2025-01-31T10:00:00Z")
}

// checkImage decodes a base64 image field and applies Vlens's checks: bad
// base64 → 400; not JPEG or PNG → 415; over 5 MB → 5002; over 25
// megapixels → 5003 (both HTTP 422); frameMax > 0 bounds a liveness frame
// (400).
func checkImage(field, b64 string, frameMax int) ([]byte, *response) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(b64)
	}
	if err != nil {
		return nil, validationFailure(description{Field: field, Message: field + " is not valid base64"})
	}
	if !isJPEG(raw) && !isPNG(raw) {
		r := failure(http.StatusUnsupportedMediaType, 0, "Unsupported image type")
		r.env.ErrorDescriptions = []description{{Field: field, Message: field + " must be a JPEG or PNG image"}}
		return nil, r
	}
	if len(raw) > ImageMaxBytes {
		return nil, codeFailure(http.StatusUnprocessableEntity, 5002)
	}
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(raw)); err == nil && int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, codeFailure(http.StatusUnprocessableEntity, 5003)
	}
	if frameMax > 0 && len(raw) > frameMax {
		return nil, validationFailure(description{Field: field, Message: field + " must be at most 500 KB"})
	}
	return raw, nil
}

func isJPEG(b []byte) bool { return len(b) >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF }

func isPNG(b []byte) bool { return bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) }

// isUUID reports whether s looks like a UUID (8-4-4-4-12 hex digits).
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}
