package vlens

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vlensq/vlensq/internal/jsonscan"
)

// Rule is what the classification table says about one code, HTTP status,
// message pattern or check: the class (what the worker does), the category
// and the resolution text from the Vlens errors page (what a person does).
//
// In JSON (the table override file) a rule is
//
//	{"class": "throttled", "category": "account",
//	 "resolution": "...", "description": "too many trials", "retry_after": "60s"}
//
// retry_after is a Go duration string ("90s", "2m") or a number of seconds.
type Rule struct {
	Class    Class
	Category Category
	// Resolution is the text from the Vlens errors page (or written in its
	// style) telling support or the producer what to do.
	Resolution string
	// Description says what the code or status means, e.g. "card not
	// detected"; it is added to the verdict's Reason.
	Description string
	// RetryAfter is how long to wait before retrying (throttled rules); zero
	// leaves the delay to the retry policy.
	RetryAfter time.Duration
	// Breaker marks an answer about the tenant's account rather than the
	// task (a bad or inactive ApiKey, another tenant's token, no
	// permission, the bundle codes 4001, 4002, 4004-4007): the circuit
	// breaker pauses the tenant (package tenancy) so that its other tasks
	// wait instead of each getting the same answer.
	Breaker bool
}

// ruleJSON is a Rule in the override file. Pointers tell "absent" (keep the
// overridden value) from "set to empty".
type ruleJSON struct {
	Class       *Class        `json:"class,omitempty"`
	Category    *Category     `json:"category,omitempty"`
	Resolution  *string       `json:"resolution,omitempty"`
	Description *string       `json:"description,omitempty"`
	RetryAfter  *jsonDuration `json:"retry_after,omitempty"`
	Breaker     *bool         `json:"breaker,omitempty"`
}

// MarshalJSON writes the rule with snake_case keys and retry_after as a
// duration string.
func (r Rule) MarshalJSON() ([]byte, error) {
	return json.Marshal(r.toJSON())
}

// UnmarshalJSON reads a rule as written by MarshalJSON. It does not
// validate; ParseTable does.
func (r *Rule) UnmarshalJSON(b []byte) error {
	var j ruleJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = j.over(Rule{})
	return nil
}

func (r Rule) toJSON() ruleJSON {
	j := ruleJSON{Class: &r.Class}
	if r.Category != "" {
		j.Category = &r.Category
	}
	if r.Resolution != "" {
		j.Resolution = &r.Resolution
	}
	if r.Description != "" {
		j.Description = &r.Description
	}
	if r.RetryAfter != 0 {
		d := jsonDuration(r.RetryAfter)
		j.RetryAfter = &d
	}
	if r.Breaker {
		j.Breaker = &r.Breaker
	}
	return j
}

// over returns base with the fields present in j replaced. Setting the class
// to success clears the category unless j names one.
func (j ruleJSON) over(base Rule) Rule {
	r := base
	if j.Class != nil {
		r.Class = *j.Class
		if r.Class == ClassSuccess {
			r.Category = CategoryNone
		}
	}
	if j.Category != nil {
		r.Category = *j.Category
	}
	if j.Resolution != nil {
		r.Resolution = *j.Resolution
	}
	if j.Description != nil {
		r.Description = *j.Description
	}
	if j.Breaker != nil {
		r.Breaker = *j.Breaker
	}
	if j.RetryAfter != nil {
		r.RetryAfter = time.Duration(*j.RetryAfter)
	}
	return r
}

// validate reports the first problem of a rule.
func (r Rule) validate() error {
	if !r.Class.Valid() {
		if r.Class == "" {
			return errors.New("class is required")
		}
		return fmt.Errorf("class %q is not one of %s", r.Class, joinQuoted(Classes))
	}
	if r.Class == ClassSuccess {
		if r.Category != CategoryNone {
			return fmt.Errorf("class success takes no category (got %q)", r.Category)
		}
	} else {
		if r.Category == CategoryNone {
			return fmt.Errorf("category is required for class %s", r.Class)
		}
		if !r.Category.Valid() {
			return fmt.Errorf("category %q is not one of %s", r.Category, joinQuoted(Categories))
		}
		if strings.TrimSpace(r.Resolution) == "" {
			return errors.New("resolution is required")
		}
	}
	if r.RetryAfter < 0 {
		return fmt.Errorf("retry_after %s is negative", r.RetryAfter)
	}
	return nil
}

// validateFailure is validate for rules that only ever describe a failure
// (HTTP statuses, checks): success is refused.
func (r Rule) validateFailure() error {
	if r.Class == ClassSuccess {
		return errors.New("class success is not allowed here: this rule only applies to failures")
	}
	return r.validate()
}

func joinQuoted[T ~string](vals []T) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = strconv.Quote(string(v))
	}
	return strings.Join(q, ", ")
}

// verdict turns the rule into a verdict resting on code, decided by reason.
func (r Rule) verdict(code int, reason string) Verdict {
	if r.Description != "" {
		reason += ": " + r.Description
	}
	return Verdict{
		Class: r.Class, Category: r.Category, Resolution: r.Resolution,
		Code: code, Reason: reason, RetryAfter: r.RetryAfter, Breaker: r.Breaker,
	}
}

// jsonDuration is a duration written as "60s" and read from "60s" or 60.
type jsonDuration time.Duration

