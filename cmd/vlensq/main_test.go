package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/internal/redistest"
	"github.com/vlensq/vlensq/vlens"
	"github.com/vlensq/vlensq/vlens/vlenstest"
)

// cli runs the vlensq command line against the test Redis database and a
// tenants file, the way a user would.
type cli struct {
	t       *testing.T
	env     map[string]string
	tenants string
}

func newCLI(t *testing.T) *cli {
	t.Helper()
	rdb := redistest.Client(t, redistest.DBCmd)
	_ = rdb
	dir := t.TempDir()
	tenants := filepath.Join(dir, "tenants.json")
	b, _ := json.Marshal(vlenstest.DemoTenants())
	if err := os.WriteFile(tenants, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return &cli{t: t, tenants: tenants, env: map[string]string{
		"VLENSQ_REDIS":     fmt.Sprintf("redis://%s/%d", redistest.Addr(), redistest.DBCmd),
		"VLENSQ_TENANTS":   tenants,
		"VLENSQ_LOG_LEVEL": "error",
	}}
}

// run executes one command line with stdin and returns the exit code and
// what was printed.
func (c *cli) run(stdin string, args ...string) (code int, stdout, stderr string) {
	c.t.Helper()
	for k, v := range c.env {
		c.t.Setenv(k, v)
	}
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func uniqueQueue(t *testing.T) string {
	return fmt.Sprintf("cli-%s-%d", strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")), time.Now().UnixNano())
}

var png1x1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="

func TestUsageErrorsExitTwoNamingTheProblem(t *testing.T) {
	c := newCLI(t)
	tests := []struct {
		desc string
		env  map[string]string
		args []string
		want string
	}{
		{desc: "unknown flag", args: []string{"worker", "--bogus"}, want: "unknown flag"},
		{desc: "enqueue without type", args: []string{"enqueue", "--tenant", "demo-bank", "--payload", "{}"}, want: "--type is required"},
		{desc: "bad redis url", env: map[string]string{"VLENSQ_REDIS": "http://x:1"}, args: []string{"dlq", "list"}, want: `VLENSQ_REDIS: unknown scheme "http"`},
		{desc: "env that does not parse", env: map[string]string{"VLENSQ_CONCURRENCY": "lots"}, args: []string{"worker"}, want: `VLENSQ_CONCURRENCY: want a whole number, got "lots"`},
		{desc: "bad queues", args: []string{"worker", "--queues", "a=x"}, want: `--queues: weight of "a"`},
		{desc: "missing tenants file", env: map[string]string{"VLENSQ_TENANTS": "/nonexistent/tenants.json"}, args: []string{"worker"}, want: "tenants file /nonexistent/tenants.json not found"},
		{desc: "missing tenants file for enqueue", env: map[string]string{"VLENSQ_TENANTS": "/nonexistent/tenants.json"},
			args: []string{"enqueue", "--type", "ocr:aml", "--tenant", "demo-bank", "--payload", `{"idNumber":"29001011234567","name":"A"}`}, want: "tenants file /nonexistent/tenants.json not found"},
		{desc: "bad log level", env: map[string]string{"VLENSQ_LOG_LEVEL": "loud"}, args: []string{"dlq", "list"}, want: "unknown level"},
		{desc: "requeue without selection", args: []string{"dlq", "requeue"}, want: "select records"},
		{desc: "export format", args: []string{"dlq", "export", "--format", "xml"}, want: "--format must be ndjson or csv"},
		{desc: "bad filter", args: []string{"dlq", "list", "--category", "nonsense"}, want: "category"},
		{desc: "bad traceparent", args: []string{"enqueue", "--type", "ocr:aml", "--tenant", "demo-bank", "--payload", `{"idNumber":"1","name":"n"}`,
			"--traceparent", "00-nope"}, want: "traceparent: not a W3C traceparent"},
		{desc: "bad traceparent with a file", args: []string{"enqueue", "--file", "-", "--traceparent", "xyz"}, want: "--traceparent: not a W3C traceparent"},
		{desc: "unsupported trace exporter", env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, args: []string{"dlq", "list"}, want: "OTEL_TRACES_EXPORTER"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			sub := &cli{t: t, env: map[string]string{}}
			for k, v := range c.env {
				sub.env[k] = v
			}
			for k, v := range tc.env {
				sub.env[k] = v
			}
			code, _, stderr := sub.run("", tc.args...)
			if code != 2 {
				t.Errorf("exit code %d, want 2; stderr: %s", code, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q does not say %q", stderr, tc.want)
			}
			if lines := strings.Count(strings.TrimSpace(stderr), "\n") + 1; lines > 2 {
				t.Errorf("want one clear error line, got %d:\n%s", lines, stderr)
			}
		})
	}
}

func TestBadTenantsFileNamesTheEntryAndField(t *testing.T) {
	c := newCLI(t)
	bad := filepath.Join(t.TempDir(), "tenants.json")
	if err := os.WriteFile(bad, []byte(`[{"tenancy_name":"acme","username":"u","password":"SECRET-PW"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	c.env["VLENSQ_TENANTS"] = bad
	code, _, stderr := c.run("", "worker")
	if code != 2 || !strings.Contains(stderr, "api_key") {
		t.Fatalf("exit %d, stderr %q: want 2 and the missing api_key named", code, stderr)
	}
	if strings.Contains(stderr, "SECRET-PW") {
		t.Fatal("the error echoes the password")
	}
}

func TestEnqueueOneIsIdempotentByID(t *testing.T) {
	c := newCLI(t)
	q := uniqueQueue(t)
	payload := `{"image":"` + png1x1 + `","country":"EG"}`
	code, out, stderr := c.run("", "enqueue", "--type", "ocr:id_front", "--tenant", "demo-fintech", "--payload", payload, "--queue", q, "--id", "order-1")
	if code != 0 || !strings.Contains(out, "enqueued ocr:id_front id=order-1") {
		t.Fatalf("exit %d out %q err %q", code, out, stderr)
	}
	code, out, _ = c.run("", "enqueue", "--type", "ocr:id_front", "--tenant", "demo-fintech", "--payload", payload, "--queue", q, "--id", "order-1")
	if code != 0 || !strings.Contains(out, "duplicate") {
		t.Fatalf("second enqueue: exit %d out %q", code, out)
	}
	insp := asynq.NewInspector(redistest.Opt(t, redistest.DBCmd))
	defer insp.Close()
	qi, err := insp.GetQueueInfo(q)
	if err != nil || qi.Size != 1 {
		t.Fatalf("queue holds %v tasks (%v), want 1", qi, err)
	}
	info, err := insp.GetTaskInfo(q, "order-1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(info.Payload, []byte(png1x1)) {
		t.Error("the image travelled inline in the queue; it should be claim-checked")
	}

	code, _, stderr = c.run("", "enqueue", "--type", "ocr:id_front", "--tenant", "demo-fintech", "--payload", `{"country":"EG"}`, "--queue", q)
	if code != 2 || !strings.Contains(stderr, "image") {
		t.Errorf("missing image: exit %d stderr %q", code, stderr)
	}
	code, _, stderr = c.run("", "enqueue", "--type", "ocr:id_front", "--tenant", "nobody", "--payload", payload, "--queue", q)
	if code != 2 || !strings.Contains(stderr, "tenant") {
		t.Errorf("unknown tenant: exit %d stderr %q", code, stderr)
	}
}

func TestEnqueueFileEnqueuesGoodLinesAndReportsBadOnes(t *testing.T) {
	c := newCLI(t)
	q := uniqueQueue(t)
	lines := []string{
		`{"type":"ocr:id_front","tenant":"demo-fintech","payload":{"image":"` + png1x1 + `","country":"EG"},"queue":"` + q + `","id":"l1"}`,
		`{"type":"ocr:id_front","tenant":"demo-fintech","payload":{"image":"` + png1x1 + `","country":"EG"}`, // line 2: cut short
		`{"type":"ocr:nope","tenant":"demo-fintech","payload":{},"queue":"` + q + `"}`,                       // line 3: unknown type
		`{"type":"ocr:aml","payload":{"idNumber":"29001011234567","name":"A"},"queue":"` + q + `"}`,          // line 4: no tenant
		`{"type":"ocr:aml","tenant":"demo-fintech","payload":{"idNumber":"29001011234567","name":"A"},"queue":"` + q + `","id":"l5"}`,
		`{"type":"ocr:aml","tenant":"demo-fintech","payload":{"idNumber":"29001011234567","name":"A"},"queue":"` + q + `","id":"l1"}`, // duplicate id
	}
	f := filepath.Join(t.TempDir(), "tasks.ndjson")
	if err := os.WriteFile(f, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := c.run("", "enqueue", "--file", f)
	if code != 2 {
		t.Fatalf("exit %d, want 2 (bad lines); out %q err %q", code, out, stderr)
	}
	if !strings.Contains(out, "enqueued 2, duplicates 1, bad lines 3, failed 0") {
		t.Errorf("summary: %q", out)
	}
	for _, want := range []string{"line 2:", "line 3:", "line 4:"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary does not name %s: %q", want, out)
		}
	}
	insp := asynq.NewInspector(redistest.Opt(t, redistest.DBCmd))
	defer insp.Close()
	for _, id := range []string{"l1", "l5"} {
		if _, err := insp.GetTaskInfo(q, id); err != nil {
			t.Errorf("good line %s not enqueued: %v", id, err)
		}
	}
}

func TestSessionPutStoresTokensWithoutPrintingThem(t *testing.T) {
	c := newCLI(t)
	code, out, stderr := c.run(`{"access_token":"ACCESS-CANARY","refresh_token":"REFRESH-CANARY"}`, "session", "put", "--tenant", "demo-bank", "--user", "u-session")
	if code != 0 {
		t.Fatalf("exit %d err %q", code, stderr)
	}
	if strings.Contains(out+stderr, "CANARY") {
		t.Fatal("tokens printed")
	}
	rdb := redistest.Client(t, redistest.DBCmd)
	s, err := vlens.NewRedisSessionStore(rdb).Get(context.Background(), "demo-bank", "u-session")
	if err != nil || s.AccessToken != "ACCESS-CANARY" || s.RefreshToken != "REFRESH-CANARY" {
		t.Fatalf("stored session %v, %v", s.AccessToken != "", err)
	}
	code, _, stderr = c.run(`{"access_token":"ACCESS-CANARY"}`, "session", "put", "--tenant", "demo-bank", "--user", "u2")
	if code != 2 || !strings.Contains(stderr, "refresh_token is required") || strings.Contains(stderr, "CANARY") {
		t.Errorf("missing refresh token: exit %d stderr %q", code, stderr)
	}
	code, _, stderr = c.run(`{"access_token": "ACCESS-CANARY", oops}`, "session", "put", "--tenant", "demo-bank", "--user", "u2")
	if code != 2 || strings.Contains(stderr, "CANARY") {
		t.Errorf("malformed JSON: exit %d stderr %q", code, stderr)
	}
}

func TestDLQCommands(t *testing.T) {
	c := newCLI(t)
	ctx := context.Background()
	rdb := redistest.Client(t, redistest.DBCmd)
	store, err := deadletter.New(rdb, deadletter.Config{})
	if err != nil {
		t.Fatal(err)
	}
	q := uniqueQueue(t)
	tenant := "demo-fintech"
	payload := []byte(`{"tenant":"demo-fintech","idNumber":"29001011234567","name":"Amira"}`)
	var ids []string
	for i, code := range []int{3011, 4002, 3011} {
		rec := &deadletter.Record{
			TaskID: fmt.Sprintf("%s-t%d", q, i), Queue: q, Type: "ocr:aml", Tenant: tenant,
			Endpoint: deadletter.Endpoint{Method: "POST", URL: "https://api.vlenseg.com/v1/ocr/aml/validate"},
			Request:  json.RawMessage(`{"idNumber":"[redacted 14 B]","name":"[redacted 5 B]"}`), HTTPStatus: 200,
			Response:  json.RawMessage(fmt.Sprintf(`{"data":null,"error_code":%d,"error_message":"failure %d"}`, code, i)),
			ErrorCode: code, ErrorMessage: fmt.Sprintf("failure %d", i), Class: "permanent", Category: map[int]string{3011: "identity_verification", 4002: "account"}[code],
			Resolution: "do something", Attempts: 1, FirstAttemptAt: time.Now().UTC(), FailedAt: time.Now().UTC(),
			History: []deadletter.Attempt{{At: time.Now().UTC(), HTTPStatus: 200, ErrorCode: code, Class: "permanent", XRequestID: "req-1"}},
		}
		id, _, err := store.Add(ctx, rec, payload)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}

	code, out, stderr := c.run("", "dlq", "list", "--tenant", tenant, "--code", "3011", "--json")
	if code != 0 {
		t.Fatalf("list: exit %d err %q", code, stderr)
	}
	var page struct {
		Records []deadletter.Record `json:"records"`
	}
	if err := json.Unmarshal([]byte(out), &page); err != nil {
		t.Fatalf("list --json: %v: %s", err, out)
	}
	found := 0
	for _, r := range page.Records {
		if r.Queue == q {
			found++
			if r.ErrorCode != 3011 {
				t.Errorf("filter by code returned code %d", r.ErrorCode)
			}
		}
	}
	if found != 2 {
		t.Errorf("list --code 3011 found %d of this test's records, want 2", found)
	}

	code, out, _ = c.run("", "dlq", "show", ids[0], "--ticket")
	if code != 0 {
		t.Fatalf("show --ticket: exit %d", code)
	}
	for _, want := range []string{"POST https://api.vlenseg.com/v1/ocr/aml/validate", "error_code", "3011", tenant, "UTC"} {
		if !strings.Contains(out, want) {
			t.Errorf("ticket lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "29001011234567") {
		t.Error("ticket shows the ID number")
	}
	if code, _, stderr := c.run("", "dlq", "show", "no-such-id"); code != 2 || !strings.Contains(stderr, "no dead letter") {
		t.Errorf("show unknown id: exit %d stderr %q", code, stderr)
	}

	out1 := filepath.Join(t.TempDir(), "dl.csv")
	if code, _, stderr := c.run("", "dlq", "export", "--tenant", tenant, "--format", "csv", "--out", out1); code != 0 {
		t.Fatalf("export: exit %d %s", code, stderr)
	}
	csv, _ := os.ReadFile(out1)
	if !strings.HasPrefix(string(csv), "id,") || strings.Count(string(csv), q) < 3 {
		t.Errorf("csv export:\n%s", csv)
	}

	// A requeue checks the tenant against the registry a worker publishes.
	publishDemoTenants(t)
	code, out, _ = c.run("", "dlq", "requeue", ids[1], "--dry-run")
	if code != 0 || !strings.Contains(out, "would requeue 1") {
		t.Fatalf("requeue --dry-run: exit %d out %q", code, out)
	}
	insp := asynq.NewInspector(redistest.Opt(t, redistest.DBCmd))
	defer insp.Close()
	if _, err := insp.GetQueueInfo(q); err == nil {
		t.Fatal("dry run enqueued something")
	}
	for range 2 { // twice: the second run must not enqueue again
		code, out, stderr = c.run("", "dlq", "requeue", ids[1], "--by", "support@example.com")
		if code != 0 {
			t.Fatalf("requeue: exit %d out %q err %q", code, out, stderr)
		}
	}
	qi, err := insp.GetQueueInfo(q)
	if err != nil || qi.Size != 1 {
		t.Fatalf("after requeueing twice the queue holds %+v (%v), want 1 task", qi, err)
	}
	rec, err := store.Get(ctx, ids[1])
	if err != nil || len(rec.Requeued) != 1 || rec.Requeued[0].By != "support@example.com" {
		t.Fatalf("requeue not noted on the record: %+v %v", rec, err)
	}

	code, out, _ = c.run("", "dlq", "purge", ids[0], ids[2], "--dry-run")
	if code != 0 || !strings.Contains(out, "would purge 2") {
		t.Errorf("purge --dry-run: exit %d out %q", code, out)
	}
	code, out, _ = c.run("", "dlq", "purge", ids[0], ids[2])
	if code != 0 || !strings.Contains(out, "purged 2") {
		t.Errorf("purge: exit %d out %q", code, out)
	}
	if _, err := store.Get(ctx, ids[0]); !errors.Is(err, deadletter.ErrNotFound) {
		t.Errorf("purged record still there: %v", err)
	}
}

// publishDemoTenants publishes the demo tenants to the tenants registry, as
// a worker with their secrets does.
func publishDemoTenants(t *testing.T) {
	t.Helper()
	ts, err := vlens.NewTenantSet(vlenstest.DemoTenants()...)
	if err != nil {
		t.Fatal(err)
	}
	if err := vlens.NewTenantRegistry(redistest.Client(t, redistest.DBCmd), vlens.RegistryConfig{}).Publish(context.Background(), ts); err != nil {
		t.Fatal(err)
	}
}

// The README's first command: the demo runs everything in one process and
// exits 0 only when every task ended as its scenario expects.
func TestDemo(t *testing.T) {
	c := newCLI(t)
	code, out, stderr := c.run("", "demo", "--timeout", "90s")
	if code != 0 {
		t.Fatalf("demo exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	for _, want := range []string{"Outcomes by class and category", "retries_exhausted", "Vlens support ticket", "ended as their scenarios expect", "it resumed at liveness"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}

func TestEnqueueCarriesTraceparentInTaskHeaders(t *testing.T) {
	c := newCLI(t)
	q := uniqueQueue(t)
	const flagTP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	const lineTP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	aml := `{"idNumber":"29001011234567","name":"A"}`
	if code, out, stderr := c.run("", "enqueue", "--type", "ocr:aml", "--tenant", "demo-fintech", "--payload", aml,
		"--queue", q, "--id", "one", "--traceparent", flagTP); code != 0 {
		t.Fatalf("enqueue: exit %d, out %q, err %q", code, out, stderr)
	}
	lines := `{"type":"ocr:aml","tenant":"demo-fintech","payload":` + aml + `,"id":"own","traceparent":"` + lineTP + `"}` + "\n" +
		`{"type":"ocr:aml","tenant":"demo-fintech","payload":` + aml + `,"id":"default"}` + "\n"
	if code, out, stderr := c.run(lines, "enqueue", "--file", "-", "--queue", q, "--traceparent", flagTP); code != 0 {
		t.Fatalf("enqueue --file: exit %d, out %q, err %q", code, out, stderr)
	}
	insp := asynq.NewInspector(redistest.Opt(t, redistest.DBCmd))
	defer insp.Close()
	for id, want := range map[string]string{"one": flagTP, "own": lineTP, "default": flagTP} {
		info, err := insp.GetTaskInfo(q, id)
		if err != nil {
			t.Fatalf("task %s: %v", id, err)
		}
		if got := info.Headers["traceparent"]; got != want {
			t.Errorf("task %s: traceparent header %q, want %q", id, got, want)
		}
		if strings.Contains(string(info.Payload), "traceparent") {
			t.Errorf("task %s: the traceparent is in the payload", id)
		}
	}
}
