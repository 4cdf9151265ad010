package reliability

import (
	"context"
	"testing"

	"github.com/vlensq/vlensq/internal/redistest"
)

// Issue 7 §3: at 30 % random faults every task ends, exactly once, with the
// class the injected faults imply (correlated by X-Request-Id).
func TestChaosEveryTaskEndsWithTheInjectedFaultsClass(t *testing.T) {
	t.Parallel()
	rdb := redistest.Client(t, redistest.DBE2E)
	n := size(400, ChaosTasksDefault)
	r, err := RunChaos(context.Background(), ChaosConfig{Redis: rdb, Tasks: n, Seed: 7})
	if err != nil {
		t.Fatalf("chaos run: %v\n%s", err, r)
	}
	logf(t, "%s", r)
	if err := r.Err(); err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	if r.Terminal != n {
		t.Fatalf("%d of %d tasks terminal", r.Terminal, n)
	}
	// The run must really have been chaotic: every kind was injected.
	for _, k := range []string{"5xx", "reset", "html", "truncated", "empty", "429", "401", "4003"} {
		if r.Injected[k] == 0 {
			t.Errorf("no %s fault was injected in %d calls", k, r.Requests)
		}
	}
	// About 30 % of the calls that draw a fault get one. Every injected 401
	// expires the tenant's shared token, so other calls in flight get a
	// genuine 401 and a replay: calls that draw no fault. The slower the run
	// (-race, a loaded machine), the more of them, so the fraction of all
	// calls is lower than 30 %; it stays well above the chaos-free zero.
	if frac := float64(sum(r.Injected)) / float64(r.Requests); frac < 0.12 || frac > 0.4 {
		t.Errorf("%.1f%% of calls had a fault, want about 30%% (at least 12%% once diluted by token-expiry replays)", 100*frac)
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
