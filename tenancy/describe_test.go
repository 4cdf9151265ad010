package tenancy_test

import (
	"testing"
	"time"

	"github.com/vlensq/vlensq/tenancy"
)

func TestPauseDescribe(t *testing.T) {
	at := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		p    tenancy.Pause
		want string
	}{
		{tenancy.Pause{At: at, By: "alice", Reason: "customer asked"}, "by alice at 2026-12-05T08:00:00Z: customer asked"},
		{tenancy.Pause{At: at, By: "alice"}, "by alice at 2026-12-05T08:00:00Z"},
		{
			tenancy.Pause{At: at, By: "breaker", Probes: 1, NextProbe: at.Add(2 * time.Minute),
				Cause: &tenancy.Cause{Code: 4002, Message: "Bundle balance exhausted", Category: "account", DeadLetterID: "01ABC"}},
			`breaker: account code 4002 "Bundle balance exhausted" (dead letter 01ABC); probe 2 at 2026-12-05T08:02:00Z since 2026-12-05T08:00:00Z`,
		},
		{tenancy.Pause{At: at, By: "breaker", Cause: &tenancy.Cause{Category: "authentication"}}, "breaker: authentication since 2026-12-05T08:00:00Z"},
	} {
		if got := c.p.Describe(); got != c.want {
			t.Errorf("Describe() = %q, want %q", got, c.want)
		}
	}
}
