package vlenstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vlensq/vlensq/vlens"
)

// testClock is an injectable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Canary credentials: they must never show up in records or error texts.
var (
	tenantA = vlens.Tenant{Name: "acme", APIKey: "canary-key-acme-7f3a", Username: "admin@acme.test", Password: "canary-pass-acme-91c2"}
	tenantB = vlens.Tenant{Name: "globex", APIKey: "canary-key-globex-2b8d", Username: "admin@globex.test", Password: "canary-pass-globex-44e0"}
)

type testBundle struct {
	srv   *Server
	clock *testClock
	a, b  vlens.Tenant
	// client does not reuse connections, so that a reset never makes the
	// transport replay a request behind the test's back.
	client *http.Client
}

// setup starts a fake serving tenantA and tenantB on an injected clock.
// mod may adjust the options.
func setup(t *testing.T, mod ...func(*Options)) *testBundle {
	t.Helper()
	clock := newTestClock()
	opts := Options{Tenants: []vlens.Tenant{tenantA, tenantB}, Now: clock.Now, Seed: 1}
	for _, m := range mod {
		m(&opts)
	}
	srv := NewTestServer(t, opts)
	return &testBundle{
		srv: srv, clock: clock, a: tenantA, b: tenantB,
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second},
	}
}

var requestSeq atomic.Int64

// newRequest builds a call the way the Vlens SDKs do: ApiKey, TenancyName,
// JSON content type, X-Request-Id, and the bearer token when given. body is
// JSON-encoded unless it is a string or []byte.
func (b *testBundle) newRequest(t testing.TB, method, path, token string, body any) *http.Request {
	t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
	case []byte:
		rd = bytes.NewReader(v)
	default:
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("marshal body: %v", err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, b.srv.URL+path, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	req.Header.Set("ApiKey", b.a.APIKey)
	req.Header.Set("TenancyName", b.a.Name)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Request-Id", fmt.Sprintf("req-%d", requestSeq.Add(1)))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

// reply is a received answer.
type reply struct {
	status int
	header http.Header
	raw    []byte
	env    map[string]any // nil when the body is not a JSON object
}

func (b *testBundle) send(t testing.TB, req *http.Request) reply {
	t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.env)
	return r
}

func (b *testBundle) post(t testing.TB, path, token string, body any) reply {
	t.Helper()
	return b.send(t, b.newRequest(t, http.MethodPost, path, token, body))
}

func (b *testBundle) get(t testing.TB, path, token string) reply {
	t.Helper()
	return b.send(t, b.newRequest(t, http.MethodGet, path, token, nil))
}

// userToken returns an access token of a verified end user of tenant A.
func (b *testBundle) userToken(user string) string {
	access, _ := b.srv.UserTokens(b.a.Name, user)
	return access
}

// tenantLogin logs tenant A in and returns its tokens.
func (b *testBundle) tenantLogin(t testing.TB) (access, refresh string) {
	t.Helper()
	r := b.post(t, "/api/credentials/Login", "", map[string]any{
		"tenancyName": b.a.Name, "userNameOrEmailAddress": b.a.Username, "password": b.a.Password,
	})
	wantStatus(t, r, http.StatusOK)
	return r.str(t, "data.accessToken"), r.str(t, "data.refreshToken")
}

// get returns the value at a dotted path of the envelope ("data.idFrontData.name").
func (r reply) get(path string) (any, bool) {
	var cur any = r.env
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func (r reply) str(t testing.TB, path string) string {
	t.Helper()
	v, ok := r.get(path)
	s, isStr := v.(string)
	if !ok || !isStr {
		t.Fatalf("%s: want a string, got %v (body %s)", path, v, r.short())
	}
	return s
}

// code returns error_code: nil for null, else the number.
func (r reply) code(t testing.TB) any {
	t.Helper()
	v, ok := r.get("error_code")
	if !ok {
		t.Fatalf("error_code is missing (body %s)", r.short())
	}
	if v == nil {
		return nil
	}
	return int(v.(float64))
}

func (r reply) message() string {
	v, _ := r.get("error_message")
	s, _ := v.(string)
	return s
}

func (r reply) short() string {
	if len(r.raw) > 300 {
		return string(r.raw[:300]) + "..."
	}
	return string(r.raw)
}

func wantStatus(t testing.TB, r reply, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d (body %s)", r.status, status, r.short())
	}
}

// wantSuccess checks HTTP 200 with error_code null or 0.
func wantSuccess(t testing.TB, r reply) {
	t.Helper()
	wantStatus(t, r, http.StatusOK)
	if c := r.code(t); c != nil && c != 0 {
		t.Fatalf("error_code %v, want null or 0 (body %s)", c, r.short())
	}
	if m := r.message(); m != "" {
		t.Fatalf("error_message %q on a success", m)
	}
}

// wantFailure checks status, error_code (nil for null) and that the message
// contains msg.
func wantFailure(t testing.TB, r reply, status int, code any, msg string) {
	t.Helper()
	wantStatus(t, r, status)
	if got := r.code(t); got != code {
		t.Fatalf("error_code %v, want %v (body %s)", got, code, r.short())
	}
	if !strings.Contains(r.message(), msg) {
		t.Fatalf("error_message %q, want it to contain %q", r.message(), msg)
	}
}

// descriptions returns error_descriptions as "field: message" lines.
func (r reply) descriptions() []string {
	v, _ := r.get("error_descriptions")
	list, _ := v.([]any)
	var out []string
	for _, e := range list {
		m, _ := e.(map[string]any)
		out = append(out, fmt.Sprintf("%v: %v", m["field"], m["message"]))
	}
	return out
}

// frontBody is a valid verify/ocr front or back body.
func frontBody(extra map[string]any) map[string]any {
	m := map[string]any{"image": SampleImage(1), "getExtractedData": true}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// livenessBody has three distinct frames for transaction tx.
func livenessBody(tx string) map[string]any {
	return map[string]any{
		"face_1": SampleImage(11), "face_2": SampleImage(12), "face_3": SampleImage(13),
		"transaction_id": tx, "getExtractedData": true,
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

const (
	pathLogin          = "/api/credentials/Login"
	pathRefresh        = "/api/credentials/RefreshToken"
	pathUserLogin      = "/api/DigitalIdentity/Login"
	pathUserRefresh    = "/api/DigitalIdentity/RefreshToken"
	pathFront          = "/api/DigitalIdentity/verify/id/front"
	pathBack           = "/api/DigitalIdentity/verify/id/back"
	pathLiveness       = "/api/DigitalIdentity/verify/liveness/multi"
	pathOCRFront       = "/v1/ocr/id/front"
	pathOCRBack        = "/v1/ocr/id/back"
	pathFaceMatch      = "/v1/ocr/face/match"
	pathAML            = "/v1/ocr/aml/validate"
	pathEligibility    = "/api/BusinessRequest/CheckEligibility"
	pathTemplate       = "/api/BusinessRequest/GetBusinessRequestTypeTemplateFields"
	pathCreate         = "/api/BusinessRequest/Create/"
	pathRequestOTP     = "/api/BusinessRequest/CustomerSign/StepRequestOtp"
	pathRevalidate     = "/api/BusinessRequest/CustomerSign/StepReValidateLiveness"
	pathValidateOTP    = "/api/BusinessRequest/CustomerSign/StepValidateOtp"
	pathGetBusinessReq = "/api/BusinessRequest/GetBusinessRequestById/"
)