func (d jsonDuration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	if jsonscan.Kind(b) == "number" {
		secs, err := strconv.ParseFloat(string(b), 64)
		if err != nil || secs > float64(1<<62)/float64(time.Second) {
			return fmt.Errorf("retry_after %s is not a number of seconds", b)
		}
		*d = jsonDuration(secs * float64(time.Second))
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`retry_after must be a duration string such as "60s" or a number of seconds`)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("retry_after %q is not a duration such as \"60s\"", s)
	}
	*d = jsonDuration(v)
	return nil
}

// MessageRule applies a Rule to responses whose error_message or
// error_descriptions match Pattern. Vlens publishes no codes for
// registration, business-request and most authentication failures, so these
// rules carry them.
//
// In JSON the rule's fields sit beside name, pattern and endpoint:
//
//	{"name": "otp expired", "pattern": "otp.*expired", "class": "permanent",
//	 "category": "registration", "resolution": "Restart the OTP flow from `StepVerifyPhone`"}
type MessageRule struct {
	// Name identifies the rule: the verdict's Reason is "message: <name>",
	// and an override entry with the same name replaces it.
	Name string
	// Pattern is a regular expression (RE2 syntax), matched case-insensitively
	// anywhere in error_message or in one line of error_descriptions.
	Pattern string
	// Endpoint, when set, is a regular expression (case-insensitive) the
	// request path must match for the rule to apply; such rules are skipped
	// by Classify, which knows no path (see ClassifyEndpoint).
	Endpoint string
	Rule     Rule
}

type messageRuleJSON struct {
	Name     string  `json:"name"`
	Pattern  *string `json:"pattern,omitempty"`
	Endpoint *string `json:"endpoint,omitempty"`
	ruleJSON
}

