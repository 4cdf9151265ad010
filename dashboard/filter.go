package dashboard

import (
	"net/url"
	"strings"
	"time"

	"github.com/vlensq/vlensq/deadletter"
)

// filterKeys are the query parameters of a dead-letter filter
// (deadletter.ParseFilter).
var filterKeys = []string{"tenant", "code", "category", "type", "class", "since", "until", "retries_exhausted"}

// dateLayouts are the forms of since/until a person types in a text box,
// read as UTC, besides what deadletter.ParseFilter takes (RFC3339 and ages
// such as 24h or 7d).
var dateLayouts = []string{
	"2006-01-02", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02 15:04:05",
}

// normalizeTime turns a date or a date and time without zone into RFC3339
// UTC; other values pass unchanged.
func normalizeTime(s string) string {
	for _, layout := range dateLayouts {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.Format(time.RFC3339)
		}
	}
	return s
}

// parseFilter reads the filter keys of q (others are ignored). Errors are
// *deadletter.InputError naming the key.
func (d *Dashboard) parseFilter(q url.Values) (deadletter.Filter, error) {
	v := url.Values{}
	for _, k := range filterKeys {
		if s := strings.TrimSpace(q.Get(k)); s != "" {
			if k == "since" || k == "until" {
				s = normalizeTime(s)
			}
			v.Set(k, s)
		}
	}
	return deadletter.ParseFilter(v, d.cfg.Now())
}

// describeFilter renders a filter for people: "tenant acme, code 3011".
func describeFilter(f deadletter.Filter) string {
	if f.IsZero() {
		return "all records"
	}
	v := f.Values()
	var parts []string
	for _, k := range filterKeys {
		if s := v.Get(k); s != "" {
			parts = append(parts, strings.ReplaceAll(k, "_", " ")+" "+s)
		}
	}
	return strings.Join(parts, ", ")
}

// pinUntil bounds a filter selection to the records that exist now, so
// that the action confirmed after a dry run does not reach records that
// failed in between.
func pinUntil(f deadletter.Filter, now time.Time) deadletter.Filter {
	// Until is exclusive with millisecond resolution: one millisecond more
	// keeps a record that failed in this very millisecond.
	limit := now.UTC().Truncate(time.Millisecond).Add(time.Millisecond)
	if f.Until.IsZero() || limit.Before(f.Until) {
		f.Until = limit
	}
	return f
}
