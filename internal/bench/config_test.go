package bench

import (
	"strings"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	c := Config{RedisURL: "redis://x:6379/0"}.withDefaults()
	if c.Tasks != TasksDefault || c.Concurrency != ConcurrencyDefault || c.Repeat != RepeatDefault || c.InFlight != InFlightDefault ||
		c.InFlightLatency != InFlightLatencyDefault || c.Timeout != TimeoutDefault || len(c.Latencies) != 2 || len(c.Only) != len(Scenarios) {
		t.Errorf("defaults not applied: %+v", c)
	}
	if err := c.validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		desc string
		mod  func(*Config)
		want string
	}{
		{"no redis", func(c *Config) { c.RedisURL = "" }, "RedisURL is required"},
		{"memory", func(c *Config) { c.RedisURL = "memory" }, "not memory"},
		{"negative tasks", func(c *Config) { c.Tasks = -1 }, "Tasks must be positive"},
		{"negative latency", func(c *Config) { c.Latencies = []time.Duration{-time.Millisecond} }, "must not be negative"},
		{"unknown scenario", func(c *Config) { c.Only = []string{"throughput", "warp"} }, `unknown scenario "warp"`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			c := Config{RedisURL: "redis://x:6379/0"}.withDefaults()
			tc.mod(&c)
			err := c.validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) || !IsConfigError(err) {
				t.Errorf("validate = %v, want a *ConfigError containing %q", err, tc.want)
			}
		})
	}
}

func TestReportTable(t *testing.T) {
	r := &Report{Machine: "test box", Rows: []Row{
		{Scenario: ScenarioThroughput, Metric: "tasks/s", Unit: "tasks/s", VlensQ: 950, Bare: 1000, Target: "≥ 0.9× bare", Pass: true},
		{Scenario: ScenarioRetry, Metric: "p99", Unit: "ms", VlensQ: 200, Target: "≤ +150 ms", Pass: false},
		{Scenario: ScenarioInFlight, Metric: "tasks/s", Unit: "tasks/s", VlensQ: 5},
	}}
	var b strings.Builder
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"machine: test box", "0.95×", "ok", "FAIL", "950 tasks/s", "1000 tasks/s", "5.00 tasks/s"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if f := r.Failed(); len(f) != 1 || f[0].Scenario != ScenarioRetry {
		t.Errorf("Failed() = %+v, want the retry row only", f)
	}
}
