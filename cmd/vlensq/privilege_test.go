package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/internal/redistest"
	"github.com/vlensq/vlensq/internal/testproc"
	"github.com/vlensq/vlensq/vlens"
)

// Least privilege: only the worker opens the tenants' Vlens secrets. The
// tenants file here names its secrets as files that do not exist and an
// environment variable that is not set, so any process that tried to read
// a secret would fail. The worker does, naming the entry and the field;
// enqueue and session put work from the same file without the secrets; the
// dlq commands and the dashboard work with only VLENSQ_REDIS (and the
// dashboard's token), with or without the file.
func TestOnlyTheWorkerOpensVlensSecrets(t *testing.T) {
	t.Chdir(t.TempDir()) // no tenants.json in the working directory
	ctx := context.Background()
	rdb := redistest.Client(t, redistest.DBCmd)
	tenant := fmt.Sprintf("lp-%d", time.Now().UnixNano())
	dir := t.TempDir()
	tenantsFile := filepath.Join(dir, "tenants.json")
	missingKey := filepath.Join(dir, "secrets", "api_key")
	entry := fmt.Sprintf(`[{"tenancy_name":%q,"api_key_file":%q,"username":"${VLENSQ_TEST_NEVER_SET_USER}","password_file":%q,"rate_per_second":4,"weight":2}]`,
		tenant, missingKey, filepath.Join(dir, "secrets", "password"))
	if err := os.WriteFile(tenantsFile, []byte(entry), 0o600); err != nil {
		t.Fatal(err)
	}
	redisURL := fmt.Sprintf("redis://%s/%d", redistest.Addr(), redistest.DBCmd)
	redisOnly := &cli{t: t, env: map[string]string{"VLENSQ_REDIS": redisURL, "VLENSQ_TENANTS": "", "VLENSQ_LOG_LEVEL": "error"}}
	withFile := &cli{t: t, env: map[string]string{"VLENSQ_REDIS": redisURL, "VLENSQ_TENANTS": tenantsFile, "VLENSQ_LOG_LEVEL": "error"}}
	aml := `{"idNumber":"29001011234567","name":"Amira Hassan"}`
	q := uniqueQueue(t)

	t.Run("worker reads the secrets and names the missing file", func(t *testing.T) {
		code, _, stderr := withFile.run("", "worker")
		want := fmt.Sprintf("entry 0 (%s): api_key_file cannot read %s: no such file or directory", tenant, missingKey)
		if code != 2 || !strings.Contains(stderr, want) {
			t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr, want)
		}
	})

	t.Run("enqueue and session put use the file without its secrets", func(t *testing.T) {
		code, out, stderr := withFile.run("", "enqueue", "--type", "ocr:aml", "--tenant", tenant, "--payload", aml, "--queue", q, "--id", "lp-file")
		if code != 0 || !strings.Contains(out, "enqueued ocr:aml id=lp-file") {
			t.Fatalf("enqueue: exit %d out %q err %q", code, out, stderr)
		}
		code, _, stderr = withFile.run(`{"access_token":"A-CANARY","refresh_token":"R-CANARY"}`, "session", "put", "--tenant", tenant, "--user", "u1")
		if code != 0 {
			t.Fatalf("session put: exit %d err %q", code, stderr)
		}
		// A tenants file with no secret fields at all will do too.
		bare := filepath.Join(t.TempDir(), "tenants.json")
		if err := os.WriteFile(bare, []byte(`[{"tenancy_name":"`+tenant+`","rate_per_second":4}]`), 0o600); err != nil {
			t.Fatal(err)
		}
		noSecrets := &cli{t: t, env: map[string]string{"VLENSQ_REDIS": redisURL, "VLENSQ_TENANTS": bare, "VLENSQ_LOG_LEVEL": "error"}}
		code, out, stderr = noSecrets.run("", "enqueue", "--type", "ocr:aml", "--tenant", tenant, "--payload", aml, "--queue", q, "--id", "lp-bare")
		if code != 0 || !strings.Contains(out, "id=lp-bare") {
			t.Fatalf("enqueue with a file without secrets: exit %d out %q err %q", code, out, stderr)
		}
	})

	t.Run("enqueue with Redis only knows the tenants a worker published", func(t *testing.T) {
		code, _, stderr := redisOnly.run("", "enqueue", "--type", "ocr:aml", "--tenant", tenant, "--payload", aml, "--queue", q)
		if code != 2 || !strings.Contains(stderr, fmt.Sprintf("unknown tenant %q", tenant)) {
			t.Fatalf("before the registry has it: exit %d stderr %q", code, stderr)
		}
		// A worker with the secrets publishes names, limits and weight.
		ts, err := vlens.NewTenantSet(vlens.Tenant{Name: tenant, APIKey: "KEY-CANARY", Username: "admin", Password: "PW-CANARY", RatePerSecond: 4, Weight: 2})
		if err != nil {
			t.Fatal(err)
		}
		if err := vlens.NewTenantRegistry(rdb, vlens.RegistryConfig{}).Publish(ctx, ts); err != nil {
			t.Fatal(err)
		}
		code, out, stderr := redisOnly.run("", "enqueue", "--type", "ocr:aml", "--tenant", tenant, "--payload", aml, "--queue", q, "--id", "lp-registry")
		if code != 0 || !strings.Contains(out, "id=lp-registry") {
			t.Fatalf("after: exit %d out %q err %q", code, out, stderr)
		}
		code, _, stderr = redisOnly.run(`{"access_token":"A-CANARY","refresh_token":"R-CANARY"}`, "session", "put", "--tenant", tenant, "--user", "u2")
		if code != 0 {
			t.Fatalf("session put: exit %d err %q", code, stderr)
		}
	})

	// Dead letters of the tenant, as a worker writes them.
	store, err := deadletter.New(rdb, deadletter.Config{})
	if err != nil {
		t.Fatal(err)
	}
	dlq := uniqueQueue(t) + "-dlq"
	var ids []string
	for i := range 3 {
		rec := &deadletter.Record{
			TaskID: fmt.Sprintf("%s-t%d", dlq, i), Queue: dlq, Type: "ocr:aml", Tenant: tenant,
			Endpoint: deadletter.Endpoint{Method: "POST", URL: "https://api.vlenseg.com/v1/ocr/aml/validate"},
			Request:  json.RawMessage(`{"idNumber":"[redacted 14 B]","name":"[redacted 12 B]"}`), HTTPStatus: 200,
			Response:  json.RawMessage(`{"data":null,"error_code":4002,"error_message":"balance exhausted"}`),
			ErrorCode: 4002, ErrorMessage: "balance exhausted", Class: "permanent", Category: "account",
			Attempts: 1, FirstAttemptAt: time.Now().UTC(), FailedAt: time.Now().UTC(),
			History: []deadletter.Attempt{{At: time.Now().UTC(), HTTPStatus: 200, ErrorCode: 4002, Class: "permanent"}},
		}
		id, _, err := store.Add(ctx, rec, []byte(`{"tenant":"`+tenant+`","idNumber":"29001011234567","name":"Amira Hassan"}`))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	insp := asynq.NewInspector(redistest.Opt(t, redistest.DBCmd))
	defer insp.Close()

	for name, c := range map[string]*cli{"redis only": redisOnly, "secrets file present": withFile} {
		t.Run("dlq with "+name, func(t *testing.T) {
			code, out, stderr := c.run("", "dlq", "list", "--tenant", tenant, "--json")
			if code != 0 || strings.Count(out, `"queue":"`+dlq+`"`) != 3 {
				t.Fatalf("list: exit %d err %q out %s", code, stderr, out)
			}
			code, out, stderr = c.run("", "dlq", "show", ids[0], "--ticket")
			if code != 0 || !strings.Contains(out, "4002") || !strings.Contains(out, tenant) {
				t.Fatalf("show --ticket: exit %d err %q out %s", code, stderr, out)
			}
			file := filepath.Join(t.TempDir(), "dl.ndjson")
			code, _, stderr = c.run("", "dlq", "export", "--tenant", tenant, "--format", "ndjson", "--out", file)
			b, _ := os.ReadFile(file)
			if code != 0 || bytes.Count(b, []byte("\n")) != 3 {
				t.Fatalf("export: exit %d err %q, %d lines", code, stderr, bytes.Count(b, []byte("\n")))
			}
			if code, _, stderr = c.run("", "dlq", "stats"); code != 0 {
				t.Fatalf("stats: exit %d err %q", code, stderr)
			}
		})
	}
	t.Run("dlq requeue with Redis only", func(t *testing.T) {
		code, out, stderr := redisOnly.run("", "dlq", "requeue", ids[0], "--by", "support@example.com")
		if code != 0 || !strings.Contains(out, "requeued 1") {
			t.Fatalf("requeue: exit %d out %q err %q", code, out, stderr)
		}
		if qi, err := insp.GetQueueInfo(dlq); err != nil || qi.Size != 1 {
			t.Fatalf("queue after requeue: %+v %v", qi, err)
		}
	})

	t.Run("dashboard with Redis and its token only", func(t *testing.T) {
		const token = "least-privilege-token-0123456789"
		env := map[string]string{"VLENSQ_DASHBOARD_TOKEN": token, "VLENSQ_DASHBOARD_USERS": ""}
		for k, v := range redisOnly.env {
			env[k] = v
		}
		for k, v := range env {
			t.Setenv(k, v)
		}
		dctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var out, errb testproc.SyncBuffer
		done := make(chan int, 1)
		go func() {
			done <- run(dctx, []string{"dashboard", "--addr", "127.0.0.1:0"}, strings.NewReader(""), &out, &errb)
		}()
		base := waitListening(t, &out, &errb, done)
		do := func(method, path, body string) (int, string) {
			r, _ := http.NewRequest(method, base+path, strings.NewReader(body))
			r.Header.Set("Authorization", "Bearer "+token)
			if body != "" {
				r.Header.Set("Content-Type", "application/json")
			}
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b bytes.Buffer
			_, _ = b.ReadFrom(resp.Body)
			return resp.StatusCode, b.String()
		}
		if code, body := do("GET", "/api/dlq?tenant="+tenant, ""); code != 200 || strings.Count(body, `"queue":"`+dlq+`"`) != 3 {
			t.Errorf("GET /api/dlq = %d %s", code, body)
		}
		if code, body := do("GET", "/api/dlq/"+ids[1], ""); code != 200 || !strings.Contains(body, `"error_code":4002`) {
			t.Errorf("GET /api/dlq/{id} = %d %s", code, body)
		}
		if code, body := do("POST", "/api/dlq/requeue", `{"ids":["`+ids[1]+`"]}`); code != 200 || !strings.Contains(body, `"requeued":1`) {
			t.Errorf("POST /api/dlq/requeue = %d %s", code, body)
		}
		if qi, err := insp.GetQueueInfo(dlq); err != nil || qi.Size != 2 {
			t.Errorf("queue after the dashboard's requeue: %+v %v", qi, err)
		}
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("dashboard exit %d: %s", code, errb.String())
			}
		case <-time.After(15 * time.Second):
			t.Fatal("the dashboard did not stop")
		}
	})
}

