package vlens

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var ignoreTableState = cmpopts.IgnoreUnexported(Table{})

func TestDefaultTableIsValid(t *testing.T) {
	t.Parallel()
	tab := DefaultTable()
	if err := tab.Validate(); err != nil {
		t.Fatalf("DefaultTable().Validate() = %v", err)
	}
	for _, name := range CheckNames {
		if _, ok := tab.Checks[name]; !ok {
			t.Errorf("default table has no check %q", name)
		}
	}
	if len(tab.compiled()) != len(tab.Messages) {
		t.Errorf("%d of %d default message patterns compile", len(tab.compiled()), len(tab.Messages))
	}
	// Every category of the errors page has message rules.
	cats := map[Category]int{}
	for _, m := range tab.Messages {
		cats[m.Rule.Category]++
	}
	for _, c := range []Category{CategoryAuthentication, CategoryRegistration, CategoryIdentityVerification, CategoryBusinessRequest} {
		if cats[c] == 0 {
			t.Errorf("no message rule for category %s", c)
		}
	}
}

func TestDefaultTableIsACopy(t *testing.T) {
	t.Parallel()
	a := DefaultTable()
	a.Codes[3011] = Rule{Class: ClassSuccess}
	a.Messages[0].Pattern = "changed"
	b := DefaultTable()
	if b.Codes[3011].Class != ClassPermanent || b.Messages[0].Pattern == "changed" {
		t.Error("changing one DefaultTable changed the next")
	}
}

func TestLoadTableEmptyPathIsDefault(t *testing.T) {
	t.Parallel()
	got, err := LoadTable("")
	if err != nil {
		t.Fatalf("LoadTable(\"\"): %v", err)
	}
	if diff := cmp.Diff(DefaultTable(), got, ignoreTableState); diff != "" {
		t.Errorf("LoadTable(\"\") differs from DefaultTable (-want +got):\n%s", diff)
	}
}

