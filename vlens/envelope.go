package vlens

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vlensq/vlensq/internal/jsonscan"
)

// Reasons a body is not an envelope. DecodeEnvelope's error wraps exactly one
// of them (errors.Is); [Table.Classify] turns them into the verdict's Reason.
var (
	ErrEmptyBody     = errors.New("empty body")
	ErrBodyNotJSON   = errors.New("body is not JSON")
	ErrBodyTruncated = errors.New("body is truncated JSON")
	ErrBodyNotObject = errors.New("body is JSON but not an object")
)

// DecodeError is returned by DecodeEnvelope. Its text names the problem and
// a byte offset, never the body's content (which may hold personal data).
type DecodeError struct {
	// Kind is ErrEmptyBody, ErrBodyNotJSON, ErrBodyTruncated or
	// ErrBodyNotObject.
	Kind error
	// Detail says more, e.g. "at byte 0" or "got array"; may be empty.
	Detail string
	// Size is the body length in bytes.
	Size int
}

func (e *DecodeError) Error() string {
	msg := "vlens: decode envelope: " + e.Kind.Error()
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg
}

// Unwrap returns Kind, so errors.Is(err, ErrBodyNotJSON) works.
func (e *DecodeError) Unwrap() error { return e.Kind }

// Bounds that keep a hostile or broken body from producing huge envelopes.
// The raw body is kept by the caller; these only bound the decoded summary.
const (
	maxTextBytes     = 1000 // one message or description line
	maxDescriptions  = 50   // lines in Envelope.Descriptions
	maxFieldErrors   = 100  // entries in Services.ValidationErrors
	maxCodedTexts    = 20   // errors inside one FieldError
	maxCodeTextBytes = 64   // Envelope.ErrorCodeText
)

// DecodeEnvelope decodes a response body defensively. It returns (nil, error)
// when the body is empty, not JSON (HTML gateway pages), truncated, or JSON
// that is not an object; the error is a *DecodeError.
//
// Keys are picked by hand, not by encoding/json (which matches keys
// case-insensitively and lets the last duplicate win). Every key is compared
// in a normalised form (lower case, without '_', '-' and spaces), so
// "Services", "validationErrors" and "Validation_Errors" are all found. When
// several keys match, the exact spelling comes first, then the others in
// document order; a scalar takes the first non-null value, and the services
// blocks are merged so that a failing check in any of them is seen.
//
// error_code may be null, an integer, a float with no fraction (3011.0) or a
// numeric string ("3011"); any other value leaves ErrorCode nil and sets
// ErrorCodeText, which Classify treats as an unknown code.
// error_descriptions may be an array of {field, message}, an array of strings,
// an object of field → message or field → [messages], or null; its readable
// lines land in Descriptions. The decoded summary is size-bounded; encoding/json
// bounds the nesting depth.
func DecodeEnvelope(body []byte) (*Envelope, error) {
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")))
	if len(trimmed) == 0 {
		return nil, &DecodeError{Kind: ErrEmptyBody, Size: len(body)}
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		var syn *json.SyntaxError
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, &DecodeError{Kind: ErrBodyTruncated, Detail: fmt.Sprintf("ends at byte %d", len(body)), Size: len(body)}
		case errors.As(err, &syn):
			return nil, &DecodeError{Kind: ErrBodyNotJSON, Detail: fmt.Sprintf("at byte %d", syn.Offset), Size: len(body)}
		default:
			return nil, &DecodeError{Kind: ErrBodyNotJSON, Size: len(body)}
		}
	}
	if off := dec.InputOffset(); off < int64(len(trimmed)) {
		return nil, &DecodeError{Kind: ErrBodyNotJSON, Detail: fmt.Sprintf("trailing data after byte %d", off), Size: len(body)}
	}
	if raw[0] != '{' {
		return nil, &DecodeError{Kind: ErrBodyNotObject, Detail: "got " + jsonscan.Kind(raw), Size: len(body)}
	}
	obj := members(raw)

	env := &Envelope{}
	if v := obj.all("data"); len(v) > 0 {
		env.Data = firstNonNull(v)
		if env.Data == nil {
			env.Data = json.RawMessage("null")
		}
	}
	if v := obj.first("error_code"); v != nil {
		code, ok := parseInt(v)
		switch {
		case ok:
			env.ErrorCode = &code
		case !isFalsy(v):
			env.ErrorCodeText = clip(compactText(v), maxCodeTextBytes)
		}
	}
	env.ErrorMessage = clip(text(obj.first("error_message")), maxTextBytes)
	if v := obj.first("error_descriptions"); v != nil {
		env.ErrorDescriptions = v
		env.Descriptions = descriptionLines(v)
	}
	services := obj.all("services")
	for _, v := range services {
		env.Services = mergeServices(env.Services, parseServices(v))
	}
	env.ServicesRaw = firstNonNull(services)
	if v := obj.first("totalCount"); v != nil {
		if n, ok := parseInt(v); ok {
			env.TotalCount = &n
		}
	}
	if v := obj.first("returnedCount"); v != nil {
		if n, ok := parseInt(v); ok {
			env.ReturnedCount = &n
		}
	}
	return env, nil
}

