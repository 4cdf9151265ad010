package deadletter

import (
	"testing"
	"time"
)

func TestEncodeULID(t *testing.T) {
	t.Parallel()
	var zero, ones [16]byte
	for i := range ones {
		ones[i] = 0xff
	}
	tests := []struct {
		in   [16]byte
		want string
	}{
		{zero, "00000000000000000000000000"},
		{ones, "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"},
		{[16]byte{15: 1}, "00000000000000000000000001"},
		{[16]byte{15: 32}, "00000000000000000000000010"},
	}
	for _, tt := range tests {
		if got := encodeULID(tt.in); got != tt.want {
			t.Errorf("encodeULID(%x) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestNewIDSortsByTimeAndIsUnique(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	prev := ""
	for i := range 2000 {
		at := time.UnixMilli(1_700_000_000_000 + int64(i/10)) // 10 per millisecond
		id := newID(at)
		if len(id) != 26 || seen[id] {
			t.Fatalf("id %q: bad length or duplicate", id)
		}
		seen[id] = true
		if i%10 == 0 && id <= prev {
			t.Fatalf("id %s of a later millisecond sorts before %s", id, prev)
		}
		prev = id
	}
	// The ULID spec example: ulid(1469918176385) starts 01ARYZ6S41.
	if got := newID(time.UnixMilli(1469918176385))[:10]; got != "01ARYZ6S41" {
		t.Errorf("time prefix %s, want 01ARYZ6S41", got)
	}
}