func TestLoadTableExampleOverride(t *testing.T) {
	t.Parallel()
	tab, err := LoadTable(filepath.Join("testdata", "table-override.json"))
	if err != nil {
		t.Fatalf("LoadTable: %v", err)
	}
	def := DefaultTable()
	tests := []struct {
		desc   string
		status int
		body   string
		want   Verdict
	}{
		{
			desc: "3011 resolution overridden, class and category kept", status: 200,
			body: `{"error_code": 3011}`,
			want: Verdict{Class: ClassPermanent, Category: CategoryIdentityVerification, Code: 3011,
				Resolution: "Ask the customer to photograph the whole card on a plain dark surface, then re-capture",
				Reason:     "error_code 3011: card not detected"},
		},
		{
			desc: "5008 made permanent", status: 200,
			body: `{"error_code": 5008}`,
			want: Verdict{Class: ClassPermanent, Category: CategoryServer, Code: 5008,
				Resolution: "Vlens could not map the extracted data: open a ticket with support@vlenseg.com",
				Reason:     "error_code 5008: could not map extracted data (not retried in this deployment)"},
		},
		{
			desc: "new code 4011", status: 200,
			body: `{"error_code": "4011"}`,
			want: Verdict{Class: ClassPermanent, Category: CategoryAccount, Code: 4011,
				Resolution: resAccount, Reason: "error_code 4011: daily quota exhausted"},
		},
		{
			desc: "new throttling code with retry_after", status: 503,
			body: `{"error_code": 5009}`,
			want: Verdict{Class: ClassThrottled, Category: CategoryServer, Code: 5009, RetryAfter: 30 * time.Second,
				Resolution: "Vlens is shedding load: retried later", Reason: "error_code 5009: server busy"},
		},
		{
			desc: "new HTTP status", status: 409,
			body: `{"error_code": null}`,
			want: Verdict{Class: ClassPermanent, Category: CategoryBusinessRequest, Resolution: pageRequestStatus,
				Reason: "http 409: conflict"},
		},
		{
			desc: "unknown_code check resolution overridden", status: 200,
			body: `{"error_code": 1050}`,
			want: Verdict{Class: ClassPermanent, Category: CategoryUnknown, Code: 1050,
				Resolution: "New Vlens code: open a ticket (vlensq dlq show --ticket) and add it to classification.json",
				Reason:     "error_code 1050 unknown"},
		},
		{
			desc: "new message pattern", status: 200,
			body: `{"error_code": null, "error_message": "National ID is blocked"}`,
			want: Verdict{Class: ClassPermanent, Category: CategoryIdentityVerification, Resolution: pageNational,
				Reason: "message: national id blocked"},
		},
		{
			desc: "default pattern replaced by name keeps its rule", status: 200,
			body: `{"error_code": null, "error_message": "Poor lighting"}`,
			want: Verdict{Class: ClassPermanent, Category: CategoryIdentityVerification, Resolution: pageImageQuality,
				Reason: "message: image quality"},
		},
		{
			desc: "other defaults untouched", status: 200,
			body: `{"error_code": 4003}`,
			want: Verdict{Class: ClassThrottled, Category: CategoryAccount, Code: 4003, RetryAfter: time.Minute,
				Resolution: resTooManyTrials, Reason: "error_code 4003: too many trials"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			env, err := DecodeEnvelope([]byte(tc.body))
			got := tab.Classify(tc.status, env, err)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if got := def.Classify(200, &Envelope{ErrorCode: ptr(4011)}, nil); got.Category != CategoryUnknown {
		t.Errorf("the default table learned 4011 from an override: %+v", got)
	}
	// File entries come first: the new pattern, then the replaced default.
	if tab.Messages[0].Name != "national id blocked" || tab.Messages[1].Name != "image quality" {
		t.Errorf("messages start with %q, %q; want the file's entries first", tab.Messages[0].Name, tab.Messages[1].Name)
	}
	if len(tab.Messages) != len(def.Messages)+1 {
		t.Errorf("got %d message rules, want %d (defaults + 1 new)", len(tab.Messages), len(def.Messages)+1)
	}
}

func TestParseTableOverrides(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc  string
		json  string
		check func(t *testing.T, tab *Table)
	}{
		{
			desc: "empty object is the defaults",
			json: `{}`,
			check: func(t *testing.T, tab *Table) {
				if diff := cmp.Diff(DefaultTable(), tab, ignoreTableState); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			},
		},
		{
			desc: "null sections are ignored",
			json: `{"codes": null, "messages": null}`,
			check: func(t *testing.T, tab *Table) {
				if len(tab.Codes) != len(DefaultTable().Codes) {
					t.Error("codes changed")
				}
			},
		},
		{
			desc: "class success clears the inherited category",
			json: `{"codes": {"3010": {"class": "success"}}}`,
			check: func(t *testing.T, tab *Table) {
				if r := tab.Codes[3010]; r.Class != ClassSuccess || r.Category != CategoryNone {
					t.Errorf("3010 = %+v, want success without category", r)
				}
				if v := tab.Classify(200, &Envelope{ErrorCode: ptr(3010)}, nil); v.Class != ClassSuccess {
					t.Errorf("Classify = %+v", v)
				}
			},
		},
		{
			desc: "retry_after as seconds",
			json: `{"codes": {"4003": {"retry_after": 90}}}`,
			check: func(t *testing.T, tab *Table) {
				if r := tab.Codes[4003]; r.RetryAfter != 90*time.Second || r.Class != ClassThrottled {
					t.Errorf("4003 = %+v", r)
				}
			},
		},
		{
			desc: "a message rule limited to an endpoint",
			json: `{"messages": [{"name": "sign otp", "pattern": "code mismatch", "endpoint": "/CustomerSign/",
				"class": "permanent", "category": "business_request", "resolution": "Request a new OTP via ` + "`StepRequestOtp`" + `"}]}`,
			check: func(t *testing.T, tab *Table) {
				env := &Envelope{ErrorMessage: "Code mismatch"}
				if v := tab.ClassifyEndpoint("/api/BusinessRequest/CustomerSign/StepValidateOtp", 400, env, nil); v.Reason != "message: sign otp" {
					t.Errorf("on the endpoint: %+v", v)
				}
				if v := tab.Classify(400, env, nil); v.Reason == "message: sign otp" {
					t.Errorf("without a path the endpoint rule applied: %+v", v)
				}
			},
		},
		{
			desc: "a new pattern takes precedence over the defaults",
			json: `{"messages": [{"name": "otp throttled", "pattern": "otp", "class": "throttled", "category": "registration",
				"resolution": "Wait", "retry_after": "5m"}]}`,
			check: func(t *testing.T, tab *Table) {
				v := tab.Classify(400, &Envelope{ErrorMessage: "Invalid OTP"}, nil)
				if v.Class != ClassThrottled || v.RetryAfter != 5*time.Minute {
					t.Errorf("got %+v, want the override", v)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			tab, err := ParseTable(strings.NewReader(tc.json))
			if err != nil {
				t.Fatalf("ParseTable: %v", err)
			}
			tc.check(t, tab)
		})
	}
}

func TestParseTableBadFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		json string
		want string // the whole error text
	}{
		{"syntax error", "{\n  \"codes\": {\n    \"3011\": {\"class\": permanent}\n  }\n}",
			`vlens: classification table: line 3, column 23: invalid character 'p' looking for beginning of value`},
		{"truncated", `{"codes": {`, `vlens: classification table: unexpected end of file (truncated JSON?)`},
		{"empty", ``, `vlens: classification table: unexpected end of file (truncated JSON?)`},
		{"not an object", `[]`, `vlens: classification table: want a JSON object with codes, http_statuses, checks, messages`},
		{"trailing data", `{} {}`, `vlens: classification table: trailing data after the JSON object`},
		{"unknown section", `{"code": {}}`, `vlens: classification table: "code": unknown section (want "codes", "http_statuses", "checks", "messages")`},
		{"section twice", `{"codes": {}, "codes": {}}`, `vlens: classification table: "codes": section appears twice`},
		{"codes not an object", `{"codes": []}`, `vlens: classification table: "codes": want an object, got array`},
		{"code key not a number", `{"codes": {"x1": {"class": "permanent"}}}`, `vlens: classification table: codes["x1"]: key is not a number`},
		{"duplicate code", `{"codes": {"3011": {}, "3011": {}}}`, `vlens: classification table: codes["3011"]: duplicate entry`},
		{"unknown class", `{"codes": {"3011": {"class": "perm"}}}`,
			`vlens: classification table: codes["3011"]: class "perm" is not one of "success", "auth_expired", "transient", "throttled", "permanent"`},
		{"unknown category", `{"codes": {"3011": {"category": "identity"}}}`,
			`vlens: classification table: codes["3011"]: category "identity" is not one of "authentication", "registration", "identity_verification", "business_request", "validation", "account", "network", "server", "unknown", "internal"`},
		{"unknown field", `{"codes": {"3011": {"clas": "permanent"}}}`, `vlens: classification table: codes["3011"]: unknown field "clas"`},
		{"wrong field type", `{"codes": {"3011": {"resolution": 5}}}`, `vlens: classification table: codes["3011"]: resolution: want a string, got number`},
		{"entry not an object", `{"codes": {"3011": "permanent"}}`, `vlens: classification table: codes["3011"]: want an object, got string`},
		{"new code without class", `{"codes": {"9001": {"resolution": "x"}}}`, `vlens: classification table: codes["9001"]: class is required for a new entry`},
		{"new code without category", `{"codes": {"9001": {"class": "transient", "resolution": "x"}}}`,
			`vlens: classification table: codes["9001"]: category is required for class transient`},
		{"new code without resolution", `{"codes": {"9001": {"class": "transient", "category": "server"}}}`,
			`vlens: classification table: codes["9001"]: resolution is required`},
		{"success with a category", `{"codes": {"9001": {"class": "success", "category": "server"}}}`,
			`vlens: classification table: codes["9001"]: class success takes no category (got "server")`},
		{"bad retry_after", `{"codes": {"4003": {"retry_after": "a minute"}}}`,
			`vlens: classification table: codes["4003"]: retry_after "a minute" is not a duration such as "60s"`},
		{"negative retry_after", `{"codes": {"4003": {"retry_after": "-1s"}}}`, `vlens: classification table: codes["4003"]: retry_after -1s is negative`},
		{"code 0", `{"codes": {"0": {"class": "success"}}}`, `vlens: classification table: codes["0"]: error_code 0 means success and takes no rule`},
		{"success status", `{"http_statuses": {"404": {"class": "success"}}}`,
			`vlens: classification table: http_statuses["404"]: class success is not allowed here: this rule only applies to failures`},
		{"success check", `{"checks": {"body_not_json": {"class": "success"}}}`,
			`vlens: classification table: checks["body_not_json"]: class success is not allowed here: this rule only applies to failures`},
		{"status out of range", `{"http_statuses": {"99": {"class": "permanent"}}}`, `vlens: classification table: http_statuses["99"]: not an HTTP status (100-599)`},
		{"unknown check", `{"checks": {"fake": {"resolution": "x"}}}`,
			`vlens: classification table: checks["fake"]: unknown check (want one of "body_not_json", "unknown_code", "unknown_code_server_error", "unknown_status", "services_validation", "liveness_failed", "src_invalid", "field_errors", "network", "message_without_data")`},
		{"messages not an array", `{"messages": {}}`, `vlens: classification table: "messages": want an array, got object`},
		{"message without name", `{"messages": [{"pattern": "x"}]}`, `vlens: classification table: messages[0]: name is required`},
		{"message without pattern", `{"messages": [{"name": "n", "class": "permanent", "category": "unknown", "resolution": "r"}]}`,
			`vlens: classification table: messages[0] ("n"): pattern is required`},
		{"bad pattern", `{"messages": [{"name": "n", "pattern": "otp(", "class": "permanent", "category": "unknown", "resolution": "r"}]}`,
			"vlens: classification table: messages[0] (\"n\"): pattern: error parsing regexp: missing closing ): `(?i)otp(`"},
		{"bad endpoint", `{"messages": [{"name": "n", "pattern": "x", "endpoint": "[", "class": "permanent", "category": "unknown", "resolution": "r"}]}`,
			"vlens: classification table: messages[0] (\"n\"): endpoint: error parsing regexp: missing closing ]: `[`"},
		{"new message without class", `{"messages": [{"name": "n", "pattern": "x"}]}`, `vlens: classification table: messages[0] ("n"): class is required for a new rule`},
		{"duplicate message", `{"messages": [{"name": "invalid otp"}, {"name": "invalid otp"}]}`, `vlens: classification table: messages[1] ("invalid otp"): duplicate name`},
		{"bad override of a default message", `{"messages": [{"name": "invalid otp", "category": "nope"}]}`,
			`vlens: classification table: messages[0] ("invalid otp"): category "nope" is not one of "authentication", "registration", "identity_verification", "business_request", "validation", "account", "network", "server", "unknown", "internal"`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			tab, err := ParseTable(strings.NewReader(tc.json))
			if err == nil {
				t.Fatalf("ParseTable succeeded (%d codes), want %s", len(tab.Codes), tc.want)
			}
			if tab != nil {
				t.Error("ParseTable returned a table with its error")
			}
			var te *TableError
			if !errors.As(err, &te) {
				t.Errorf("error %T is not a *TableError", err)
			}
			if err.Error() != tc.want {
				t.Errorf("error:\n got %s\nwant %s", err, tc.want)
			}
		})
	}
}

func TestLoadTableErrorsNameTheFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "classification.json")
	if err := os.WriteFile(bad, []byte(`{"codes": {"9001": {"class": "transient"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadTable(bad)
	want := `vlens: classification table ` + bad + `: codes["9001"]: category is required for class transient`
	if err == nil || err.Error() != want {
		t.Errorf("LoadTable(bad) error:\n got %v\nwant %s", err, want)
	}

	missing := filepath.Join(dir, "missing.json")
	_, err = LoadTable(missing)
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("LoadTable(missing) = %v, want a not-exist error naming the path", err)
	}

	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, []byte(`{"_comment": "`+strings.Repeat("x", MaxTableFileBytes)+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadTable(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("LoadTable(big) = %v, want a size error", err)
	}
}

func TestTableJSONRoundTrip(t *testing.T) {
	t.Parallel()
	def := DefaultTable()
	b, err := json.MarshalIndent(def, "", "  ")
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	for _, want := range []string{`"codes": {`, `"4003": {`, `"retry_after": "1m0s"`, `"http_statuses": {`, `"checks": {`, `"name": "invalid otp (signing)"`, `"endpoint": "/BusinessRequest/"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("marshalled table lacks %s", want)
		}
	}
	back, err := ParseTable(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("ParseTable(Marshal(DefaultTable())): %v", err)
	}
	if diff := cmp.Diff(def, back, ignoreTableState); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestRuleJSON(t *testing.T) {
	t.Parallel()
	r := Rule{Class: ClassThrottled, Category: CategoryAccount, Resolution: "wait", Description: "d", RetryAfter: 90 * time.Second}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"class":"throttled","category":"account","resolution":"wait","description":"d","retry_after":"1m30s"}`
	if string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	var back Rule
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	var m MessageRule
	if err := json.Unmarshal([]byte(`{"name":"n","pattern":"p","endpoint":"e","class":"permanent","category":"unknown","resolution":"r","retry_after":2}`), &m); err != nil {
		t.Fatal(err)
	}
	wantM := MessageRule{Name: "n", Pattern: "p", Endpoint: "e", Rule: Rule{Class: ClassPermanent, Category: CategoryUnknown, Resolution: "r", RetryAfter: 2 * time.Second}}
	if diff := cmp.Diff(wantM, m); diff != "" {
		t.Errorf("MessageRule (-want +got):\n%s", diff)
	}
}

func TestValidateHandBuiltTable(t *testing.T) {
	t.Parallel()
	tab := &Table{Messages: []MessageRule{{Name: "x", Pattern: "(", Rule: Rule{Class: ClassPermanent, Category: CategoryUnknown, Resolution: "r"}}}}
	err := tab.Validate()
	if err == nil || !strings.Contains(err.Error(), `messages[0] ("x"): pattern:`) {
		t.Errorf("Validate = %v, want the bad pattern named", err)
	}
	// Classify still works: the bad rule is skipped, the checks fall back to
	// the defaults.
	v := tab.Classify(200, &Envelope{Data: []byte(`{"id":1}`), ErrorMessage: "("}, nil)
	if v.Class != ClassSuccess {
		t.Errorf("Classify = %+v, want success", v)
	}
	if v := tab.Classify(200, &Envelope{ErrorCode: ptr(3011)}, nil); v.Class != ClassPermanent || v.Category != CategoryUnknown {
		t.Errorf("hand-built table without codes: %+v, want permanent/unknown", v)
	}
}

func ExampleParseTable() {
	tab, err := ParseTable(strings.NewReader(`{
		"codes": {"9001": {"class": "transient", "category": "server",
			"resolution": "Retry later", "description": "new overload code", "retry_after": "30s"}}
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	v := tab.Classify(200, &Envelope{ErrorCode: ptr(9001)}, nil)
	fmt.Println(v.Class, v.Category, v.RetryAfter, v.Reason)

	_, err = ParseTable(strings.NewReader(`{"codes": {"9002": {"class": "transient"}}}`))
	fmt.Println(err)
	// Output:
	// transient server 30s error_code 9001: new overload code
	// vlens: classification table: codes["9002"]: category is required for class transient
}
