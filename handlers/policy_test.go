package handlers

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestPolicyBackoffMatchesErrorsPage(t *testing.T) {
	t.Parallel()
	p := Policy{}.withDefaults()
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}
	for n, w := range want {
		if got := p.Backoff(n); got != w {
			t.Errorf("Backoff(%d) = %v, want %v", n, got, w)
		}
	}
	if got := p.Backoff(1000); got != MaxDelayDefault {
		t.Errorf("Backoff(1000) = %v, want the cap", got)
	}
}

func TestPolicyJitterStaysWithinBounds(t *testing.T) {
	t.Parallel()
	p := Policy{}.withDefaults()
	for _, r := range []float64{0, 0.5, 0.999} {
		got := p.jittered(time.Second, r)
		if got > time.Second || got < 800*time.Millisecond {
			t.Errorf("jittered(1s, %v) = %v, want within [800ms, 1s]", r, got)
		}
	}
	for range 1000 {
		if d := p.Delay(2, errors.New("x")); d > 2*time.Second || d < 1600*time.Millisecond {
			t.Fatalf("Delay(2) = %v, want within [1.6s, 2s]", d)
		}
	}
	noJitter := Policy{Jitter: -1}.withDefaults()
	if d := noJitter.Delay(0, errors.New("x")); d != 500*time.Millisecond {
		t.Errorf("Delay without jitter = %v", d)
	}
}

func TestPolicyThrottledDelay(t *testing.T) {
	t.Parallel()
	p := Policy{}.withDefaults()
	tests := []struct {
		wait      time.Duration
		low, high time.Duration
	}{
		{wait: 3 * time.Second, low: 3 * time.Second, high: 3300 * time.Millisecond},
		{wait: 0, low: ThrottleMinDefault, high: 1100 * time.Millisecond},
		{wait: time.Hour, low: ThrottleMaxDefault, high: 11 * time.Minute},
	}
	for _, tc := range tests {
		err := fmt.Errorf("wrapped: %w", &ThrottledError{Wait: tc.wait})
		if d := p.Delay(5, err); d < tc.low || d > tc.high {
			t.Errorf("Delay(throttled %v) = %v, want within [%v, %v]", tc.wait, d, tc.low, tc.high)
		}
		if IsFailure(err) {
			t.Errorf("IsFailure(throttled) = true: throttling must not spend attempts")
		}
	}
	if !IsFailure(errors.New("boom")) {
		t.Error("IsFailure(plain error) = false")
	}
}

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	for _, p := range []Policy{
		{Jitter: 1},
		{BaseDelay: time.Second, MaxDelay: time.Millisecond},
		{ThrottleMin: time.Minute, ThrottleMax: time.Second},
	} {
		if err := p.withDefaults().validate(); err == nil {
			t.Errorf("validate(%+v) = nil, want an error", p)
		}
	}
	if err := (Policy{}).withDefaults().validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}
