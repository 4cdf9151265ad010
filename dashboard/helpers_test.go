package dashboard

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/internal/config"
	"github.com/vlensq/vlensq/internal/redistest"
)

const (
	testToken    = "test-token-0123456789abcdef"
	testUser     = "alice"
	testPassword = "alice-password-1"
)

var (
	hashOnce sync.Once
	testHash string
)

// aliceHash is a bcrypt hash of testPassword at the minimum cost, made once.
func aliceHash(t testing.TB) string {
	hashOnce.Do(func() {
		h, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		testHash = string(h)
	})
	return testHash
}

// bcryptHash hashes pw at the minimum cost.
func bcryptHash(t testing.TB, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func unique(prefix string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// testRedis is the test Redis as a config.Redis on the package's database.
func testRedis(t testing.TB) *config.Redis {
	t.Helper()
	c := redistest.Client(t, redistest.DBDashboard)
	return &config.Redis{
		Client: c, ConnOpt: asynq.RedisClientOpt{Addr: redistest.Addr(), DB: redistest.DBDashboard},
		Kind: "standalone", Display: "test",
	}
}

// requeueCall is one call of the test's Config.Requeue.
type requeueCall struct {
	RecordID, NewTaskID string
	Payload             []byte
}

type testBundle struct {
	t      *testing.T
	rdb    *redis.Client
	redis  *config.Redis
	store  *deadletter.Store
	d      *Dashboard
	srv    *httptest.Server
	tenant string

	mu       sync.Mutex
	requeues []requeueCall
}

// setup starts a dashboard (token and user alice) over a dead-letter store
// with its own key prefix; mods adjust the Config.
func setup(t *testing.T, mods ...func(*Config)) *testBundle {
	t.Helper()
	b := &testBundle{t: t, tenant: unique("tenant")}
	b.redis = testRedis(t)
	b.rdb = b.redis.Client.(*redis.Client)
	var err error
	b.store, err = deadletter.New(b.rdb, deadletter.Config{Prefix: unique("dash")})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Redis: b.redis, DLQ: b.store, Token: testToken,
		Users: map[string]string{testUser: aliceHash(t)},
		Requeue: func(_ context.Context, rec *deadletter.Record, payload []byte, newTaskID string) error {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.requeues = append(b.requeues, requeueCall{RecordID: rec.ID, NewTaskID: newTaskID, Payload: payload})
			return nil
		},
	}
	for _, m := range mods {
		m(&cfg)
	}
	b.d, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.d.Close() })
	b.srv = httptest.NewServer(b.d.Handler())
	t.Cleanup(b.srv.Close)
	return b
}

func (b *testBundle) requeueCalls() []requeueCall {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]requeueCall(nil), b.requeues...)
}

// canaryImage is a base64 "image" that must never reach a response.
var canaryImage = strings.Repeat("Q0FOQVJZSU1BR0U", 40) + "CANARYIMG"

// canarySecret must never reach a response either.
const canarySecret = "canary-secret-7d1f"

// record returns a record of the bundle's tenant; mod adjusts it.
func (b *testBundle) record(mod func(*deadletter.Record)) *deadletter.Record {
	at := time.Now().UTC().Add(-time.Minute)
	rec := &deadletter.Record{
		TaskID: unique("task"), Queue: "default", Type: "ocr:id_front", Tenant: b.tenant,
		Endpoint:   deadletter.Endpoint{Method: "POST", URL: "https://api.vlenseg.com/v1/ocr/id/front"},
		Request:    json.RawMessage(`{"image":"[redacted 412000 B sha256:1a2b3c4d5e6f]","country":"EG","transaction_id":"txn-1"}`),
		HTTPStatus: 200,
		Response:   json.RawMessage(`{"data":null,"error_code":3011,"error_message":"card not detected","error_descriptions":null}`),
		ErrorCode:  3011, ErrorMessage: "card not detected",
		Class: "permanent", Category: "identity_verification",
		Resolution: "Re-capture with better lighting and the ID filling most of the frame",
		Attempts:   1, FirstAttemptAt: at, FailedAt: at,
		History:       []deadletter.Attempt{{At: at, HTTPStatus: 200, ErrorCode: 3011, Class: "permanent", XRequestID: "xrid-" + b.tenant}},
		TransactionID: "txn-1",
	}
	if mod != nil {
		mod(rec)
	}
	return rec
}

// add stores records made by record(mod) and returns their ids.
func (b *testBundle) add(mod func(*deadletter.Record)) string {
	b.t.Helper()
	rec := b.record(mod)
	payload, _ := json.Marshal(map[string]any{"tenant": rec.Tenant, "image": canaryImage, "otpCode": canarySecret})
	id, _, err := b.store.Add(context.Background(), rec, payload)
	if err != nil {
		b.t.Fatal(err)
	}
	return id
}

// client returns an HTTP client that keeps cookies and does not follow
// redirects.
func (b *testBundle) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// req is one request; opts set headers.
func (b *testBundle) do(c *http.Client, method, path string, body io.Reader, hdr map[string]string) (*http.Response, string) {
	b.t.Helper()
	if c == nil {
		c = b.client()
	}
	r, err := http.NewRequest(method, b.srv.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	resp, err := c.Do(r)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp, string(out)
}

var bearer = map[string]string{"Authorization": "Bearer " + testToken}

// get does an authenticated (bearer) GET and fails the test unless the
// status is want.
func (b *testBundle) get(path string, want int) string {
	b.t.Helper()
	resp, body := b.do(nil, http.MethodGet, path, nil, bearer)
	if resp.StatusCode != want {
		b.t.Fatalf("GET %s = %d, want %d; body: %s", path, resp.StatusCode, want, body)
	}
	return body
}

// postJSON does an authenticated (bearer) POST of v.
func (b *testBundle) postJSON(path string, v any, want int) string {
	b.t.Helper()
	body, _ := json.Marshal(v)
	hdr := map[string]string{"Authorization": "Bearer " + testToken, "Content-Type": "application/json"}
	resp, out := b.do(nil, http.MethodPost, path, strings.NewReader(string(body)), hdr)
	if resp.StatusCode != want {
		b.t.Fatalf("POST %s = %d, want %d; body: %s", path, resp.StatusCode, want, out)
	}
	return out
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

// csrfOf returns the CSRF token a page carries.
func csrfOf(t testing.TB, page string) string {
	t.Helper()
	m := csrfMeta.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("page has no csrf-token meta:\n%s", page)
	}
	return m[1]
}

// login signs c in through the login form as alice and returns the CSRF
// token of the session.
func (b *testBundle) login(c *http.Client) string {
	b.t.Helper()
	_, page := b.do(c, http.MethodGet, "/login", nil, nil)
	form := url.Values{"csrf_token": {csrfOf(b.t, page)}, "username": {testUser}, "password": {testPassword}, "next": {"/dlq/"}}
	resp, body := b.do(c, http.MethodPost, "/login", strings.NewReader(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dlq/" {
		b.t.Fatalf("login = %d to %q, want 303 to /dlq/; body: %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	resp, page = b.do(c, http.MethodGet, "/dlq/", nil, nil)
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("GET /dlq/ after login = %d", resp.StatusCode)
	}
	return csrfOf(b.t, page)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
