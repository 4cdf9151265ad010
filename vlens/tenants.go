package vlens

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode"
)

// TenantSource looks up a configured tenant by its tenancy name. The Client
// asks it on every call, so an implementation may reload its data.
type TenantSource interface {
	Tenant(name string) (Tenant, bool)
}

// TenantSet is a validated, immutable set of tenants. It implements
// [TenantSource] and is safe for concurrent use.
type TenantSet struct {
	byName map[string]Tenant
	names  []string
}

var _ TenantSource = (*TenantSet)(nil)

// TenantConfigError reports one invalid tenant entry. Its text names the file
// (when loaded from one), the entry index, the tenancy name when known and the
// field; it never contains a secret value.
type TenantConfigError struct {
	// File is the tenants file; empty for [NewTenantSet].
	File string
	// Index is the zero-based position of the entry in the list; -1 when the
	// problem concerns the whole file.
	Index int
	// Name is the entry's tenancy_name, when it has one.
	Name string
	// Field is the JSON field name at fault, e.g. "api_key"; empty when the
	// problem is not one field's.
	Field string
	// Problem says what is wrong, e.g. "is required".
	Problem string
}

func (e *TenantConfigError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	} else {
		b.WriteString("vlens: tenants: ")
	}
	if e.Index >= 0 {
		fmt.Fprintf(&b, "entry %d", e.Index)
		if e.Name != "" {
			fmt.Fprintf(&b, " (%s)", e.Name)
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteByte(' ')
	}
	b.WriteString(e.Problem)
	return b.String()
}

// NewTenantSet validates ts and returns them as a set. Every entry needs
// tenancy_name, api_key, username and password; tenancy names must be unique
// (ignoring case, as Vlens does) and free of spaces, control characters, ':', '{' and '}' (they become Redis
// keys and HTTP headers); rates must not be negative (0 means the default). The
// error is a *[TenantConfigError] naming the entry index and field.
func NewTenantSet(ts ...Tenant) (*TenantSet, error) {
	s := &TenantSet{byName: make(map[string]Tenant, len(ts)), names: make([]string, 0, len(ts))}
	first := make(map[string]int, len(ts))
	for i, t := range ts {
		if err := validateTenant(t); err != nil {
			err.Index = i
			return nil, err
		}
		// Vlens matches tenancy names case-insensitively.
		folded := strings.ToLower(t.Name)
		if j, dup := first[folded]; dup {
			return nil, &TenantConfigError{Index: i, Name: t.Name, Field: "tenancy_name",
				Problem: fmt.Sprintf("duplicates entry %d", j)}
		}
		first[folded] = i
		s.byName[t.Name] = t
		s.names = append(s.names, t.Name)
	}
	return s, nil
}

func validateTenant(t Tenant) *TenantConfigError {
	bad := func(field, problem string) *TenantConfigError {
		return &TenantConfigError{Name: t.Name, Field: field, Problem: problem}
	}
	switch {
	case t.Name == "":
		return bad("tenancy_name", "is required")
	case strings.IndexFunc(t.Name, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == ':' || r == '{' || r == '}'
	}) >= 0:
		return &TenantConfigError{Field: "tenancy_name",
			Problem: fmt.Sprintf("%q must not contain spaces, control characters, ':', '{' or '}'", t.Name)}
	case t.APIKey == "":
		return bad("api_key", "is required")
	case t.Username == "":
		return bad("username", "is required")
	case t.Password == "":
		return bad("password", "is required")
	case t.RatePerSecond < 0:
		return bad("rate_per_second", fmt.Sprintf("must not be negative (got %d; 0 means %d)", t.RatePerSecond, RatePerSecondDefault))
	case t.Weight < 0:
		return bad("weight", fmt.Sprintf("must not be negative (got %d; 0 means %d)", t.Weight, WeightDefault))
	case t.RatePerMinute < 0:
		return bad("rate_per_minute", fmt.Sprintf("must not be negative (got %d; 0 means %d)", t.RatePerMinute, RatePerMinuteDefault))
	}
	return nil
}

// LoadTenants reads a tenants file (VLENSQ_TENANTS): a JSON list of
// {tenancy_name, api_key, username, password, rate_per_second,
// rate_per_minute}. Unknown fields are rejected, so a misspelt key is not
// silently ignored. Errors name the file, the entry index and the field
// (*[TenantConfigError]), or the line and column of a JSON syntax error.
func LoadTenants(path string) (*TenantSet, error) {
	if path == "" {
		return nil, errors.New("vlens: tenants: no file given")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("vlens: tenants: %w", err)
	}
	fileErr := func(problem string) error {
		return &TenantConfigError{File: path, Index: -1, Problem: problem}
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return nil, fileErr("is empty; want a JSON list of tenants")
	}
	if trimmed[0] != '[' {
		return nil, fileErr("must be a JSON list of tenants ([{\"tenancy_name\": ...}, ...])")
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(raw, &entries); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			line, col := position(raw, syn.Offset)
			return nil, fileErr(fmt.Sprintf("invalid JSON at line %d column %d: %v", line, col, syn))
		}
		return nil, fileErr(fmt.Sprintf("invalid JSON: %v", err))
	}
	if len(entries) == 0 {
		return nil, fileErr("lists no tenants")
	}
	ts := make([]Tenant, len(entries))
	for i, e := range entries {
		if err := decodeTenant(e, &ts[i]); err != nil {
			err.File, err.Index = path, i
			return nil, err
		}
	}
	s, err := NewTenantSet(ts...)
	if err != nil {
		var ce *TenantConfigError
		if errors.As(err, &ce) {
			ce.File = path
		}
		return nil, err
	}
	return s, nil
}

// decodeTenant decodes one entry strictly. Its errors name the field and the
// expected type, never the value (which may be a secret).
func decodeTenant(raw json.RawMessage, t *Tenant) *TenantConfigError {
	if b := bytes.TrimSpace(raw); len(b) == 0 || b[0] != '{' {
		return &TenantConfigError{Problem: "must be a JSON object"}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(t)
	if err == nil {
		return nil
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return &TenantConfigError{Name: t.Name, Field: typ.Field, Problem: fmt.Sprintf("must be a %s, not a %s", typ.Type, typ.Value)}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return &TenantConfigError{Name: t.Name, Problem: "has unknown field " + name}
	}
	return &TenantConfigError{Name: t.Name, Problem: "is invalid: " + err.Error()}
}

// position turns a byte offset into a 1-based line and column.
func position(b []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(b)))
	before := b[:off]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1)
	return line, max(col, 1)
}

// Tenant returns the tenant named name.
func (s *TenantSet) Tenant(name string) (Tenant, bool) {
	t, ok := s.byName[name]
	return t, ok
}

// Names returns the tenancy names in the order they were given.
func (s *TenantSet) Names() []string {
	return append([]string(nil), s.names...)
}

// Len returns the number of tenants.
func (s *TenantSet) Len() int { return len(s.names) }