// MarshalJSON writes the rule flat: name, pattern, endpoint and the Rule's
// fields side by side.
func (m MessageRule) MarshalJSON() ([]byte, error) {
	j := messageRuleJSON{Name: m.Name, Pattern: &m.Pattern, ruleJSON: m.Rule.toJSON()}
	if m.Endpoint != "" {
		j.Endpoint = &m.Endpoint
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads a rule as written by MarshalJSON. It does not
// validate; ParseTable does.
func (m *MessageRule) UnmarshalJSON(b []byte) error {
	var j messageRuleJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*m = j.over(MessageRule{})
	return nil
}

func (j messageRuleJSON) over(base MessageRule) MessageRule {
	m := base
	m.Name = j.Name
	if j.Pattern != nil {
		m.Pattern = *j.Pattern
	}
	if j.Endpoint != nil {
		m.Endpoint = *j.Endpoint
	}
	m.Rule = j.ruleJSON.over(base.Rule)
	return m
}

// Names of the checks in Table.Checks: the rules for verdicts that rest on
// neither a code, an HTTP status nor a message.
const (
	// CheckBodyNotJSON: the body was empty, HTML, truncated or not an
	// object, and the HTTP status says nothing more specific.
	CheckBodyNotJSON = "body_not_json"
	// CheckUnknownCode: error_code is set but not in the table.
	CheckUnknownCode = "unknown_code"
	// CheckUnknownCodeServerError: an HTTP 5xx whose error_code the table
	// does not know. A server error is retried; the category stays unknown
	// so that a persisting one is dead-lettered (retries exhausted) with the
	// code visible and counted.
	CheckUnknownCodeServerError = "unknown_code_server_error"
	// CheckUnknownStatus: a non-2xx status without a code that the table
	// does not know (and is not 5xx).
	CheckUnknownStatus = "unknown_status"
	// CheckServicesValidation: a 2xx whose services carry validation
	// errors with no code, or a code the table does not know.
	CheckServicesValidation = "services_validation"
	// CheckLivenessFailed: services.liveness is false.
	CheckLivenessFailed = "liveness_failed"
	// CheckSRCInvalid: services.SRC.isValid is false (NTRA / CSO check).
	CheckSRCInvalid = "src_invalid"
	// CheckFieldErrors: a 2xx with error_descriptions and no code.
	CheckFieldErrors = "field_errors"
	// CheckNetwork: no response arrived (timeout, reset, DNS, dial, EOF).
	CheckNetwork = "network"
	// CheckMessageWithoutData: a 2xx without a code and without data whose
	// error_message no message rule explains. Vlens reports business and
	// registration failures this way (no numeric code), so it is a failure,
	// never a silent success.
	CheckMessageWithoutData = "message_without_data"
)

// CheckNames lists every check name, in a stable order.
var CheckNames = []string{
	CheckBodyNotJSON, CheckUnknownCode, CheckUnknownCodeServerError, CheckUnknownStatus, CheckServicesValidation,
	CheckLivenessFailed, CheckSRCInvalid, CheckFieldErrors, CheckNetwork, CheckMessageWithoutData,
}

// CodeFakeDocument is the Vlens code for a document detected as fake;
// services.spoofing.fake == true is classified with its rule.
const CodeFakeDocument = 5005

// Table is the classification table: data, so that a deployment can add a
// code Vlens starts sending, or a message pattern for a failure Vlens
// reports only as text, without a new build. Get one from DefaultTable,
// LoadTable or ParseTable; a Table must not be changed once in use. It is
// safe for concurrent use. A nil *Table classifies with the default table.
//
// # Override file
//
// LoadTable reads a JSON file whose entries override or extend the
// defaults:
//
//	{
//	  "codes": {
//	    "3011": {"resolution": "Ask the customer to photograph the whole card on a dark table"},
//	    "9001": {"class": "transient", "category": "server", "resolution": "Retry later",
//	             "description": "new overload code", "retry_after": "30s"}
//	  },
//	  "http_statuses": {
//	    "418": {"class": "permanent", "category": "unknown", "resolution": "Contact support@vlenseg.com"}
//	  },
//	  "checks": {
//	    "unknown_code": {"resolution": "Open a ticket and add the code to classification.json"}
//	  },
//	  "messages": [
//	    {"name": "national id blocked", "pattern": "national id (is )?blocked",
//	     "class": "permanent", "category": "identity_verification",
//	     "resolution": "The ID could not be verified against national records — escalate via support"}
//	  ]
//	}
//
// All four sections are optional; top-level keys starting with "_" are
// ignored (use "_comment" for notes).
//
//   - codes: Vlens error_code (not 0, which is success) → rule. An entry for
//     a known code replaces only the fields it names (the 3011 entry above
//     keeps class and category); a new code must give class, category and
//     resolution.
//   - http_statuses: HTTP status (100–599) → rule, used when the body has no
//     code (and, for 4xx, when it is not JSON). Never class success.
//   - checks: the rules named by the Check* constants (body_not_json,
//     unknown_code, unknown_status, services_validation, liveness_failed,
//     src_invalid, field_errors, network); only these names are accepted.
//     Never class success.
//   - messages: pattern rules, tried in order, file entries before the
//     defaults. An entry whose name matches a default replaces the fields it
//     names and moves to the file's position; a new name must give pattern,
//     class, category and resolution. pattern and endpoint are RE2 regular
//     expressions matched case-insensitively.
//
// A rule is {"class", "category", "resolution", "description",
// "retry_after"}: class is one of success, auth_expired, transient, throttled,
// permanent; category one of authentication, registration,
// identity_verification, business_request, validation, account, network,
// server, unknown (none for success); retry_after a duration ("60s") or a
// number of seconds. Unknown fields are errors. A bad file fails as a whole,
// with one error naming the entry, e.g.
//
//	vlens: classification table classification.json: codes["9001"]: category is required for class transient
//
// json.Marshal of a Table writes this format in full.
type Table struct {
	// Codes maps a Vlens error_code to its rule.
	Codes map[int]Rule `json:"codes"`
	// HTTPStatuses maps an HTTP status to its rule.
	HTTPStatuses map[int]Rule `json:"http_statuses"`
	// Checks maps the Check* names to their rules.
	Checks map[string]Rule `json:"checks"`
	// Messages are the message pattern rules, in priority order.
	Messages []MessageRule `json:"messages"`

	once     sync.Once
	matchers []matcher
}

// matcher is a compiled MessageRule.
type matcher struct {
	re, endpoint *regexp.Regexp
	MessageRule
}

// compileMessage compiles a rule's pattern and endpoint case-insensitively.
func compileMessage(m MessageRule) (matcher, error) {
	if strings.TrimSpace(m.Pattern) == "" {
		return matcher{}, errors.New("pattern is required")
	}
	re, err := regexp.Compile("(?i)" + m.Pattern)
	if err != nil {
		return matcher{}, fmt.Errorf("pattern: %w", err)
	}
	mt := matcher{re: re, MessageRule: m}
	if m.Endpoint != "" {
		if mt.endpoint, err = regexp.Compile("(?i)" + m.Endpoint); err != nil {
			return matcher{}, fmt.Errorf("endpoint: %w", err)
		}
	}
	return mt, nil
}

// compiled returns the compiled message rules, compiling them on first use.
// Rules that do not compile are skipped here; Validate reports them.
func (t *Table) compiled() []matcher {
	t.once.Do(func() {
		for _, m := range t.Messages {
			if mt, err := compileMessage(m); err == nil {
				t.matchers = append(t.matchers, mt)
			}
		}
	})
	return t.matchers
}

// Rule returns the rule for a Vlens error code.
func (t *Table) Rule(code int) (Rule, bool) {
	r, ok := t.orDefault().Codes[code]
	return r, ok
}

// StatusRule returns the rule for an HTTP status.
func (t *Table) StatusRule(status int) (Rule, bool) {
	r, ok := t.orDefault().HTTPStatuses[status]
	return r, ok
}

// check returns the named check's rule, falling back to the default's.
func (t *Table) check(name string) Rule {
	if r, ok := t.Checks[name]; ok {
		return r
	}
	return defaultTable().Checks[name]
}

// Validate reports the first problem of the table as a *TableError: an
// invalid rule, a check name that does not exist, a message rule without a
// name or with a pattern that does not compile, or a duplicate name.
func (t *Table) Validate() error {
	return t.validate("")
}

func (t *Table) validate(source string) error {
	for _, code := range slices.Sorted(maps.Keys(t.Codes)) {
		entry := fmt.Sprintf("codes[%q]", strconv.Itoa(code))
		if code == 0 {
			return &TableError{Source: source, Entry: entry, Err: errors.New("error_code 0 means success and takes no rule")}
		}
		if err := t.Codes[code].validate(); err != nil {
			return &TableError{Source: source, Entry: entry, Err: err}
		}
	}
	for _, st := range slices.Sorted(maps.Keys(t.HTTPStatuses)) {
		entry := fmt.Sprintf("http_statuses[%q]", strconv.Itoa(st))
		if st < 100 || st > 599 {
			return &TableError{Source: source, Entry: entry, Err: errors.New("not an HTTP status (100-599)")}
		}
		if err := t.HTTPStatuses[st].validateFailure(); err != nil {
			return &TableError{Source: source, Entry: entry, Err: err}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(t.Checks)) {
		entry := fmt.Sprintf("checks[%q]", name)
		if !slices.Contains(CheckNames, name) {
			return &TableError{Source: source, Entry: entry, Err: fmt.Errorf("unknown check (want one of %s)", joinQuoted(CheckNames))}
		}
		if err := t.Checks[name].validateFailure(); err != nil {
			return &TableError{Source: source, Entry: entry, Err: err}
		}
	}
	seen := map[string]bool{}
	for i, m := range t.Messages {
		entry := fmt.Sprintf("messages[%d] (%q)", i, m.Name)
		if strings.TrimSpace(m.Name) == "" {
			return &TableError{Source: source, Entry: fmt.Sprintf("messages[%d]", i), Err: errors.New("name is required")}
		}
		if seen[m.Name] {
			return &TableError{Source: source, Entry: entry, Err: errors.New("duplicate name")}
		}
		seen[m.Name] = true
		if _, err := compileMessage(m); err != nil {
			return &TableError{Source: source, Entry: entry, Err: err}
		}
		if err := m.Rule.validate(); err != nil {
			return &TableError{Source: source, Entry: entry, Err: err}
		}
	}
	return nil
}

// TableError is a problem in a classification table or override file. Its
// text names the source and the entry.
type TableError struct {
	// Source is the file path; empty for a reader or an in-memory table.
	Source string
	// Entry names the entry, e.g. `codes["3011"]` or `messages[2] ("otp
	// expired")`, or a position such as "line 3, column 7"; empty when the
	// problem is the whole file.
	Entry string
	Err   error
}

func (e *TableError) Error() string {
	var b strings.Builder
	b.WriteString("vlens: classification table")
	if e.Source != "" {
		b.WriteString(" " + e.Source)
	}
	if e.Entry != "" {
		b.WriteString(": " + e.Entry)
	}
	b.WriteString(": " + e.Err.Error())
	return b.String()
}

func (e *TableError) Unwrap() error { return e.Err }

// MaxTableFileBytes bounds the size of an override file.
const MaxTableFileBytes = 1 << 20

// LoadTable returns DefaultTable overlaid with the JSON file at path ("" →
// the defaults). Entries in the file override or extend the defaults (a code,
// an HTTP status, a check, a message pattern); see Table for the format. A
// bad file gives one *TableError naming the entry.
func LoadTable(path string) (*Table, error) {
	if path == "" {
		return DefaultTable(), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &TableError{Source: path, Err: err}
	}
	defer f.Close()
	return parseTable(path, f)
}

// ParseTable returns DefaultTable overlaid with the JSON override read from
// r, as LoadTable does for a file.
func ParseTable(r io.Reader) (*Table, error) {
	return parseTable("", r)
}

var topLevelSections = []string{"codes", "http_statuses", "checks", "messages"}

func parseTable(source string, r io.Reader) (*Table, error) {
	fail := func(entry string, err error) (*Table, error) {
		return nil, &TableError{Source: source, Entry: entry, Err: err}
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxTableFileBytes+1))
	if err != nil {
		return fail("", err)
	}
	if len(data) > MaxTableFileBytes {
		return fail("", fmt.Errorf("larger than %d bytes", MaxTableFileBytes))
	}
	if err := checkJSON(data); err != nil {
		return fail("", err)
	}
	top := members(data)
	if top == nil {
		return fail("", fmt.Errorf("want a JSON object with %s", strings.Join(topLevelSections, ", ")))
	}
	t := DefaultTable()
	seen := map[string]bool{}
	for _, sec := range top {
		if strings.HasPrefix(sec.key, "_") {
			continue
		}
		if !slices.Contains(topLevelSections, sec.key) {
			return fail(strconv.Quote(sec.key), fmt.Errorf("unknown section (want %s)", joinQuoted(topLevelSections)))
		}
		if seen[sec.key] {
			return fail(strconv.Quote(sec.key), errors.New("section appears twice"))
		}
		seen[sec.key] = true
		if isNull(sec.val) {
			continue
		}
		var err error
		switch sec.key {
		case "codes":
			err = overlayRules(sec.key, sec.val, t.Codes, strconv.Atoi)
		case "http_statuses":
			err = overlayRules(sec.key, sec.val, t.HTTPStatuses, parseStatus)
		case "checks":
			err = overlayRules(sec.key, sec.val, t.Checks, parseCheckName)
		case "messages":
			t.Messages, err = overlayMessages(sec.val, t.Messages)
		}
		if err != nil {
			var te *TableError
			if errors.As(err, &te) {
				te.Source = source
			}
			return nil, err
		}
	}
	if err := t.validate(source); err != nil {
		return nil, err
	}
	return t, nil
}

// checkJSON reports a syntax error with its line and column.
func checkJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	var raw json.RawMessage
	err := dec.Decode(&raw)
	if err == nil {
		if _, err2 := dec.Token(); err2 != io.EOF {
			return errors.New("trailing data after the JSON object")
		}
		return nil
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		line, col := lineCol(data, syn.Offset)
		return fmt.Errorf("line %d, column %d: %v", line, col, syn)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return errors.New("unexpected end of file (truncated JSON?)")
	}
	return err
}

func lineCol(data []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1)
	return line, max(col, 1)
}