// member is one "key": value pair of a JSON object, in document order.
type member struct {
	key  string
	norm string // normKey(key)
	val  json.RawMessage
}

// object is a JSON object's members in document order, duplicates kept.
type object []member

// members returns the members of raw when it is a JSON object (non-nil, also
// when empty), else nil. raw must be valid JSON (DecodeEnvelope and Redact
// check it once); the values are sub-slices of raw, without surrounding
// space. It scans instead of using encoding/json's Decoder, which checks
// every value again and was the largest cost of decoding an envelope.
func members(raw json.RawMessage) object {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	obj := object{}
	for i := jsonscan.SkipSpace(raw, 1); i < len(raw) && raw[i] == '"'; {
		end := jsonscan.SkipString(raw, i)
		key := unquoteKey(raw[i:end])
		if i = jsonscan.SkipSpace(raw, end); i >= len(raw) || raw[i] != ':' {
			return obj
		}
		i = jsonscan.SkipSpace(raw, i+1)
		vend := jsonscan.SkipValue(raw, i)
		obj = append(obj, member{key: key, norm: normKey(key), val: raw[i:vend]})
		if i = jsonscan.SkipSpace(raw, vend); i < len(raw) && raw[i] == ',' {
			i = jsonscan.SkipSpace(raw, i+1)
		}
	}
	return obj
}

// elements returns the elements of raw when it is a JSON array, else nil.
// raw must be valid JSON; the elements are sub-slices of raw.
func elements(raw json.RawMessage) []json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '[' {
		return nil
	}
	var out []json.RawMessage
	for i := jsonscan.SkipSpace(raw, 1); i < len(raw) && raw[i] != ']'; {
		end := jsonscan.SkipValue(raw, i)
		out = append(out, raw[i:end])
		if i = jsonscan.SkipSpace(raw, end); i < len(raw) && raw[i] == ',' {
			i = jsonscan.SkipSpace(raw, i+1)
		}
	}
	return out
}

// unquoteKey decodes a JSON string as encoding/json would (escapes, and
// invalid UTF-8 replaced), without a decoder for the usual plain key.
func unquoteKey(q []byte) string {
	if len(q) >= 2 {
		in := q[1 : len(q)-1]
		if bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
			return string(in)
		}
	}
	var s string
	_ = json.Unmarshal(q, &s)
	return s
}

// normKey folds a key for comparison: ASCII lower case without '_', '-',
// '.' and spaces, so "Validation_Errors" and "validationErrors" compare equal.
func normKey(k string) string {
	var b strings.Builder
	b.Grow(len(k))
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '_' || c == '-' || c == ' ' || c == '.':
		case 'A' <= c && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// all returns the values whose key matches name in normalised form: members
// spelt exactly name first, then the other spellings, each in document
// order.
func (o object) all(name string) []json.RawMessage {
	var exact, other []json.RawMessage
	want := normKey(name)
	for _, m := range o {
		switch {
		case m.key == name:
			exact = append(exact, m.val)
		case m.norm == want:
			other = append(other, m.val)
		}
	}
	return append(exact, other...)
}

// first returns the first non-null value of all(names[i]), trying each name
// in turn; nil when there is none.
func (o object) first(names ...string) json.RawMessage {
	for _, n := range names {
		if v := firstNonNull(o.all(n)); v != nil {
			return v
		}
	}
	return nil
}

func firstNonNull(vals []json.RawMessage) json.RawMessage {
	for _, v := range vals {
		if !isNull(v) {
			return v
		}
	}
	return nil
}

func isNull(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) == 0 || string(v) == "null"
}

