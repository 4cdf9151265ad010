package reliability

import "testing"

func TestExpect(t *testing.T) {
	t.Parallel()
	ok := call{Status: 200}
	c := func(fault string, status int) call { return call{Fault: fault, Status: status} }
	tests := []struct {
		desc      string
		calls     []call
		want      string
		transient int
	}{
		{"clean success", []call{ok}, "succeeded/success", 0},
		{"5xx then success", []call{c("5xx", 503), ok}, "succeeded/success", 1},
		{"three transient faults", []call{c("reset", 0), c("html", 502), c("truncated", 200)}, "dead_lettered/transient", 3},
		{"throttled calls spend nothing", []call{c("429", 429), c("4003", 200), c("empty", 200), ok}, "succeeded/success", 1},
		{"401 refreshed and replayed", []call{c("401", 401), ok}, "succeeded/success", 0},
		{"401 twice in a row", []call{c("401", 401), c("", 401)}, "dead_lettered/permanent", 0},
		{"a throttled call cannot end a task", []call{c("429", 429)}, "no outcome after a throttled call", 0},
		{"no call", nil, "no outcome without a call", 0},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, n := expect(tt.calls)
			if got != tt.want || n != tt.transient {
				t.Errorf("expect = %q, %d transient; want %q, %d", got, n, tt.want, tt.transient)
			}
		})
	}
}
