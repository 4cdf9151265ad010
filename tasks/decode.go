package tasks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/vlensq/vlensq/internal/jsonscan"
)

// DecodePayload strictly decodes an asynq task payload (the handler side).
// Unknown members, wrong JSON types and invalid UTF-8 are *ValidationError
// naming the field ("payload.image.blob: unknown field"). It does not run
// Validate: the handler knows the task type and calls it.
func DecodePayload(b []byte) (*Payload, error) {
	if err := checkUTF8(b); err != nil {
		return nil, withPrefix("payload", err)
	}
	if err := checkJSON(b); err != nil {
		return nil, withPrefix("payload", err)
	}
	p := new(Payload)
	if err := p.decodeRaw(b); err != nil {
		return nil, withPrefix("payload", err)
	}
	return p, nil
}

// checkUTF8 reports the offset of the first invalid UTF-8 byte. encoding/json
// would silently replace it with U+FFFD and change the data.
func checkUTF8(b []byte) error {
	if utf8.Valid(b) {
		return nil
	}
	off := 0
	for off < len(b) {
		r, n := utf8.DecodeRune(b[off:])
		if r == utf8.RuneError && n <= 1 {
			break
		}
		off += n
	}
	return &ValidationError{Problem: fmt.Sprintf("not valid UTF-8 (at byte %d)", off)}
}

// checkJSON reports a JSON syntax error in b. It is the one full syntax
// pass over an input: the decoding below relies on it and only splits.
func checkJSON(b []byte) error {
	if json.Valid(b) {
		return nil
	}
	// Only reached for invalid input, where Unmarshal stops at the syntax
	// check and says where.
	err := json.Unmarshal(b, &struct{}{})
	return &ValidationError{Problem: syntaxProblem(err)}
}

// rawDecoder is implemented by the strictly decoded types. decodeRaw may
// assume that b is valid JSON (checkJSON or encoding/json checked it), so
// large inputs are scanned once, not once per nesting level.
type rawDecoder interface{ decodeRaw(b []byte) error }

// describer lets a type name itself in decode errors ("must be <describeJSON>").
type describer interface{ describeJSON() string }