func parseStatus(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 || n > 599 {
		return 0, errors.New("not an HTTP status (100-599)")
	}
	return n, nil
}

func parseCheckName(s string) (string, error) {
	if !slices.Contains(CheckNames, s) {
		return "", fmt.Errorf("unknown check (want one of %s)", joinQuoted(CheckNames))
	}
	return s, nil
}

// decodeStrict decodes v into dst and refuses unknown fields.
func decodeStrict(v json.RawMessage, dst any) error {
	if jsonscan.Kind(v) != "object" {
		return fmt.Errorf("want an object, got %s", jsonscan.Kind(v))
	}
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) && ute.Field != "" {
			return fmt.Errorf("%s: want a %s, got %s", ute.Field, ute.Type, ute.Value)
		}
		return errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// overlayRules merges the rules of one map section into dst.
func overlayRules[K comparable](section string, v json.RawMessage, dst map[K]Rule, parseKey func(string) (K, error)) error {
	obj := members(v)
	if obj == nil {
		return &TableError{Entry: strconv.Quote(section), Err: fmt.Errorf("want an object, got %s", jsonscan.Kind(v))}
	}
	seen := map[K]bool{}
	for _, m := range obj {
		entry := fmt.Sprintf("%s[%q]", section, m.key)
		key, err := parseKey(m.key)
		if err != nil {
			if errors.Is(err, strconv.ErrSyntax) || errors.Is(err, strconv.ErrRange) {
				err = errors.New("key is not a number")
			}
			return &TableError{Entry: entry, Err: err}
		}
		if seen[key] {
			return &TableError{Entry: entry, Err: errors.New("duplicate entry")}
		}
		seen[key] = true
		var j ruleJSON
		if err := decodeStrict(m.val, &j); err != nil {
			return &TableError{Entry: entry, Err: err}
		}
		base, known := dst[key]
		if !known && j.Class == nil {
			return &TableError{Entry: entry, Err: errors.New("class is required for a new entry")}
		}
		r := j.over(base)
		if err := r.validate(); err != nil {
			return &TableError{Entry: entry, Err: err}
		}
		dst[key] = r
	}
	return nil
}

