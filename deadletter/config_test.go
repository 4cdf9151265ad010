package deadletter

import (
	"strings"
	"testing"
	"time"

	"github.com/vlensq/vlensq/internal/redistest"
)

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	rdb := redistest.Client(t, redistest.DBDeadletter)
	tests := []struct {
		desc string
		cfg  Config
		want string
	}{
		{desc: "braces in prefix", cfg: Config{Prefix: "a{b}"}, want: "Prefix"},
		{desc: "negative age", cfg: Config{MaxAge: -time.Hour}, want: "MaxAge"},
		{desc: "negative trim every", cfg: Config{TrimEvery: -1}, want: "TrimEvery"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := New(rdb, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error naming %s", err, tt.want)
			}
		})
	}
	if _, err := New(nil, Config{}); err == nil {
		t.Error("New(nil client) succeeded")
	}
	s, err := New(rdb, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.Prefix != PrefixDefault || s.cfg.MaxCount != MaxCountDefault || s.cfg.MaxAge != RetentionAgeDefault ||
		s.cfg.TrimEvery != TrimEveryDefault || s.cfg.TrimInterval != TrimIntervalDefault {
		t.Errorf("defaults not applied: %+v", s.cfg)
	}
	if got := s.k.record("X"); got != "{vlensq:dlq}:r:X" {
		t.Errorf("record key = %q, want {vlensq:dlq}:r:X", got)
	}
}
