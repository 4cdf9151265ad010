package vlens

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
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
// keys and HTTP headers); rates and weight must not be negative (0 means the default). The
// error is a *[TenantConfigError] naming the entry index and field.
func NewTenantSet(ts ...Tenant) (*TenantSet, error) { return newTenantSet(ts, true) }

// NewPublicTenantSet is NewTenantSet for a process that does not call
// Vlens: secrets are not required, and are dropped if given (see
// [Tenant.Public]). Its tenants name what exists, with limits and weight.
func NewPublicTenantSet(ts ...Tenant) (*TenantSet, error) {
	pub := make([]Tenant, len(ts))
	for i, t := range ts {
		pub[i] = t.Public()
	}
	return newTenantSet(pub, false)
}

func newTenantSet(ts []Tenant, secrets bool) (*TenantSet, error) {
	s := &TenantSet{byName: make(map[string]Tenant, len(ts)), names: make([]string, 0, len(ts))}
	first := make(map[string]int, len(ts))
	for i, t := range ts {
		if err := validateTenant(t, secrets); err != nil {
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

func validateTenant(t Tenant, secrets bool) *TenantConfigError {
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
	case secrets && t.APIKey == "":
		return bad("api_key", "is required (the key itself, a ${ENV_NAME} reference, or api_key_file)")
	case secrets && t.Username == "":
		return bad("username", "is required (the name itself or a ${ENV_NAME} reference)")
	case secrets && t.Password == "":
		return bad("password", "is required (the password itself, a ${ENV_NAME} reference, or password_file)")
	case t.RatePerSecond < 0:
		return bad("rate_per_second", fmt.Sprintf("must not be negative (got %d; 0 means %d)", t.RatePerSecond, RatePerSecondDefault))
	case t.Weight < 0:
		return bad("weight", fmt.Sprintf("must not be negative (got %d; 0 means %d)", t.Weight, WeightDefault))
	case t.RatePerMinute < 0:
		return bad("rate_per_minute", fmt.Sprintf("must not be negative (got %d; 0 means %d)", t.RatePerMinute, RatePerMinuteDefault))
	case t.Weight < 0:
		return bad("weight", fmt.Sprintf("must not be negative (got %d; 0 means %d)", t.Weight, WeightDefault))
	}
	return nil
}

// LoadTenants reads a tenants file (VLENSQ_TENANTS) with its secrets, for a
// process that calls Vlens (worker, sandbox, demo): a JSON list of
// {tenancy_name, api_key | api_key_file, username, password |
// password_file, rate_per_second, rate_per_minute, weight}.
//
// A secret can stay out of the file: api_key_file and password_file name a
// file holding it (a Kubernetes or Docker secret; a relative path is taken
// from the tenants file's directory; surrounding white space is trimmed),
// and an api_key, username or password of the form ${ENV_NAME} is read from
// that environment variable. A reference that cannot be resolved is a
// *[TenantConfigError] naming the entry and the field (and the file or
// variable, never a value).
//
// Unknown fields are rejected, so a misspelt key is not silently ignored.
// Errors name the file, the entry index and the field (*[TenantConfigError]),
// or the line and column of a JSON syntax error.
func LoadTenants(path string) (*TenantSet, error) {
	entries, err := readTenantEntries(path)
	if err != nil {
		return nil, err
	}
	ts := make([]Tenant, len(entries))
	for i, e := range entries {
		t, cerr := e.resolve(filepath.Dir(path))
		if cerr != nil {
			cerr.File, cerr.Index = path, i
			return nil, cerr
		}
		ts[i] = t
	}
	s, err := NewTenantSet(ts...)
	return s, inFile(path, err)
}

// LoadPublicTenants reads a tenants file for a process that must not know
// the secrets (enqueue, session put): names, limits and weight. Secret
// fields may be absent; when present they are neither checked nor kept, and
// api_key_file, password_file and ${ENV_NAME} references are never
// resolved: no secret file is opened.
func LoadPublicTenants(path string) (*TenantSet, error) {
	entries, err := readTenantEntries(path)
	if err != nil {
		return nil, err
	}
	ts := make([]Tenant, len(entries))
	for i, e := range entries {
		ts[i] = e.public()
	}
	s, err := NewPublicTenantSet(ts...)
	return s, inFile(path, err)
}

// inFile names path in err when it is a *TenantConfigError.
func inFile(path string, err error) error {
	var ce *TenantConfigError
	if errors.As(err, &ce) {
		ce.File = path
	}
	return err
}

// tenantEntry is one entry of the tenants file as written.
type tenantEntry struct {
	Name          string `json:"tenancy_name"`
	APIKey        string `json:"api_key"`
	APIKeyFile    string `json:"api_key_file"`
	Username      string `json:"username"`
	Password      string `json:"password"`
	PasswordFile  string `json:"password_file"`
	RatePerSecond int    `json:"rate_per_second"`
	RatePerMinute int    `json:"rate_per_minute"`
	Weight        int    `json:"weight"`
}

func (e *tenantEntry) public() Tenant {
	return Tenant{Name: e.Name, RatePerSecond: e.RatePerSecond, RatePerMinute: e.RatePerMinute, Weight: e.Weight}
}

// resolve returns the tenant with its secrets read from the entry, its
// files (relative to dir) or the environment.
func (e *tenantEntry) resolve(dir string) (Tenant, *TenantConfigError) {
	t := e.public()
	var err *TenantConfigError
	if t.APIKey, err = e.secret("api_key", e.APIKey, "api_key_file", e.APIKeyFile, dir); err != nil {
		return t, err
	}
	if t.Username, err = e.secret("username", e.Username, "", "", dir); err != nil {
		return t, err
	}
	if t.Password, err = e.secret("password", e.Password, "password_file", e.PasswordFile, dir); err != nil {
		return t, err
	}
	return t, nil
}

// envRef is a whole-value ${ENV_NAME} reference.
var envRef = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)

// secret resolves one secret field: its value, a ${ENV_NAME} reference in
// it, or the file named by fileField. Errors never hold the secret.
func (e *tenantEntry) secret(field, value, fileField, file, dir string) (string, *TenantConfigError) {
	bad := func(f, problem string) (string, *TenantConfigError) {
		return "", &TenantConfigError{Name: e.Name, Field: f, Problem: problem}
	}
	if file != "" {
		if value != "" {
			return bad(field, "and "+fileField+" are both set; give one")
		}
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			reason := err.Error()
			var pe *fs.PathError
			if errors.As(err, &pe) {
				reason = pe.Err.Error()
			}
			return bad(fileField, fmt.Sprintf("cannot read %s: %s", file, reason))
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return bad(fileField, file+" is empty")
		}
		return v, nil
	}
	if m := envRef.FindStringSubmatch(value); m != nil {
		v, ok := os.LookupEnv(m[1])
		switch {
		case !ok:
			return bad(field, "refers to environment variable "+m[1]+", which is not set")
		case strings.TrimSpace(v) == "":
			return bad(field, "refers to environment variable "+m[1]+", which is empty")
		}
		return v, nil
	}
	return value, nil
}

// readTenantEntries reads and strictly decodes the tenants file.
func readTenantEntries(path string) ([]tenantEntry, error) {
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
	var raws []json.RawMessage
	if err := json.Unmarshal(raw, &raws); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			line, col := position(raw, syn.Offset)
			return nil, fileErr(fmt.Sprintf("invalid JSON at line %d column %d: %v", line, col, syn))
		}
		return nil, fileErr(fmt.Sprintf("invalid JSON: %v", err))
	}
	if len(raws) == 0 {
		return nil, fileErr("lists no tenants")
	}
	entries := make([]tenantEntry, len(raws))
	for i, e := range raws {
		if err := decodeTenant(e, &entries[i]); err != nil {
			err.File, err.Index = path, i
			return nil, err
		}
	}
	return entries, nil
}

// decodeTenant decodes one entry strictly. Its errors name the field and the
// expected type, never the value (which may be a secret).
func decodeTenant(raw json.RawMessage, t *tenantEntry) *TenantConfigError {
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
