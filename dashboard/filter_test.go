package dashboard

import (
	"testing"
	"time"

	"github.com/vlensq/vlensq/deadletter"
)

func TestNormalizeTime(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"2025-06-01", "2025-06-01T00:00:00Z"},
		{"2025-06-01T14:30", "2025-06-01T14:30:00Z"},
		{"2025-06-01 14:30", "2025-06-01T14:30:00Z"},
		{"2025-06-01 14:30:05", "2025-06-01T14:30:05Z"},
		{"2025-06-01T14:30:05+02:00", "2025-06-01T14:30:05+02:00"},
		{"24h", "24h"},
		{"7d", "7d"},
		{"garbage", "garbage"},
	}
	for _, tt := range tests {
		if got := normalizeTime(tt.in); got != tt.want {
			t.Errorf("normalizeTime(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDescribeFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		f    deadletter.Filter
		want string
	}{
		{deadletter.Filter{}, "all records"},
		{deadletter.Filter{Tenant: "acme", Code: 3011, HasCode: true}, "tenant acme, code 3011"},
		{deadletter.Filter{Category: "validation", Since: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}, "category validation, since 2025-06-01T00:00:00Z"},
	}
	for _, tt := range tests {
		if got := describeFilter(tt.f); got != tt.want {
			t.Errorf("describeFilter(%+v) = %q, want %q", tt.f, got, tt.want)
		}
	}
}

func TestPinUntil(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.UTC)
	got := pinUntil(deadletter.Filter{Tenant: "a"}, now)
	if want := time.Date(2025, 6, 1, 12, 0, 0, 124000000, time.UTC); !got.Until.Equal(want) {
		t.Errorf("Until = %s, want %s", got.Until, want)
	}
	earlier := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	if got := pinUntil(deadletter.Filter{Until: earlier}, now); !got.Until.Equal(earlier) {
		t.Errorf("an earlier Until was moved to %s", got.Until)
	}
}