// overlayMessages puts the file's message rules first, in file order,
// followed by the defaults it did not replace.
func overlayMessages(v json.RawMessage, defaults []MessageRule) ([]MessageRule, error) {
	if jsonscan.Kind(v) != "array" {
		return nil, &TableError{Entry: `"messages"`, Err: fmt.Errorf("want an array, got %s", jsonscan.Kind(v))}
	}
	byName := map[string]int{}
	for i, m := range defaults {
		byName[m.Name] = i
	}
	replaced := map[string]bool{}
	var out []MessageRule
	for i, e := range elements(v) {
		entry := fmt.Sprintf("messages[%d]", i)
		var j messageRuleJSON
		if err := decodeStrict(e, &j); err != nil {
			return nil, &TableError{Entry: entry, Err: err}
		}
		if strings.TrimSpace(j.Name) == "" {
			return nil, &TableError{Entry: entry, Err: errors.New("name is required")}
		}
		entry = fmt.Sprintf("messages[%d] (%q)", i, j.Name)
		if replaced[j.Name] {
			return nil, &TableError{Entry: entry, Err: errors.New("duplicate name")}
		}
		replaced[j.Name] = true
		var base MessageRule
		if k, ok := byName[j.Name]; ok {
			base = defaults[k]
		} else if j.Class == nil {
			return nil, &TableError{Entry: entry, Err: errors.New("class is required for a new rule")}
		}
		m := j.over(base)
		if _, err := compileMessage(m); err != nil {
			return nil, &TableError{Entry: entry, Err: err}
		}
		if err := m.Rule.validate(); err != nil {
			return nil, &TableError{Entry: entry, Err: err}
		}
		out = append(out, m)
	}
	for _, m := range defaults {
		if !replaced[m.Name] {
			out = append(out, m)
		}
	}
	return out, nil
}

var defaultTable = sync.OnceValue(DefaultTable)

func (t *Table) orDefault() *Table {
	if t == nil {
		return defaultTable()
	}
	return t
}

