package deadletter

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vlensq/vlensq/vlens"
)

// Filter selects records. Zero fields do not filter; set fields combine with
// AND. Times have millisecond resolution.
type Filter struct {
	Tenant   string
	Category string
	Type     string
	Class    string
	// Code selects error_code == Code when HasCode is set (Code 0 selects the
	// failures without a Vlens code, such as network errors).
	Code    int
	HasCode bool
	// Since keeps records with failed_at >= Since; Until those with
	// failed_at < Until.
	Since, Until time.Time
	// RetriesExhausted, when set, keeps records whose retries_exhausted
	// equals *RetriesExhausted.
	RetriesExhausted *bool
}

// IsZero reports whether f selects every record.
func (f Filter) IsZero() bool {
	return f.Tenant == "" && f.Category == "" && f.Type == "" && f.Class == "" && !f.HasCode &&
		f.Since.IsZero() && f.Until.IsZero() && f.RetriesExhausted == nil
}

// Match reports whether rec passes f. The store uses its indexes instead;
// Match is for callers holding records.
func (f Filter) Match(rec *Record) bool {
	switch {
	case f.Tenant != "" && rec.Tenant != f.Tenant,
		f.Category != "" && rec.Category != f.Category,
		f.Type != "" && rec.Type != f.Type,
		f.Class != "" && rec.Class != f.Class,
		f.HasCode && rec.ErrorCode != f.Code,
		f.RetriesExhausted != nil && rec.RetriesExhausted != *f.RetriesExhausted:
		return false
	}
	ms := rec.FailedAt.UnixMilli()
	if !f.Since.IsZero() && ms < f.Since.UnixMilli() {
		return false
	}
	if !f.Until.IsZero() && ms >= f.Until.UnixMilli() {
		return false
	}
	return true
}

// Values encodes f as query parameters that ParseFilter reads back.
func (f Filter) Values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("tenant", f.Tenant)
	set("category", f.Category)
	set("type", f.Type)
	set("class", f.Class)
	if f.HasCode {
		v.Set("code", strconv.Itoa(f.Code))
	}
	if !f.Since.IsZero() {
		v.Set("since", f.Since.UTC().Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		v.Set("until", f.Until.UTC().Format(time.RFC3339Nano))
	}
	if f.RetriesExhausted != nil {
		v.Set("retries_exhausted", strconv.FormatBool(*f.RetriesExhausted))
	}
	return v
}

// ParseFilter reads a filter from query parameters (HTTP API) or flags (CLI):
// tenant, code, category, type, class, since, until, retries_exhausted.
// since and until take an RFC3339 time or an age relative to now such as
// "90m", "24h" or "7d" (meaning now minus that). category and class must be
// known values. Other keys are ignored. A bad value returns an *InputError
// naming the key.
func ParseFilter(v url.Values, now time.Time) (Filter, error) {
	var f Filter
	f.Tenant = strings.TrimSpace(v.Get("tenant"))
	f.Type = strings.TrimSpace(v.Get("type"))
	if s := strings.TrimSpace(v.Get("category")); s != "" {
		if !vlens.Category(s).Valid() {
			return Filter{}, inputErr("category", s, "unknown category (want one of "+joinCategories()+")")
		}
		f.Category = s
	}
	if s := strings.TrimSpace(v.Get("class")); s != "" {
		if !vlens.Class(s).Valid() {
			return Filter{}, inputErr("class", s, "unknown class (want one of "+joinClasses()+")")
		}
		f.Class = s
	}
	if s := strings.TrimSpace(v.Get("code")); s != "" {
		c, err := strconv.Atoi(s)
		if err != nil {
			return Filter{}, inputErr("code", s, "not an integer error code")
		}
		f.Code, f.HasCode = c, true
	}
	var err error
	if f.Since, err = parseTime("since", v.Get("since"), now); err != nil {
		return Filter{}, err
	}
	if f.Until, err = parseTime("until", v.Get("until"), now); err != nil {
		return Filter{}, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return Filter{}, inputErr("until", v.Get("until"), "must be after since")
	}
	if s := strings.TrimSpace(v.Get("retries_exhausted")); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return Filter{}, inputErr("retries_exhausted", s, "want true or false")
		}
		f.RetriesExhausted = &b
	}
	return f, nil
}

// parseTime reads an RFC3339 time or an age ("24h", "7d") before now.
func parseTime(field, s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	d, err := ParseAge(s)
	if err != nil {
		return time.Time{}, inputErr(field, s, "want an RFC3339 time (2006-01-02T15:04:05Z) or an age like 90m, 24h or 7d")
	}
	return now.Add(-d).UTC(), nil
}

// ParseAge reads a non-negative age: a Go duration such as "90m" or "24h",
// or whole days such as "30d". Filters (since, until) and purges (older
// than) take ages in this form.
func ParseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad number of days %q", days)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	return d, nil
}

func joinCategories() string {
	s := make([]string, len(vlens.Categories))
	for i, c := range vlens.Categories {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

func joinClasses() string {
	s := make([]string, len(vlens.Classes))
	for i, c := range vlens.Classes {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}
