package vlens

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestFlightGroup(t *testing.T) {
	t.Parallel()

	t.Run("callers share one run", func(t *testing.T) {
		t.Parallel()
		var g flightGroup
		var runs atomic.Int64
		release := make(chan struct{})
		fn := func() (Session, *Error) {
			runs.Add(1)
			<-release
			return Session{AccessToken: "fresh"}, nil
		}
		const callers = 20
		var wg sync.WaitGroup
		results := make(chan string, callers)
		for range callers {
			wg.Go(func() {
				s, err := g.do(context.Background(), "owner", fn)
				if err != nil {
					t.Error(err)
				}
				results <- s.AccessToken
			})
		}
		// The run is held until every caller has joined it.
		waitFor(t, func() bool {
			g.mu.Lock()
			defer g.mu.Unlock()
			f := g.m["owner"]
			return f != nil && f.callers == callers
		})
		close(release)
		wg.Wait()
		close(results)
		for tok := range results {
			if tok != "fresh" {
				t.Errorf("caller got %q, want the shared result", tok)
			}
		}
		if n := runs.Load(); n != 1 {
			t.Errorf("runs = %d, want 1", n)
		}
	})

	t.Run("a caller whose context ends stops waiting; the run goes on", func(t *testing.T) {
		t.Parallel()
		var g flightGroup
		release := make(chan struct{})
		done := make(chan Session, 1)
		fn := func() (Session, *Error) { <-release; return Session{AccessToken: "late"}, nil }
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			s, _ := g.do(context.Background(), "k", fn)
			done <- s
		}()
		waitFor(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.m) == 1 })
		cancel()
		_, err := g.do(ctx, "k", fn)
		if err == nil || err.Class != ClassTransient || !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled caller got %v, want a transient error wrapping context.Canceled", err)
		}
		close(release)
		if s := <-done; s.AccessToken != "late" {
			t.Errorf("other caller got %q, want the run's result", s.AccessToken)
		}
	})

	t.Run("errors are copied per caller", func(t *testing.T) {
		t.Parallel()
		var g flightGroup
		fn := func() (Session, *Error) { return Session{}, &Error{Class: ClassPermanent, Reason: "no"} }
		e1 := func() *Error { _, e := g.do(context.Background(), "e", fn); return e }()
		e1.Reason = "changed"
		e2 := func() *Error { _, e := g.do(context.Background(), "e", fn); return e }()
		if e2.Reason != "no" {
			t.Errorf("second error reason %q, want an unchanged copy", e2.Reason)
		}
	})
}

func TestExpiring(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	set, _ := NewTenantSet()
	c, err := New(Config{Tenants: set, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc string
		s    Session
		want bool
	}{
		{"no access token", Session{RefreshToken: "r"}, true},
		{"unknown expiry", Session{AccessToken: "a"}, false},
		{"far from expiry", Session{AccessToken: "a", AccessExpiresAt: now.Add(time.Hour)}, false},
		{"inside RefreshAhead", Session{AccessToken: "a", AccessExpiresAt: now.Add(59 * time.Second)}, true},
		{"exactly RefreshAhead", Session{AccessToken: "a", AccessExpiresAt: now.Add(RefreshAheadDefault)}, true},
		{"expired", Session{AccessToken: "a", AccessExpiresAt: now.Add(-time.Second)}, true},
	}
	for _, tt := range tests {
		if got := c.expiring(tt.s); got != tt.want {
			t.Errorf("%s: expiring = %v, want %v", tt.desc, got, tt.want)
		}
	}
}

// waitFor polls cond until it holds or 5 s pass.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