// Resolution texts. Those quoted from the Vlens errors page are verbatim
// (links made absolute); the others are written in its style.
const (
	resAPIKey          = "Verify the `ApiKey` is present and active in the dashboard"
	resAuthorization   = "Add `Authorization: Bearer <token>`"
	resRefreshToken    = "Refresh via `/api/credentials/RefreshToken`"
	resRelogin         = "Re-authenticate via `/api/credentials/Login`"
	resPermission      = "Use an admin token; check role assignments in the portal"
	resTenant          = "Use credentials for the correct tenant"
	resAlreadyExists   = "Call `/api/DigitalIdentity/CheckExistenceOfEmailOrPhone` first"
	resInvalidOTP      = "Request a new OTP after the user re-enters"
	resOTPExpired      = "Restart the OTP flow from `StepVerifyPhone`"
	resImageQuality    = "Re-capture with better lighting and the ID filling most of the frame"
	resFakeDocument    = "Re-capture the **physical** ID — photocopies and screen captures fail spoofing"
	resLiveness        = "Re-capture three distinct frames within 0.5s — see [Digital Identity](https://docs.vlenseg.com/digital-identity)"
	resIdenticalFaces  = "Capture three distinct, sequential frames"
	resNoTransaction   = "Restart from `verify/id/front` to obtain a new transaction"
	resNationalRecords = "The ID could not be verified against national records — escalate via support"
	resNotEligible     = "Inspect `CheckEligibility` and fix the specific failure (KYC, email, pending request)"
	resRequestStatus   = "Confirm `requeststatus` via `GetBusinessRequestById` matches what the endpoint expects"
	resLocationChanged = "Call `StepReValidateLiveness` before retrying `StepRequestOtp`"
	resSigningOTP      = "Request a new OTP via `StepRequestOtp`"
	resFormField       = "Inspect the field list from `GetBusinessRequestTypeTemplateFields`"

	resRetry          = "Retry with exponential backoff (e.g. 500ms → 1s → 2s → 4s, max 3 attempts); if it persists, contact support@vlenseg.com with the endpoint, request, response, tenant and UTC time"
	resNotJSON        = "Vlens or a gateway in front of it answered without a JSON envelope: retry with exponential backoff; if it persists, contact support@vlenseg.com with the endpoint, tenant and UTC time"
	resAccount        = "Check the bundle, subscription and balance in the Vlens portal"
	resTooManyTrials  = "Too many trials: wait before retrying; if it persists, check the tenant's limits with Vlens"
	resRateLimited    = "Rate limited by Vlens: retry after Retry-After; lower the tenant's rate_per_second / rate_per_minute if it recurs"
	resUnknownCode    = "Unknown Vlens error code, not retried: contact support@vlenseg.com with the endpoint, the redacted request, the full response, the tenant and the UTC time (vlensq dlq show --ticket), then add the code to the classification table"
	resUnknownMessage = "Vlens answered with an error message it gives no code for, not retried: read error_message, fix the request, and add a message rule to the classification table so the cause gets its category"
	resUnknownStatus  = "Unexpected HTTP status from Vlens, not retried: contact support@vlenseg.com with the endpoint, the redacted request, the full response, the tenant and the UTC time (vlensq dlq show --ticket)"
	resBadRequest     = "Do not retry: fix the request (required fields, valid base64 JPEG/PNG images) — see error_descriptions"
	resFieldErrors    = "Do not retry: fix the fields listed in error_descriptions"
	resWrongEndpoint  = "Do not retry: the endpoint does not exist — check VLENS_BASE_URL and the endpoint path"
	resMediaType      = "Do not retry: send images as base64 JPEG or PNG"
	resDocExpired     = "The ID document has expired: ask the customer for a valid ID and restart from `verify/id/front`"
	resIDMismatch     = "The front and back images belong to different IDs: re-capture both sides of the same physical ID, restarting from `verify/id/front`"
	resNameMismatch   = "The name on the car licence does not match the ID: check that both documents belong to the same person"
	resUnsupportedDoc = "Do not retry: send a document type this endpoint supports"
	resImageTooLarge  = "Do not retry: send a JPEG or PNG image under 3 MB (Vlens rejects more than 5 MB)"
	resTooManyPixels  = "Do not retry: send an image of at most 25 megapixels"
	resEndpointSide   = "Do not retry: send the front of the ID to the front endpoint and the back to the back endpoint"
)

// resUnknownCodeServerError is the resolution of check
// unknown_code_server_error.
const resUnknownCodeServerError = "Unknown Vlens error code on an HTTP 5xx, retried as a server error: it persisted, so contact support@vlenseg.com with the endpoint, the redacted request, the full response, the tenant and the UTC time (vlensq dlq show --ticket), add the code to the classification table, then requeue"