// isFalsy reports values that mean "no code": false and "".
func isFalsy(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return string(v) == "false" || string(v) == `""`
}

// parseInt reads an integer sent as a number (3011, 3011.0, 3.011e3) or as
// a numeric string ("3011", " 3011 "). It refuses fractions and values
// outside the int32 range.
func parseInt(v json.RawMessage) (int, bool) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return 0, false
	}
	s := string(v)
	if v[0] == '"' {
		if err := json.Unmarshal(v, &s); err != nil {
			return 0, false
		}
		s = strings.TrimSpace(s)
	} else if jsonscan.Kind(v) != "number" {
		return 0, false
	}
	if n, err := strconv.ParseInt(s, 10, 32); err == nil {
		return int(n), true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || f < math.MinInt32 || f > math.MaxInt32 {
		return 0, false
	}
	return int(f), true
}

// parseBool reads true/false sent as a boolean, a string ("true", "False")
// or a number (1, 0). Anything else is nil.
func parseBool(v json.RawMessage) *bool {
	v = bytes.TrimSpace(v)
	var b bool
	switch jsonscan.Kind(v) {
	case "boolean":
		b = string(v) == "true"
	case "string":
		var s string
		if json.Unmarshal(v, &s) != nil {
			return nil
		}
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "yes", "1":
			b = true
		case "false", "no", "0":
			b = false
		default:
			return nil
		}
	case "number":
		switch string(v) {
		case "1":
			b = true
		case "0":
			b = false
		default:
			return nil
		}
	default:
		return nil
	}
	return &b
}

// text returns a string value as is and any other non-null value as compact
// JSON; "" for null.
func text(v json.RawMessage) string {
	if isNull(v) {
		return ""
	}
	if v = bytes.TrimSpace(v); jsonscan.Kind(v) == "string" {
		return strings.TrimSpace(unquote(v))
	}
	return compactText(v)
}

func compactText(v json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return ""
	}
	return b.String()
}

// clip cuts s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// descriptionLines turns error_descriptions into readable lines such as
// "image: image is required".
func descriptionLines(v json.RawMessage) []string {
	var lines []string
	more := 0
	add := func(field, msg string) {
		msg = strings.TrimSpace(msg)
		if msg == "" {
			return
		}
		if len(lines) >= maxDescriptions {
			more++
			return
		}
		if field != "" {
			msg = field + ": " + msg
		}
		lines = append(lines, clip(msg, maxTextBytes))
	}
	var walk func(field string, v json.RawMessage, depth int)
	walk = func(field string, v json.RawMessage, depth int) {
		if len(lines) >= maxDescriptions {
			more++ // counted, not parsed
			return
		}
		if depth > 3 {
			add(field, compactText(v))
			return
		}
		switch jsonscan.Kind(v) {
		case "null":
		case "string", "number", "boolean":
			add(field, text(v))
		case "array":
			for _, e := range elements(v) {
				walk(field, e, depth+1)
			}
		case "object":
			obj := members(v)
			if fe, ok := fieldErrorOf(obj); ok {
				f := cmp.Or(fe.Field, field)
				for _, m := range fe.messages() {
					add(f, m)
				}
				return
			}
			for _, m := range obj {
				walk(m.key, m.val, depth+1)
			}
		}
	}
	walk("", v, 0)
	if more > 0 {
		lines = append(lines, fmt.Sprintf("(%d more)", more))
	}
	return lines
}

