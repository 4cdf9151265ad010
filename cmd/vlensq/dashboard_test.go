package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/vlensq/vlensq/internal/redistest"
	"github.com/vlensq/vlensq/internal/testproc"
	"github.com/vlensq/vlensq/vlens/vlenstest"
)

// dashCmd runs `vlensq <args>` with the dashboard command registered,
// whether or not main.go registers it yet, and returns the exit code run
// would give.
func dashCmd(ctx context.Context, t *testing.T, stdout, stderr *testproc.SyncBuffer, args ...string) int {
	t.Helper()
	g := &globals{stdin: os.Stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{Use: "vlensq", SilenceUsage: true, SilenceErrors: true}
	g.bind(root)
	root.AddCommand(newDashboardCmd(g))
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	_, _ = stderr.Write([]byte("vlensq: " + err.Error() + "\n"))
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

// dashTenantsFile writes the demo tenants to a file.
func dashTenantsFile(t *testing.T) string {
	t.Helper()
	b, err := json.Marshal(vlenstest.DemoTenants())
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "tenants.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func dashRedisURL(t *testing.T) string {
	t.Helper()
	redistest.Client(t, redistest.DBCmd)
	return "redis://" + redistest.Addr() + "/" + strconv.Itoa(redistest.DBCmd)
}

func TestDashboardCommandRefusesWithoutAuth(t *testing.T) {
	t.Setenv("VLENSQ_DASHBOARD_TOKEN", "")
	t.Setenv("VLENSQ_DASHBOARD_USERS", "")
	var out, errb testproc.SyncBuffer
	code := dashCmd(context.Background(), t, &out, &errb, "dashboard", "--addr", "127.0.0.1:0", "--redis", dashRedisURL(t), "--tenants", dashTenantsFile(t))
	if code != 2 {
		t.Fatalf("exit code %d, want 2; stderr: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "VLENSQ_DASHBOARD_TOKEN") || !strings.Contains(errb.String(), "--insecure-no-auth") {
		t.Errorf("stderr does not say how to configure auth: %s", errb.String())
	}

	t.Setenv("VLENSQ_DASHBOARD_USERS", "alice:not-a-hash")
	errb.Reset()
	if code := dashCmd(context.Background(), t, &out, &errb, "dashboard", "--addr", "127.0.0.1:0"); code != 2 {
		t.Fatalf("bad users: exit code %d, want 2", code)
	}
	if msg := errb.String(); !strings.Contains(msg, `user "alice"`) || strings.Contains(msg, "not-a-hash") {
		t.Errorf("bad users: stderr %q should name the user, not the hash", msg)
	}
}

var listening = regexp.MustCompile(`vlensq dashboard on (http://[^/ ]+)/`)

func TestDashboardCommandServesAndStops(t *testing.T) {
	const token = "cmd-test-token-0123456789"
	// The dashboard knows the tenants from the registry the workers publish.
	publishDemoTenants(t)
	t.Setenv("VLENSQ_DASHBOARD_TOKEN", token)
	t.Setenv("VLENSQ_DASHBOARD_USERS", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb testproc.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- dashCmd(ctx, t, &out, &errb, "dashboard", "--addr", "127.0.0.1:0", "--read-only",
			"--redis", dashRedisURL(t), "--tenants", dashTenantsFile(t), "--log-format", "json")
	}()
	var base string
	deadline := time.Now().Add(15 * time.Second)
	for base == "" {
		if m := listening.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("dashboard exited early with %d: %s", code, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("dashboard did not start: stdout %q stderr %q", out.String(), errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	get := func(path, tok string) int {
		r, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if tok != "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		path, tok string
		want      int
	}{
		{"/healthz", "", 200}, {"/readyz", "", 200}, {"/api/dlq", "", 401},
		{"/api/dlq", token, 200}, {"/metrics", token, 200}, {"/monitoring/", token, 200},
	} {
		if got := get(c.path, c.tok); got != c.want {
			t.Errorf("GET %s (token %v) = %d, want %d", c.path, c.tok != "", got, c.want)
		}
	}
	// The tenants page knows the tenants file (and no secret of it).
	r, _ := http.NewRequest(http.MethodGet, base+"/api/tenants", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, tn := range vlenstest.DemoTenants() {
		if !strings.Contains(string(body), `"tenant":"`+tn.Name+`"`) {
			t.Errorf("GET /api/tenants does not list %s: %s", tn.Name, body)
		}
		if strings.Contains(string(body), tn.APIKey) || strings.Contains(string(body), tn.Password) {
			t.Errorf("GET /api/tenants shows a secret of %s", tn.Name)
		}
	}
	if strings.Contains(errb.String(), token) {
		t.Error("the token reached the log")
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code after a graceful stop = %d; stderr: %s", code, errb.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the dashboard did not stop")
	}
}

// Without authentication the dashboard serves the loopback interface only.
func TestDashboardInsecureNoAuthIsLoopbackOnly(t *testing.T) {
	t.Setenv("VLENSQ_DASHBOARD_TOKEN", "")
	t.Setenv("VLENSQ_DASHBOARD_USERS", "")
	for _, addr := range []string{":8080", "0.0.0.0:8080", "10.0.0.5:8080", "[::]:8080"} {
		var out, errb testproc.SyncBuffer
		code := dashCmd(context.Background(), t, &out, &errb, "dashboard", "--insecure-no-auth", "--addr", addr,
			"--redis", dashRedisURL(t), "--tenants", dashTenantsFile(t))
		if code != 2 || !strings.Contains(errb.String(), "--insecure-no-auth listens on loopback only") {
			t.Errorf("--addr %s: exit %d, stderr %q; want 2 and a clear refusal", addr, code, errb.String())
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0", "localhost:0"} {
		if !loopbackAddr(addr) {
			t.Errorf("loopbackAddr(%q) = false", addr)
		}
	}
}