// DefaultTable returns a new copy of the built-in table: every code of the
// Vlens code table, the HTTP statuses Vlens and its gateways use, the checks,
// and a message pattern for every cause on the Vlens errors page. The
// caller may change the copy before first use.
func DefaultTable() *Table {
	t := &Table{
		Codes:        map[int]Rule{},
		HTTPStatuses: map[int]Rule{},
		Checks:       map[string]Rule{},
	}
	code := func(c int, class Class, cat Category, res, desc string) {
		t.Codes[c] = Rule{Class: class, Category: cat, Resolution: res, Description: desc}
	}
	recapture := func(c int, desc string) {
		code(c, ClassPermanent, CategoryIdentityVerification, resImageQuality, desc)
	}
	recapture(3001, "ID number invalid")
	recapture(3002, "birth date invalid")
	recapture(3003, "governorate invalid")
	recapture(3004, "ID key invalid")
	recapture(3005, "gender invalid")
	recapture(3006, "issue date invalid")
	for c := 3007; c <= 3009; c++ {
		recapture(c, "date format invalid")
	}
	code(3010, ClassPermanent, CategoryIdentityVerification, resDocExpired, "document expired")
	recapture(3011, "card not detected")
	recapture(3013, "invalid MRZ")
	recapture(3014, "no face on the ID")
	code(3101, ClassPermanent, CategoryIdentityVerification, resIDMismatch, "front and back ID numbers differ")
	code(3102, ClassPermanent, CategoryIdentityVerification, resNameMismatch, "name differs from the car licence")
	for c, desc := range map[int]string{
		4001: "bundle key invalid", 4002: "bundle balance exhausted", 4004: "service not in bundle",
		4005: "bundle disabled", 4006: "not subscribed", 4007: "subscription expired",
	} {
		code(c, ClassPermanent, CategoryAccount, resAccount, desc)
		r := t.Codes[c]
		r.Breaker = true
		t.Codes[c] = r
	}
	t.Codes[4003] = Rule{Class: ClassThrottled, Category: CategoryAccount, Resolution: resTooManyTrials,
		Description: "too many trials", RetryAfter: 60 * time.Second}
	code(4206, ClassPermanent, CategoryIdentityVerification, resLiveness, "several faces")
	code(4207, ClassPermanent, CategoryIdentityVerification, resLiveness, "no face")
	for c := 4208; c <= 4210; c++ {
		code(c, ClassPermanent, CategoryIdentityVerification, resLiveness, "face unclear")
	}
	code(5000, ClassTransient, CategoryServer, resRetry, "something went wrong")
	code(5001, ClassPermanent, CategoryValidation, resUnsupportedDoc, "unsupported document")
	code(5002, ClassPermanent, CategoryValidation, resImageTooLarge, "image larger than 5 MB")
	code(5003, ClassPermanent, CategoryValidation, resTooManyPixels, "image larger than 25 megapixels")
	code(5004, ClassPermanent, CategoryIdentityVerification, resNoTransaction, "transaction not found")
	code(CodeFakeDocument, ClassPermanent, CategoryIdentityVerification, resFakeDocument, "fake document")
	recapture(5006, "blurry image")
	code(5007, ClassPermanent, CategoryValidation, resEndpointSide, "wrong endpoint for this document")
	code(5008, ClassTransient, CategoryServer, resRetry, "could not map extracted data")
	for _, c := range []int{7000, 7001, 7002, 7003, 7004, 7005, 7006, 7008} {
		code(c, ClassTransient, CategoryServer, resRetry, "document processing error")
	}

	status := func(s int, class Class, cat Category, res, desc string) {
		t.HTTPStatuses[s] = Rule{Class: class, Category: cat, Resolution: res, Description: desc}
	}
	status(400, ClassPermanent, CategoryValidation, resBadRequest, "bad request")
	status(401, ClassAuthExpired, CategoryAuthentication, resRefreshToken, "unauthorized")
	status(403, ClassPermanent, CategoryAuthentication, resAPIKey+"; "+resPermission, "forbidden")
	status(404, ClassPermanent, CategoryValidation, resWrongEndpoint, "wrong endpoint")
	status(408, ClassTransient, CategoryServer, resRetry, "request timeout")
	status(415, ClassPermanent, CategoryValidation, resMediaType, "unsupported media type")
	status(422, ClassPermanent, CategoryValidation, resBadRequest, "unprocessable request")
	t.HTTPStatuses[429] = Rule{Class: ClassThrottled, Category: CategoryServer, Resolution: resRateLimited,
		Description: "too many requests"}
	status(500, ClassTransient, CategoryServer, resRetry, "server error")
	status(502, ClassTransient, CategoryServer, resRetry, "bad gateway")
	status(503, ClassTransient, CategoryServer, resRetry, "service unavailable")
	status(504, ClassTransient, CategoryServer, resRetry, "gateway timeout")

	check := func(name string, class Class, cat Category, res, desc string) {
		t.Checks[name] = Rule{Class: class, Category: cat, Resolution: res, Description: desc}
	}
	check(CheckBodyNotJSON, ClassTransient, CategoryServer, resNotJSON, "")
	check(CheckUnknownCode, ClassPermanent, CategoryUnknown, resUnknownCode, "")
	check(CheckUnknownCodeServerError, ClassTransient, CategoryUnknown, resUnknownCodeServerError, "")
	check(CheckUnknownStatus, ClassPermanent, CategoryUnknown, resUnknownStatus, "")
	check(CheckServicesValidation, ClassPermanent, CategoryIdentityVerification, resImageQuality, "document checks failed")
	check(CheckLivenessFailed, ClassPermanent, CategoryIdentityVerification, resLiveness, "liveness failed")
	check(CheckSRCInvalid, ClassPermanent, CategoryIdentityVerification, resNationalRecords, "NTRA/CSO check failed")
	check(CheckFieldErrors, ClassPermanent, CategoryValidation, resFieldErrors, "field errors")
	check(CheckNetwork, ClassTransient, CategoryNetwork, resRetry, "")
	check(CheckMessageWithoutData, ClassPermanent, CategoryUnknown, resUnknownMessage, "error message without code or data")

	t.Messages = defaultMessages()
	return t
}

