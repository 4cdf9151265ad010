package reliability

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/vlensq/vlensq/outcome"
	"github.com/vlensq/vlensq/tasks"
	"github.com/vlensq/vlensq/vlens/vlenstest"
)

// Issue 7 §5: canary secrets (API key, password, access and refresh tokens,
// OTP) and canary image bytes never appear in logs, payloads as Asynqmon
// shows them, asynq's error texts, dead-letter records and exports, the
// outcome stream or metric labels.
func TestCanarySecretsNeverLeak(t *testing.T) {
	t.Parallel()
	b := newBundle(t, bundleOpts{})
	// The tenant's secrets become canaries: rewrite the tenants file that
	// the worker and the CLI read (the sandbox keeps its copy).
	const apiKey, password, otp = "CANARY-APIKEY-7f3a91e2", "CANARY-PASSWORD-2c8d44", "CanaryOtp58130"
	restartSandbox(t, b, apiKey, password)

	var toks struct {
		Access  string `json:"access_token"`
		Refresh string `json:"refresh_token"`
	}
	body, _ := json.Marshal(map[string]string{"tenant": b.tenant.Name, "user": "canary-user"})
	resp, err := http.Post(b.fakeURL+vlenstest.AdminPrefix+"users", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(resp.Body).Decode(&toks); err != nil || toks.Access == "" || toks.Refresh == "" {
		t.Fatalf("sandbox users: %v %+v", err, toks)
	}
	resp.Body.Close()
	sess, _ := json.Marshal(map[string]string{"access_token": toks.Access, "refresh_token": toks.Refresh})
	if out, code := b.run(bytes.NewReader(sess), "session", "put", "--tenant", b.tenant.Name, "--user", "canary-user"); code != 0 {
		t.Fatalf("session put: exit %d\n%s", code, out)
	}

	// The image: a real JPEG with canary bytes appended.
	raw, _ := base64.StdEncoding.DecodeString(vlenstest.SampleImage(3))
	const imageCanary = "CANARY-IMAGE-BYTES-9e1b77"
	raw = append(raw, []byte(imageCanary+strings.Repeat("Z", 64))...)
	img := base64.StdEncoding.EncodeToString(raw)

	metricsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	w := b.worker(4, "VLENSQ_LOG_LEVEL=debug", "VLENSQ_METRICS="+metricsAddr)
	geo := &tasks.GeoLocation{Latitude: 30.04, Longitude: 31.23}
	jobs := []struct {
		typ string
		p   tasks.Payload
	}{
		{tasks.TypeVerifyIDFront, tasks.Payload{User: "canary-user", Image: tasks.InlineImage(img), ClientTransactionID: "leak-ok"}},
		{tasks.TypeVerifyIDFront, tasks.Payload{User: "canary-user", Image: tasks.InlineImage(img), ClientTransactionID: "sandbox:expire,ok#leak-refresh-" + b.queue}},
		{tasks.TypeOCRIDFront, tasks.Payload{Image: tasks.InlineImage(img), Country: "EG", ClientTransactionID: "sandbox:code:5005#leak-fake-" + b.queue}},
		{tasks.TypeOCRIDFront, tasks.Payload{Image: tasks.InlineImage(img), Country: "EG", ClientTransactionID: "sandbox:http500#leak-5xx-" + b.queue}},
		{tasks.TypeBusinessValidateOTP, tasks.Payload{User: "canary-user", OTPCode: otp, OTPRequestID: tasks.TextID("3b8d9e0f-2c1a-4d5e-8f7a-6b4c3d2e1f00"), BusinessRequestID: tasks.TextID("9a7c5e3b-1d2f-4a6b-8c9d-0e1f2a3b4c5d"),
			GeoLocation: geo, UserDeviceUTCTime: "2025-01-02T15:04:05Z"}},
	}
	var ids []string
	for _, j := range jobs {
		p := j.p
		p.Tenant = b.tenant.Name
		info, err := b.client.Enqueue(context.Background(), j.typ, &p, tasks.EnqueueOptions{Queue: b.queue})
		if err != nil {
			t.Fatalf("enqueue %s: %v", j.typ, err)
		}
		ids = append(ids, info.ID)
	}
	got := b.waitAllEnded(ids, time.Minute)
	_, dead := b.checkExactlyOnce(ids, got)
	if dead < 3 {
		t.Errorf("%d dead letters, want at least 3 (fake document, 5xx exhausted, bad OTP)", dead)
	}

	// Everything a person or a system can see.
	surfaces := map[string]string{"worker log": w.out.String(), "sandbox log": b.sandbox.out.String()}
	var shown, lastErrs strings.Builder
	for _, list := range []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){b.insp.ListCompletedTasks, b.insp.ListArchivedTasks} {
		tis, err := list(b.queue)
		if err != nil {
			t.Fatal(err)
		}
		for _, ti := range tis {
			shown.WriteString(tasks.FormatPayload(ti.Type, ti.Payload) + "\n")
			lastErrs.WriteString(ti.LastErr + "\n" + string(ti.Result) + "\n")
		}
	}
	surfaces["Asynqmon payloads (tasks.FormatPayload)"] = shown.String()
	surfaces["asynq errors and results"] = lastErrs.String()
	for _, format := range []string{"ndjson", "csv"} {
		out, code := b.run(nil, "dlq", "export", "--tenant", b.tenant.Name, "--format", format)
		if code != 0 {
			t.Fatalf("dlq export %s: exit %d\n%s", format, code, out)
		}
		surfaces["dlq export "+format] = out
	}
	list, _ := b.run(nil, "dlq", "list", "--tenant", b.tenant.Name, "--json")
	surfaces["dlq list"] = list
	var tickets strings.Builder
	for _, id := range ids {
		if o := got[id][0]; o.Status == outcome.StatusDeadLettered {
			out, code := b.run(nil, "dlq", "show", o.DeadLetterID, "--ticket")
			if code != 0 {
				t.Fatalf("dlq show --ticket: exit %d\n%s", code, out)
			}
			tickets.WriteString(out)
			out, _ = b.run(nil, "dlq", "show", o.DeadLetterID)
			tickets.WriteString(out)
		}
	}
	surfaces["dlq show / ticket"] = tickets.String()
	msgs, err := b.rdb.XRange(context.Background(), outcome.Stream, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	stream, _ := json.Marshal(msgs)
	surfaces["outcome stream"] = string(stream)
	mresp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	surfaces["worker /metrics"] = string(metrics)

	canaries := map[string]string{
		"api key": apiKey, "password": password, "access token": toks.Access, "refresh token": toks.Refresh,
		"OTP": otp, "image bytes": imageCanary, "image base64": img[len(img)-60:],
	}
	for where, text := range surfaces {
		if len(text) == 0 {
			t.Errorf("%s is empty: nothing was checked", where)
		}
		for what, c := range canaries {
			if strings.Contains(text, c) {
				i := strings.Index(text, c)
				t.Errorf("the %s leaks into the %s: …%s…", what, where, text[max(0, i-120):min(len(text), i+len(c)+40)])
			}
		}
	}
	// The checks above are only worth something if the canaries were used.
	if !strings.Contains(w.out.String(), "task succeeded") || !strings.Contains(surfaces["dlq export ndjson"], "sha256") {
		t.Errorf("the run did not exercise success and a redacted dead letter")
	}
	logf(t, "leaks: 7 canaries (api key, password, access and refresh token, OTP, image bytes and base64) absent from %d surfaces "+
		"(worker debug log, sandbox log, Asynqmon payloads, asynq errors and results, dlq export ndjson/csv, list, show, ticket, outcome stream, /metrics)",
		len(surfaces))
}

// restartSandbox gives the bundle's tenant canary credentials in a new
// tenants file and restarts the sandbox with it.
func restartSandbox(t *testing.T, b *bundle, apiKey, password string) {
	t.Helper()
	b.sandbox.kill()
	b.tenant.APIKey, b.tenant.Password = apiKey, password
	b.tenants = writeJSON(t, "tenants-canary.json", []any{b.tenant})
	b.sandbox = start(t, []string{"VLENSQ_TENANTS=" + b.tenants}, "sandbox", "--addr", "127.0.0.1:0")
	b.sandbox.waitOutput(t, "fake Vlens at http://", 20*time.Second)
	line := b.sandbox.out.String()
	i := strings.Index(line, "fake Vlens at ")
	b.fakeURL = strings.Fields(line[i+len("fake Vlens at "):])[0]
}