// decodeStrict decodes the JSON object b (valid JSON) into the struct v
// points to, member by member, matching json tag names exactly. Unknown
// members, and required members that are absent or null, are errors. Errors
// are *ValidationError whose Field is relative to v ("image.blob"), so
// callers can prefix it.
func decodeStrict(b []byte, v any, required ...string) error {
	b = bytes.TrimSpace(b)
	if k := jsonscan.Kind(b); k != "object" {
		return &ValidationError{Problem: "must be a JSON object, got " + k}
	}
	members, err := splitObject(b)
	if err != nil {
		return err
	}
	rv := reflect.ValueOf(v).Elem()
	fields := fieldsOf(rv.Type())
	var unknown []string
	for k := range members {
		if _, ok := fields.index[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return &ValidationError{Field: unknown[0], Problem: fields.unknownProblem(unknown[0])}
	}
	for _, name := range required {
		if raw, ok := members[name]; !ok || jsonscan.Kind(raw) == "null" {
			return &ValidationError{Field: name, Problem: "required"}
		}
	}
	for _, f := range fields.list {
		raw, ok := members[f.name]
		if !ok {
			continue
		}
		fv := rv.Field(f.index)
		if jsonscan.Kind(raw) == "null" {
			fv.SetZero()
			continue
		}
		if err := decodeValue(raw, fv); err != nil {
			var ve *ValidationError
			if errors.As(err, &ve) {
				return withPrefix(f.name, ve)
			}
			return &ValidationError{Field: f.name, Problem: "must be " + describe(fv.Type()) + ", got " + jsonscan.Kind(raw)}
		}
	}
	return nil
}

var (
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	numberType     = reflect.TypeFor[json.Number]()
)

// decodeValue decodes raw (valid JSON, not null) into fv. Maps and
// interfaces keep numbers as json.Number so that large integers pass through
// exactly. Strings without escapes are taken as they are, so a 50 MB base64
// image is not scanned again.
func decodeValue(raw []byte, fv reflect.Value) error {
	if fv.Kind() == reflect.Pointer {
		nv := reflect.New(fv.Type().Elem())
		if rd, ok := nv.Interface().(rawDecoder); ok {
			if err := rd.decodeRaw(raw); err != nil {
				return err
			}
			fv.Set(nv)
			return nil
		}
	}
	if rd, ok := fv.Addr().Interface().(rawDecoder); ok {
		return rd.decodeRaw(raw)
	}
	switch {
	case fv.Type() == rawMessageType:
		fv.SetBytes(bytes.Clone(raw))
		return nil
	case fv.Kind() == reflect.String && fv.Type() != numberType:
		s, err := jsonString(raw)
		if err != nil {
			return err
		}
		fv.SetString(s)
		return nil
	case fv.Kind() == reflect.Map || fv.Kind() == reflect.Interface:
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		return d.Decode(fv.Addr().Interface())
	}
	return json.Unmarshal(raw, fv.Addr().Interface())
}

// jsonString decodes raw, a valid JSON value, as a string. A string without
// escapes is copied as it is (valid JSON has no raw control characters).
func jsonString(raw []byte) (string, error) {
	if jsonscan.Kind(raw) != "string" {
		return "", errNotString
	}
	raw = bytes.TrimSpace(raw)
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

var errNotString = errors.New("not a JSON string")

// splitObject returns the members of b, a valid JSON object, by name; the
// last of duplicate names wins. It only finds the value boundaries: strings
// are skipped with bytes.IndexByte, so a huge string costs little.
func splitObject(b []byte) (map[string]json.RawMessage, error) {
	members := map[string]json.RawMessage{}
	i := jsonscan.SkipSpace(b, 1) // past '{'
	for i < len(b) && b[i] != '}' {
		if b[i] != '"' {
			return nil, &ValidationError{Problem: fmt.Sprintf("malformed JSON (at byte %d)", i)}
		}
		end := jsonscan.SkipString(b, i)
		key, err := jsonString(b[i:end])
		if err != nil {
			return nil, &ValidationError{Problem: syntaxProblem(err)}
		}
		i = jsonscan.SkipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return nil, &ValidationError{Problem: fmt.Sprintf("malformed JSON (at byte %d)", i)}
		}
		i = jsonscan.SkipSpace(b, i+1)
		end = jsonscan.SkipValue(b, i)
		members[key] = b[i:end]
		i = jsonscan.SkipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = jsonscan.SkipSpace(b, i+1)
		}
	}
	return members, nil
}

// describe names the JSON a Go type expects, for error messages.
func describe(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if d, ok := reflect.Zero(t).Interface().(describer); ok {
		return d.describeJSON()
	}
	if t == reflect.TypeFor[json.Number]() {
		return "a number"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}

// syntaxProblem describes a JSON syntax error in one line.
func syntaxProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("malformed JSON: %s (at byte %d)", se.Error(), se.Offset)
	}
	return "malformed JSON"
}

// withPrefix returns err with its Field placed under prefix when err is a
// *ValidationError; other errors are returned unchanged.
func withPrefix(prefix string, err error) error {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	return &ValidationError{Field: joinField(prefix, ve.Field), Problem: ve.Problem}
}

func joinField(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "":
		return prefix
	}
	return prefix + "." + field
}

// structFields is the json member table of a struct type.
type structFields struct {
	list  []structField
	index map[string]int
}

type structField struct {
	name  string
	index int
}

// unknownProblem explains an unknown member, suggesting the known member it
// most likely meant ("face1" -> "face_1", "Image" -> "image").
func (s structFields) unknownProblem(name string) string {
	want := looseName(name)
	for _, f := range s.list {
		if looseName(f.name) == want {
			return fmt.Sprintf("unknown field; did you mean %q?", f.name)
		}
	}
	return "unknown field"
}

func looseName(s string) string {
	return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(s))
}

var fieldCache sync.Map // reflect.Type -> structFields

func fieldsOf(t reflect.Type) structFields {
	if v, ok := fieldCache.Load(t); ok {
		return v.(structFields)
	}
	s := structFields{index: map[string]int{}}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		s.list = append(s.list, structField{name: name, index: i})
		s.index[name] = i
	}
	fieldCache.Store(t, s)
	return s
}