// defaultMessages are the message patterns, one or more per cause row of the
// Authentication, Registration, Identity verification and Business request
// tables of the Vlens errors page. Order matters: the first match wins, so
// specific causes come before broader ones (refresh before access token,
// location change before liveness, liveness before fake).
func defaultMessages() []MessageRule {
	msg := func(name, pattern string, class Class, cat Category, res string) MessageRule {
		return MessageRule{Name: name, Pattern: pattern, Rule: Rule{Class: class, Category: cat, Resolution: res}}
	}
	// breaker marks a rule about the tenant's account (see Rule.Breaker).
	breaker := func(m MessageRule) MessageRule { m.Rule.Breaker = true; return m }
	perm := ClassPermanent
	const otpWord = `(\botp|one[ -]time (password|code)|verification code)`
	const invalidWord = `\b(invalid|wrong|incorrect|mismatch\w*|not (valid|correct|match\w*))\b`
	otpInvalid := otpWord + `.*` + invalidWord + `|` + invalidWord + `.*` + otpWord
	signing := msg("invalid otp (signing)", otpInvalid, perm, CategoryBusinessRequest, resSigningOTP)
	signing.Endpoint = `/BusinessRequest/`
	const otpExpired = otpWord + `.*\b(expired|not found|no longer valid)\b|\bexpired\b.*` + otpWord + `|^\W*(otp )?request (was |is )?not found`
	// On a signing step an expired or unknown OTP request means the same as a
	// wrong code: request a new one (the registration resolution would send
	// the user back to StepVerifyPhone).
	signingExpired := msg("otp expired (signing)", otpExpired, perm, CategoryBusinessRequest, resSigningOTP)
	signingExpired.Endpoint = `/BusinessRequest/`
	return []MessageRule{
		// Authentication.
		msg("refresh token expired",
			`refresh[ _-]?token.*\b(expired|revoked|invalid|not found)\b|\b(expired|revoked|invalid)\b.*refresh[ _-]?token`,
			perm, CategoryAuthentication, resRelogin),
		msg("access token expired",
			`token.*\bexpired\b|\bexpired\b.*token|\bjwt\b.*\bexpired\b|lifetime validation failed`,
			ClassAuthExpired, CategoryAuthentication, resRefreshToken),
		breaker(msg("apikey invalid",
			`api[ _-]?key.*\b(missing|invalid|required|not (valid|found|active|provided|exist\w*)|inactive|disabled|revoked|wrong|incorrect|expired|unknown)\b|\b(missing|invalid|wrong|incorrect|unknown|no)\b.*api[ _-]?key`,
			perm, CategoryAuthentication, resAPIKey)),
		msg("authorization missing",
			`authori[sz]ation\b.*\b(missing|required|not (found|provided|present))\b|\b(missing|no)\b.*\b(authori[sz]ation|bearer)\b|bearer token.*\b(missing|required)\b`,
			perm, CategoryAuthentication, resAuthorization),
		breaker(msg("different tenant",
			`\b(different|another|wrong|other)\s+tenan(t|cy)|tenan(t|cy)\w*.*\b(mismatch|does ?n[o']t match)|\bbelong\w* to (a |an )?(different|another|other)\b|(does ?n[o']t|not) belong\w* to (this|the|your|current) tenan(t|cy)`,
			perm, CategoryAuthentication, resTenant)),
		breaker(msg("no permission",
			`permission|forbidden|access (is )?denied|not (authori[sz]ed|allowed) (to|for)|insufficient (privileges?|rights|roles?)|\b(lacks?|missing) (the )?(required )?(role|rights|privileges?)\b`,
			perm, CategoryAuthentication, resPermission)),

		// Registration.
		msg("already registered",
			`\b(phone|mobile|e-?mail|user ?name)\b.*\b(already|exists?|taken|in use|registered)\b|\b(is|was) already (registered|in use|taken)\b|\bduplicate (phone|mobile|e-?mail)\b`,
			perm, CategoryRegistration, resAlreadyExists),
		signingExpired,
		msg("otp expired", otpExpired, perm, CategoryRegistration, resOTPExpired),
		signing,
		msg("invalid otp", otpInvalid, perm, CategoryRegistration, resInvalidOTP),

		// Identity verification, the causes other rules could shadow.
		msg("national records check failed",
			`\b(ntra|cso)\b|national (records?|registry|database)|authority check|civil (status|registry)`,
			perm, CategoryIdentityVerification, resNationalRecords),
		msg("transaction not found",
			`transaction.*\b(not found|does ?n[o']t exist|invalid|expired|unknown)\b|\b(invalid|unknown|bad|wrong)\b.*transaction`,
			perm, CategoryIdentityVerification, resNoTransaction),

		// Business request.
		msg("location changed",
			`location.*\b(changed|moved|different|far)\b|liveness (re-?validation |revalidation |check )?(is )?required|re-?validate (your |the )?liveness|\b80 ?km\b`,
			perm, CategoryBusinessRequest, resLocationChanged),
		msg("user not eligible",
			`eligib|\bpending (business )?request|e-?mail (address )?(is |was )?not (confirmed|verified)|\b(not|isn't) (digitally )?verified\b|\bkyc\b`,
			perm, CategoryBusinessRequest, resNotEligible),
		msg("wrong request status",
			`status.*\b(invalid|wrong|not (allowed|valid|expected|correct|pending|approved|suitable))\b|\b(invalid|wrong|unexpected|incorrect) (request |business request )?(status|state)\b|\bin (its|the) current (status|state)\b|not in (a |the )?(valid|correct|expected|pending|approved|right) (state|status)|\balready (signed|approved|rejected|cancell?ed)\b`,
			perm, CategoryBusinessRequest, resRequestStatus),
		msg("required form field missing",
			`(required|mandatory) (form |request |template )?fields?.*\b(missing|empty|not (provided|filled|found))\b|missing (required |mandatory )?(form |request |template )fields?|requestFieldsValues|template fields?`,
			perm, CategoryBusinessRequest, resFormField),

		// Identity verification.
		msg("identical face images",
			`identical|\bsame (face |image |frame |picture |photo )?(images?|frames?|pictures?|photos?)\b|\bduplicate (face|frame|image)s?\b|\b(images|frames|faces) (are )?(the )?same\b|not distinct`,
			perm, CategoryIdentityVerification, resIdenticalFaces),
		msg("liveness failed",
			`liveness.*\b(fail\w*|not (passed|verified|detected|live)|rejected|unsuccessful|low)\b|\b(not a|no) live (person|face)\b|face.*\bnot live\b|\bspoof\w* (face|attack)`,
			perm, CategoryIdentityVerification, resLiveness),
		msg("document fake",
			`fake|spoof|\bforg(ed|ery)\b|photocop|screen ?(capture|shot)|not (a |an )?(genuine|original|real|physical)\b|tamper`,
			perm, CategoryIdentityVerification, resFakeDocument),
		msg("image quality",
			`image quality|quality.*\b(low|poor|bad|insufficient)\b|low quality|blur|too (dark|bright)|\bdark\b|glare|\b(too )?(distant|far away)\b|not clear|unclear|\b(card|id|document|face) (was |is )?not detected\b|could not (read|detect|extract)|unreadable|illegible|\b(ocr|extraction) failed`,
			perm, CategoryIdentityVerification, resImageQuality),
	}
}