// fieldErrorOf reads an object shaped like a field error: it names a field
// ("field", "key", "property", "propertyName", "memberNames") and/or carries
// a message ("message", "msg", "error", "errorMessage", "description") or
// coded errors ("errors": [{code, message}], or a code of its own). ok is
// false when the object has none of these.
func fieldErrorOf(obj object) (FieldError, bool) {
	var fe FieldError
	found := false
	if v := obj.first("field", "key", "property", "propertyName", "memberNames"); v != nil {
		found = true
		if jsonscan.Kind(v) == "array" {
			var names []string
			for _, e := range elements(v) {
				names = append(names, text(e))
			}
			fe.Field = strings.Join(names, ", ")
		} else {
			fe.Field = text(v)
		}
		fe.Field = clip(fe.Field, maxTextBytes)
	}
	if v := obj.first("message", "msg", "errorMessage", "error", "description", "detail"); v != nil {
		found = true
		fe.Message = clip(text(v), maxTextBytes)
	}
	if v := obj.first("code", "error_code"); v != nil {
		if code, ok := parseInt(v); ok {
			found = true
			fe.Errors = append(fe.Errors, CodedText{Code: code})
		}
	}
	if v := obj.first("errors", "messages"); v != nil {
		found = true
		fe.Errors = append(fe.Errors, codedTexts(v)...)
	}
	return fe, found
}

// messages lists the readable messages of a field error.
func (fe FieldError) messages() []string {
	var out []string
	if fe.Message != "" {
		out = append(out, fe.Message)
	}
	for _, e := range fe.Errors {
		switch {
		case e.Message != "" && e.Code != 0:
			out = append(out, fmt.Sprintf("%s (code %d)", e.Message, e.Code))
		case e.Message != "":
			out = append(out, e.Message)
		case e.Code != 0 && fe.Message == "":
			out = append(out, fmt.Sprintf("code %d", e.Code))
		}
	}
	return out
}

// codedTexts reads [{code, message}], ["message"], {"code": .., "message": ..}
// or a single string.
func codedTexts(v json.RawMessage) []CodedText {
	var out []CodedText
	one := func(e json.RawMessage) {
		if len(out) >= maxCodedTexts {
			return
		}
		switch jsonscan.Kind(e) {
		case "object":
			obj := members(e)
			var ct CodedText
			if c := obj.first("code", "error_code"); c != nil {
				ct.Code, _ = parseInt(c)
			}
			ct.Message = clip(text(obj.first("message", "msg", "errorMessage", "error", "description")), maxTextBytes)
			if ct.Code != 0 || ct.Message != "" {
				out = append(out, ct)
			}
		case "null":
		case "number":
			if c, ok := parseInt(e); ok {
				out = append(out, CodedText{Code: c})
			}
		default:
			if s := clip(text(e), maxTextBytes); s != "" {
				out = append(out, CodedText{Message: s})
			}
		}
	}
	if jsonscan.Kind(v) == "array" {
		for _, e := range elements(v) {
			one(e)
		}
	} else {
		one(v)
	}
	return out
}

// parseFieldErrors reads services validation errors: an array of
// {field, value, errors: [{code, message}]} (or of strings), or an object of
// field → errors.
func parseFieldErrors(v json.RawMessage) []FieldError {
	var out []FieldError
	add := func(fe FieldError) {
		if len(out) < maxFieldErrors {
			out = append(out, fe)
		}
	}
	switch jsonscan.Kind(v) {
	case "array":
		for _, e := range elements(v) {
			switch jsonscan.Kind(e) {
			case "object":
				if fe, ok := fieldErrorOf(members(e)); ok {
					add(fe)
				}
			case "null":
			default:
				if s := clip(text(e), maxTextBytes); s != "" {
					add(FieldError{Message: s})
				}
			}
		}
	case "object":
		obj := members(v)
		if fe, ok := fieldErrorOf(obj); ok {
			add(fe)
			break
		}
		for _, m := range obj {
			if isNull(m.val) {
				continue
			}
			add(FieldError{Field: clip(m.key, maxTextBytes), Errors: codedTexts(m.val)})
		}
	case "string":
		if s := clip(text(v), maxTextBytes); s != "" {
			add(FieldError{Message: s})
		}
	}
	return out
}

