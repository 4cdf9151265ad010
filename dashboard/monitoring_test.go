package dashboard

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/vlensq/vlensq/internal/redistest"
)

// monitoringCanaries are the strings no /monitoring/ response may contain.
var monitoringCanaries = []string{"CANARYIMG", canarySecret, "amira@example.com", "29001011234567", "eyJhbGciOiJIUzI1NiJ9"}

const canaryJWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl"

func canaryPayload(t testing.TB) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"tenant": "demo-bank", "image": canaryImage, "otpCode": canarySecret, "password": canarySecret,
		"client_transaction_id": "kiosk-17", "note": "bearer " + canaryJWT,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMonitoringRedactsPayloadsResultsAndErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	opt := redistest.Opt(t, redistest.DBDashboard)
	client := asynq.NewClient(opt)
	defer client.Close()

	idle, run := unique("mon-idle"), unique("mon-run")
	pending, err := client.Enqueue(asynq.NewTask("ocr:id_front", canaryPayload(t)), asynq.Queue(idle))
	if err != nil {
		t.Fatal(err)
	}
	failing, err := client.Enqueue(asynq.NewTask("fail", canaryPayload(t)), asynq.Queue(run), asynq.MaxRetry(0))
	if err != nil {
		t.Fatal(err)
	}
	succeeding, err := client.Enqueue(asynq.NewTask("ok", canaryPayload(t)), asynq.Queue(run), asynq.Retention(time.Hour))
	if err != nil {
		t.Fatal(err)
	}

	// A worker fails one task with secrets in its error (asynqmon shows
	// errors raw) and completes the other with the canary in its result.
	srv := asynq.NewServer(opt, asynq.Config{
		Queues: map[string]int{run: 1}, Concurrency: 2, TaskCheckInterval: 50 * time.Millisecond,
		LogLevel: asynq.FatalLevel,
	})
	mux := asynq.NewServeMux()
	mux.HandleFunc("fail", func(context.Context, *asynq.Task) error {
		return fmt.Errorf("login of amira@example.com (national id 29001011234567) failed: %w", asynq.SkipRetry)
	})
	mux.HandleFunc("ok", func(_ context.Context, t *asynq.Task) error {
		_, err := t.ResultWriter().Write(t.Payload())
		return err
	})
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	waitFor(t, 15*time.Second, "the worker to archive and complete its tasks", func() bool {
		q, err := insp.GetQueueInfo(run)
		return err == nil && q.Archived == 1 && q.Completed == 1
	})

	paths := []string{
		"/monitoring/api/queues/" + idle + "/pending_tasks",
		"/monitoring/api/queues/" + idle + "/tasks/" + pending.ID,
		"/monitoring/api/queues/" + run + "/archived_tasks",
		"/monitoring/api/queues/" + run + "/tasks/" + failing.ID,
		"/monitoring/api/queues/" + run + "/completed_tasks",
		"/monitoring/api/queues/" + run + "/tasks/" + succeeding.ID,
		"/monitoring/api/servers",
	}
	for _, p := range paths {
		body := b.get(p, http.StatusOK)
		for _, c := range monitoringCanaries {
			if strings.Contains(body, c) {
				t.Errorf("GET %s leaks %q:\n%s", p, c, body)
			}
		}
		if !strings.Contains(p, "servers") && !strings.Contains(body, "[redacted") {
			t.Errorf("GET %s shows no redaction marker:\n%s", p, body)
		}
	}
	// The redacted payload is still useful: plain fields stay.
	if body := b.get(paths[1], http.StatusOK); !strings.Contains(body, "kiosk-17") {
		t.Errorf("the payload lost its plain fields:\n%s", body)
	}
	// The error message keeps its shape, with the secrets replaced.
	var info struct {
		ErrorMessage string `json:"error_message"`
	}
	if err := json.Unmarshal([]byte(b.get(paths[3], http.StatusOK)), &info); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(info.ErrorMessage, "login of [redacted") || !strings.Contains(info.ErrorMessage, "failed: ") {
		t.Errorf("error_message = %q", info.ErrorMessage)
	}
}

func TestMonitoringReadOnly(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) { c.ReadOnly = true })
	opt := redistest.Opt(t, redistest.DBDashboard)
	client := asynq.NewClient(opt)
	defer client.Close()
	q := unique("mon-ro")
	info, err := client.Enqueue(asynq.NewTask("ocr:id_front", []byte(`{}`)), asynq.Queue(q))
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := b.do(nil, http.MethodDelete, "/monitoring/api/queues/"+q+"/pending_tasks/"+info.ID, nil, bearer)
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("DELETE in read-only mode = %d, want 405", resp.StatusCode)
	}
	b.get("/monitoring/api/queues/"+q+"/tasks/"+info.ID, http.StatusOK)
	// The UI is told too.
	if page := b.get("/monitoring/", http.StatusOK); !strings.Contains(page, `FLAG_READ_ONLY="true"`) {
		t.Error("Asynqmon's page does not know it is read-only")
	}
}

var scriptTag = regexp.MustCompile(`(?s)<script>(.*?)</script>`)

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, p := range []string{"/dlq/", "/login", "/api/dlq", "/monitoring/"} {
		resp, _ := b.do(nil, http.MethodGet, p, nil, bearer)
		h := resp.Header
		for k, want := range map[string]string{
			"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
		} {
			if got := h.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", p, k, got, want)
			}
		}
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q does not forbid framing", p, csp)
		}
		if script := directive(csp, "script-src"); strings.Contains(script, "unsafe") {
			t.Errorf("%s: script-src %q allows unsafe scripts", p, script)
		}
	}
	if got := b.get("/dlq/", http.StatusOK); strings.Contains(got, "<script>") || strings.Contains(got, " style=") {
		t.Error("the dashboard's own pages have inline script or style, which their CSP forbids")
	}
	resp, _ := b.do(nil, http.MethodGet, "/dlq/", nil, bearer)
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("record pages may be cached: Cache-Control %q", resp.Header.Get("Cache-Control"))
	}

	// Asynqmon's page runs: every inline script on it is allowed by hash.
	resp, page := b.do(nil, http.MethodGet, "/monitoring/", nil, bearer)
	script := directive(resp.Header.Get("Content-Security-Policy"), "script-src")
	scripts := scriptTag.FindAllStringSubmatch(page, -1)
	if len(scripts) == 0 {
		t.Fatal("no inline script found on Asynqmon's page")
	}
	for _, m := range scripts {
		sum := sha256.Sum256([]byte(m[1]))
		if h := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(script, h) {
			t.Errorf("inline script %.40q… is not allowed by script-src %q", m[1], script)
		}
	}
}

// directive returns one directive of a CSP.
func directive(csp, name string) string {
	for _, d := range strings.Split(csp, ";") {
		if d = strings.TrimSpace(d); strings.HasPrefix(d, name+" ") {
			return d
		}
	}
	return ""
}
