package vlens_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/vlensq/vlensq/vlens"
	"github.com/vlensq/vlensq/vlens/vlenstest"
)

// NotProcessed is what lets a call that must not be repeated be retried: it
// holds only when Vlens provably did not act on the call.
func TestErrorNotProcessed(t *testing.T) {
	t.Parallel()
	b := setup(t, vlenstest.Options{})
	tests := []struct {
		scenario string
		timeout  time.Duration
		want     bool
	}{
		{scenario: "http429:1", want: true},
		{scenario: "code:4003", want: true},
		{scenario: "reset"},
		{scenario: "http500"},
		{scenario: "http502html"},
		{scenario: "http:504"},
		{scenario: "truncated"},
		{scenario: "empty"},
		{scenario: "delay:2s+ok", timeout: 100 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.scenario, func(t *testing.T) {
			call := b.amlCall(tc.scenario)
			call.Timeout = tc.timeout
			_, err := b.client.Do(context.Background(), call)
			var verr *vlens.Error
			if !errors.As(err, &verr) {
				t.Fatalf("Do = %v, want a *vlens.Error", err)
			}
			if got := verr.NotProcessed(); got != tc.want || !verr.Sent {
				t.Errorf("NotProcessed() = %v (Sent %v), want %v; error %v", got, verr.Sent, tc.want, err)
			}
		})
	}

	t.Run("connection refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		_ = l.Close() // nothing listens there now
		cfg := b.config(b.tenant)
		cfg.BaseURL = "http://" + addr
		c := b.newClient(t, cfg)
		_, err = c.Do(context.Background(), vlens.Call{Tenant: b.tenant.Name, Token: vlens.TokenNone, Path: pathAML, Body: map[string]string{"name": "x"}})
		var verr *vlens.Error
		if !errors.As(err, &verr) || verr.Sent || !verr.NotProcessed() {
			t.Fatalf("Do = %v (Sent %v), want a failure that was never sent", err, verr != nil && verr.Sent)
		}
	})

	t.Run("local rate limit", func(t *testing.T) {
		cfg := b.config(b.tenant)
		cfg.Limiter = refuseAll{}
		c := b.newClient(t, cfg)
		_, err := c.Do(context.Background(), b.amlCall(""))
		var verr *vlens.Error
		if !errors.As(err, &verr) || verr.Class != vlens.ClassThrottled || verr.Sent || !verr.NotProcessed() {
			t.Fatalf("Do = %v, want a throttled failure that was never sent", err)
		}
	})
}

type refuseAll struct{}

func (refuseAll) Allow(context.Context, vlens.Tenant) (time.Duration, error) { return time.Minute, nil }