// parseServices reads one services block; nil when v is not an object.
func parseServices(v json.RawMessage) *Services {
	obj := members(v)
	if obj == nil {
		return nil
	}
	s := &Services{}
	for _, val := range obj.all("validations") {
		switch jsonscan.Kind(val) {
		case "object":
			for _, ve := range members(val).all("validation_errors") {
				s.ValidationErrors = append(s.ValidationErrors, parseFieldErrors(ve)...)
			}
		case "array":
			s.ValidationErrors = append(s.ValidationErrors, parseFieldErrors(val)...)
		}
	}
	// Some responses put validation_errors directly under services.
	for _, ve := range obj.all("validation_errors") {
		s.ValidationErrors = append(s.ValidationErrors, parseFieldErrors(ve)...)
	}
	if len(s.ValidationErrors) > maxFieldErrors {
		s.ValidationErrors = s.ValidationErrors[:maxFieldErrors]
	}
	for _, sp := range obj.all("spoofing") {
		s.Fake = failing(s.Fake, parseBool(members(sp).first("fake")), true)
	}
	for _, cl := range obj.all("classification") {
		if s.DocType == "" {
			s.DocType = clip(text(members(cl).first("doc_type")), maxTextBytes)
		}
	}
	for _, lv := range obj.all("liveness") {
		var b *bool
		if jsonscan.Kind(lv) == "object" {
			b = parseBool(members(lv).first("liveness", "isLive", "passed"))
		} else {
			b = parseBool(lv)
		}
		s.Liveness = failing(s.Liveness, b, false)
	}
	for _, aml := range obj.all("AML") {
		if s.AMLMatched == nil {
			s.AMLMatched = parseBool(members(aml).first("AML_matched", "matched"))
		}
	}
	for _, src := range obj.all("SRC") {
		s.SRC = mergeSRC(s.SRC, parseSRC(src))
	}
	return s
}

func parseSRC(v json.RawMessage) *SRCCheck {
	obj := members(v)
	if obj == nil {
		return nil
	}
	c := &SRCCheck{IsValid: parseBool(obj.first("isValid"))}
	if v := obj.first("errorCode"); v != nil {
		if n, ok := parseInt(v); ok {
			c.ErrorCode = &n
		}
	}
	c.ErrorKey = clip(text(obj.first("errorKey")), maxTextBytes)
	c.ErrorMessage = clip(text(obj.first("errorMessage")), maxTextBytes)
	return c
}

// failing merges two readings of one check: the failing value (bad) wins,
// otherwise the first present value.
func failing(a, b *bool, bad bool) *bool {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case *b == bad:
		return b
	}
	return a
}

func mergeSRC(a, b *SRCCheck) *SRCCheck {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case b.IsValid != nil && !*b.IsValid && (a.IsValid == nil || *a.IsValid):
		return b
	}
	return a
}

// mergeServices combines the blocks found under several spellings of
// "services" so that a failing check in any of them is kept.
func mergeServices(a, b *Services) *Services {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	m := *a
	m.ValidationErrors = append(append([]FieldError(nil), a.ValidationErrors...), b.ValidationErrors...)
	if len(m.ValidationErrors) > maxFieldErrors {
		m.ValidationErrors = m.ValidationErrors[:maxFieldErrors]
	}
	m.Fake = failing(a.Fake, b.Fake, true)
	m.Liveness = failing(a.Liveness, b.Liveness, false)
	m.DocType = cmp.Or(a.DocType, b.DocType)
	if m.AMLMatched == nil {
		m.AMLMatched = b.AMLMatched
	}
	m.SRC = mergeSRC(a.SRC, b.SRC)
	return &m
}

// FirstCode returns the first non-zero code among the validation errors, or
// 0 when there is none.
func (s *Services) FirstCode() int {
	if s == nil {
		return 0
	}
	for _, fe := range s.ValidationErrors {
		for _, e := range fe.Errors {
			if e.Code != 0 {
				return e.Code
			}
		}
	}
	return 0
}
