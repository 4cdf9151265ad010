package deadletter

import (
	"errors"
	"net/url"
	"testing"
	"time"
)

// FuzzParseFilter: no query string makes the dead-letter filter parser
// panic; a rejection is an *InputError naming the key; an accepted filter
// survives Values() → ParseFilter unchanged.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"", "tenant=acme", "code=3011&category=identity_verification", "code=0", "code=x",
		"since=24h&until=2025-01-02T15:04:05Z", "since=7d", "since=-5m", "until=99999999d", "class=permanent&type=ocr:id_front",
		"category=weather", "retries_exhausted=true", "retries_exhausted=maybe", "tenant=%20a%20&since=2025-13-01T00:00:00Z",
		"since=1e9h", "code=99999999999999999999"} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		flt, err := ParseFilter(v, now)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) || ie.Field == "" {
				t.Fatalf("rejection %v (%T) is not an *InputError naming the key", err, err)
			}
			return
		}
		again, err := ParseFilter(flt.Values(), now)
		if err != nil {
			t.Fatalf("filter %+v from %q does not read back from %q: %v", flt, q, flt.Values().Encode(), err)
		}
		if !sameFilter(flt, again) {
			t.Fatalf("round trip of %q changed the filter:\n%+v\n%+v", q, flt, again)
		}
	})
}

func sameFilter(a, b Filter) bool {
	if (a.RetriesExhausted == nil) != (b.RetriesExhausted == nil) ||
		(a.RetriesExhausted != nil && *a.RetriesExhausted != *b.RetriesExhausted) {
		return false
	}
	return a.Tenant == b.Tenant && a.Category == b.Category && a.Type == b.Type && a.Class == b.Class &&
		a.Code == b.Code && a.HasCode == b.HasCode && a.Since.Equal(b.Since) && a.Until.Equal(b.Until)
}
