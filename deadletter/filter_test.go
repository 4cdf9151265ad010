package deadletter

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseFilter(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 10, 12, 0, 0, 0, time.UTC)
	yes, no := true, false
	tests := []struct {
		desc  string
		query string
		want  Filter
	}{
		{desc: "empty", query: "", want: Filter{}},
		{desc: "tenant and code", query: "tenant=acme&code=3011", want: Filter{Tenant: "acme", Code: 3011, HasCode: true}},
		{desc: "code zero", query: "code=0", want: Filter{HasCode: true}},
		{desc: "category type class", query: "category=identity_verification&type=ocr:aml&class=transient",
			want: Filter{Category: "identity_verification", Type: "ocr:aml", Class: "transient"}},
		{desc: "since RFC3339", query: "since=2025-06-01T00:00:00Z", want: Filter{Since: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}},
		{desc: "since with offset", query: "since=2025-06-01T02:00:00%2B02:00", want: Filter{Since: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}},
		{desc: "since duration", query: "since=24h", want: Filter{Since: now.Add(-24 * time.Hour)}},
		{desc: "since days until duration", query: "since=7d&until=90m", want: Filter{Since: now.Add(-7 * 24 * time.Hour), Until: now.Add(-90 * time.Minute)}},
		{desc: "retries exhausted", query: "retries_exhausted=true", want: Filter{RetriesExhausted: &yes}},
		{desc: "not retries exhausted", query: "retries_exhausted=false", want: Filter{RetriesExhausted: &no}},
		{desc: "unknown keys ignored", query: "limit=10&cursor=x&tenant=t", want: Filter{Tenant: "t"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			v, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseFilter(v, now)
			if err != nil {
				t.Fatalf("ParseFilter(%q): %v", tt.query, err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("ParseFilter(%q) (-want +got):\n%s", tt.query, d)
			}
			// Values is the inverse of ParseFilter.
			back, err := ParseFilter(got.Values(), now)
			if err != nil {
				t.Fatalf("ParseFilter(Values()): %v", err)
			}
			if d := cmp.Diff(got, back); d != "" {
				t.Errorf("Values round trip (-want +got):\n%s", d)
			}
		})
	}
}

func TestParseFilterErrorsNameTheField(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		query string
		field string
	}{
		{"code=abc", "code"},
		{"code=30.5", "code"},
		{"category=identity", "category"},
		{"class=fatal", "class"},
		{"since=yesterday", "since"},
		{"since=-24h", "since"},
		{"until=2025-13-01", "until"},
		{"since=1h&until=2h", "until"},
		{"retries_exhausted=maybe", "retries_exhausted"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			v, _ := url.ParseQuery(tt.query)
			_, err := ParseFilter(v, now)
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("ParseFilter(%q) = %v, want an *InputError", tt.query, err)
			}
			if ie.Field != tt.field {
				t.Errorf("error names field %q, want %q (%v)", ie.Field, tt.field, err)
			}
		})
	}
}

func TestFilterMatch(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	rec := newRec("acme", "t1")
	rec.FailedAt = t0
	rec.RetriesExhausted = true
	tests := []struct {
		desc string
		f    Filter
		want bool
	}{
		{"zero", Filter{}, true},
		{"tenant", Filter{Tenant: "acme"}, true},
		{"other tenant", Filter{Tenant: "beta"}, false},
		{"code", Filter{Code: 3011, HasCode: true}, true},
		{"code 0", Filter{HasCode: true}, false},
		{"since equal", Filter{Since: t0}, true},
		{"until equal is exclusive", Filter{Until: t0}, false},
		{"until after", Filter{Until: t0.Add(time.Millisecond)}, true},
		{"exhausted", Filter{RetriesExhausted: &yes}, true},
		{"not exhausted", Filter{RetriesExhausted: &no}, false},
		{"all fields", Filter{Tenant: "acme", Category: "identity_verification", Type: "verify:id_front", Class: "permanent", Code: 3011, HasCode: true}, true},
	}
	for _, tt := range tests {
		if got := tt.f.Match(rec); got != tt.want {
			t.Errorf("%s: Match = %v, want %v", tt.desc, got, tt.want)
		}
	}
	if (Filter{}).IsZero() != true || (Filter{HasCode: true}).IsZero() {
		t.Error("IsZero wrong")
	}
}

func TestParseAge(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"90m": 90 * time.Minute, "24h": 24 * time.Hour, "30d": 30 * 24 * time.Hour} {
		if got, err := ParseAge(in); err != nil || got != want {
			t.Errorf("ParseAge(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "soon", "-1h", "xd", "-2d"} {
		if _, err := ParseAge(in); err == nil {
			t.Errorf("ParseAge(%q) succeeded", in)
		}
	}
}
