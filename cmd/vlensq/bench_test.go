package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/vlensq/vlensq/internal/redistest"
)

// runBench runs the bench subcommand on a root of its own (main.go
// registers it in the real root).
func runBench(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	redistest.Client(t, redistest.DBCmd)
	var stdout, stderr bytes.Buffer
	g := &globals{stdout: &stdout, stderr: &stderr}
	root := &cobra.Command{Use: "vlensq", SilenceUsage: true, SilenceErrors: true}
	g.bind(root)
	root.AddCommand(newBenchCmd(g))
	root.SetArgs(append([]string{"bench", "--redis", fmt.Sprintf("redis://%s/%d", redistest.Addr(), redistest.DBCmd)}, args...))
	code := 0
	if err := root.ExecuteContext(context.Background()); err != nil {
		fmt.Fprintln(&stderr, err)
		code = 1
		if isCobraUsageError(err) {
			code = 2
		}
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
	}
	return stdout.String(), stderr.String(), code
}

func TestBenchPrintsTableWithTargets(t *testing.T) {
	out, errOut, code := runBench(t, "--only", "claimcheck,enqueue", "--enqueue-tasks", "50", "--batch-tasks", "200", "--repeat", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"machine:", "claimcheck", "asynq payload, liveness 3×500 KB", "≤ 10 KB", "Enqueue, 1 goroutine", "bare asynq", "ratio"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "throughput") {
		t.Errorf("--only ran an unselected scenario:\n%s", out)
	}
}

func TestBenchJSON(t *testing.T) {
	out, errOut, code := runBench(t, "--only", "claimcheck", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, `"scenario": "claimcheck"`) || !strings.Contains(out, `"pass": true`) {
		t.Errorf("JSON report:\n%s", out)
	}
}

func TestBenchRejectsUnknownScenario(t *testing.T) {
	_, errOut, code := runBench(t, "--only", "warp")
	if code != 2 || !strings.Contains(errOut, `unknown scenario "warp"`) {
		t.Errorf("exit %d, stderr %q; want 2 naming the scenario", code, errOut)
	}
}