// waitListening waits for the dashboard's "listening" line and returns its
// base URL.
func waitListening(t *testing.T, out, errb *testproc.SyncBuffer, done <-chan int) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if m := listening.FindStringSubmatch(out.String()); m != nil {
			return m[1]
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
}

// The worker reads secrets from the files a tenants entry names and
// publishes the tenant's name, limits and weight, never a secret, to the
// tenants registry.
func TestWorkerPublishesTenantsRegistryWithoutSecrets(t *testing.T) {
	rdb := redistest.Client(t, redistest.DBCmd)
	tenant := fmt.Sprintf("reg-%d", time.Now().UnixNano())
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "api_key"), []byte("KEY-CANARY\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "password"), []byte("PW-CANARY\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VLENSQ_TEST_REG_USER", "USER-CANARY")
	tenants := filepath.Join(dir, "tenants.json")
	entry := `[{"tenancy_name":"` + tenant + `","api_key_file":"api_key","username":"${VLENSQ_TEST_REG_USER}","password_file":"password","rate_per_minute":30,"weight":3}]`
	if err := os.WriteFile(tenants, []byte(entry), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VLENSQ_REDIS", fmt.Sprintf("redis://%s/%d", redistest.Addr(), redistest.DBCmd))
	t.Setenv("VLENSQ_TENANTS", tenants)
	t.Setenv("VLENSQ_LOG_LEVEL", "error")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb testproc.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"worker", "--queues", uniqueQueue(t), "--shutdown-timeout", "1s"}, strings.NewReader(""), &out, &errb)
	}()
	deadline := time.Now().Add(15 * time.Second)
	var raw string
	for raw == "" {
		raw, _ = rdb.HGet(context.Background(), vlens.RegistryKeyDefault, tenant).Result()
		select {
		case code := <-done:
			t.Fatalf("worker exited with %d: %s", code, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker did not publish %s: %s", tenant, errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if strings.Contains(raw, "CANARY") {
		t.Errorf("registry entry holds a secret: %s", raw)
	}
	got, ok := vlens.NewTenantRegistry(rdb, vlens.RegistryConfig{}).Tenant(tenant)
	if want := (vlens.Tenant{Name: tenant, RatePerMinute: 30, Weight: 3}); !ok || got != want {
		t.Errorf("registry tenant = %+v, want %+v", got, want)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("worker exit %d: %s", code, errb.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the worker did not stop")
	}
}
