package vlens_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/vlensq/vlensq/internal/redistest"
	"github.com/vlensq/vlensq/vlens"
	"github.com/vlensq/vlensq/vlens/vlenstest"
)

// Endpoints used by the tests.
const (
	pathFront       = "/api/DigitalIdentity/verify/id/front" // user token, error_code null on success
	pathAML         = "/v1/ocr/aml/validate"                 // tenant token, error_code 0 on success
	pathEligibility = "/api/BusinessRequest/CheckEligibility"
)

// uniq returns a name no other test (or earlier -count run) uses, so that
// tests sharing the Redis database never share sessions or limits.
func uniq(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// hookLog records every hook call, rendered as text.
type hookLog struct {
	mu       sync.Mutex
	calls    []vlens.CallInfo
	refresh  []string
	throttle []time.Duration
}

func (h *hookLog) hooks() vlens.Hooks {
	return vlens.Hooks{
		OnCall: func(ci vlens.CallInfo) { h.mu.Lock(); h.calls = append(h.calls, ci); h.mu.Unlock() },
		OnRefresh: func(tenant string, user bool, err error) {
			h.mu.Lock()
			h.refresh = append(h.refresh, fmt.Sprintf("%s user=%v err=%v", tenant, user, err))
			h.mu.Unlock()
		},
		OnThrottle: func(_ string, wait time.Duration) { h.mu.Lock(); h.throttle = append(h.throttle, wait); h.mu.Unlock() },
	}
}

func (h *hookLog) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return fmt.Sprintf("%+v %v %v", h.calls, h.refresh, h.throttle)
}

type testBundle struct {
	fake   *vlenstest.Server
	tenant vlens.Tenant
	rdb    *redis.Client
	store  *vlens.RedisSessionStore
	client *vlens.Client
	hooks  *hookLog
	cfg    vlens.Config
}

// setup starts a fake Vlens with one fresh tenant (canary secrets) and a
// client on the shared Redis database. mod adjusts the client config.
func setup(t *testing.T, opts vlenstest.Options, mod ...func(*vlens.Config)) *testBundle {
	t.Helper()
	name := uniq("acme")
	tenant := vlens.Tenant{Name: name, APIKey: "canary-apikey-" + name, Username: "admin@" + name, Password: "canary-password-" + name}
	opts.Tenants = append(opts.Tenants, tenant)
	fake := vlenstest.NewTestServer(t, opts)
	b := &testBundle{fake: fake, tenant: tenant, rdb: redistest.Client(t, redistest.DBVlens), hooks: &hookLog{}}
	b.store = vlens.NewRedisSessionStore(b.rdb)
	b.cfg = b.config(tenant)
	for _, m := range mod {
		m(&b.cfg)
	}
	b.client = b.newClient(t, b.cfg)
	return b
}

func (b *testBundle) config(tenants ...vlens.Tenant) vlens.Config {
	set, err := vlens.NewTenantSet(tenants...)
	if err != nil {
		panic(err)
	}
	return vlens.Config{BaseURL: b.fake.URL, Tenants: set, Sessions: b.store, Hooks: b.hooks.hooks()}
}

func (b *testBundle) newClient(t *testing.T, cfg vlens.Config) *vlens.Client {
	t.Helper()
	c, err := vlens.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// amlCall is a tenant-token OCR call; scenario goes into the name field.
func (b *testBundle) amlCall(scenario string) vlens.Call {
	name := "Ahmed Mohamed"
	if scenario != "" {
		name = "sandbox:" + scenario + "#" + uniq("k")
	}
	return vlens.Call{Tenant: b.tenant.Name, Path: pathAML, Body: map[string]string{"idNumber": "29001011234567", "name": name}}
}

// user registers an end user in the fake and stores its tokens.
func (b *testBundle) user(t *testing.T) string {
	t.Helper()
	u := uniq("user")
	access, refresh := b.fake.UserTokens(b.tenant.Name, u)
	if err := b.store.Put(context.Background(), b.tenant.Name, u, vlens.Session{AccessToken: access, RefreshToken: refresh}); err != nil {
		t.Fatal(err)
	}
	return u
}

// frontCall is a user-token document call; scenario goes into
// client_transaction_id.
func (b *testBundle) frontCall(user, scenario string) vlens.Call {
	body := map[string]any{"image": vlenstest.SampleImage(1), "country": "EG", "getExtractedData": true}
	if scenario != "" {
		body["client_transaction_id"] = "sandbox:" + scenario + "#" + uniq("k")
	}
	return vlens.Call{Tenant: b.tenant.Name, User: user, Token: vlens.TokenUser, Path: pathFront, Body: body}
}

// secrets returns every secret the test bundle knows of: the tenant's key
// and password and the tokens in the store.
func (b *testBundle) secrets(t *testing.T, users ...string) []string {
	t.Helper()
	out := []string{b.tenant.APIKey, b.tenant.Password}
	for _, u := range append([]string{""}, users...) {
		if s, err := b.store.Get(context.Background(), b.tenant.Name, u); err == nil {
			out = append(out, s.AccessToken, s.RefreshToken)
		}
	}
	return out
}

// noSecrets fails when any rendering of v contains a secret.
func noSecrets(t *testing.T, secrets []string, v ...any) {
	t.Helper()
	for _, x := range v {
		var text string
		if e, ok := x.(*vlens.Error); ok && e != nil {
			j, _ := json.Marshal(e)
			text = fmt.Sprintf("%v|%+v|%s|%s|%s", e, e, j, e.Body, e.Reason)
			if e.Err != nil {
				text += e.Err.Error()
			}
		} else {
			text = fmt.Sprintf("%v|%+v|%#v", x, x, x)
		}
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("secret %.12q... leaks into %T: %s", s, x, text)
			}
		}
	}
}

func asError(t *testing.T, err error) *vlens.Error {
	t.Helper()
	var e *vlens.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *vlens.Error", err, err)
	}
	return e
}

func TestDoClasses(t *testing.T) {
	t.Parallel()
	b := setup(t, vlenstest.Options{})
	u := b.user(t)
	ctx := context.Background()

	tests := []struct {
		desc      string
		call      vlens.Call
		class     vlens.Class
		category  vlens.Category
		status    int // 0: no answer
		code      int
		retryMin  time.Duration
		check     func(t *testing.T, resp *vlens.Response, e *vlens.Error)
		wantNoRsp bool
	}{
		{desc: "success error_code null", call: b.frontCall(u, "ok"), class: vlens.ClassSuccess, status: 200,
			check: func(t *testing.T, resp *vlens.Response, _ *vlens.Error) {
				if resp.Envelope == nil || resp.Envelope.ErrorCode != nil || len(resp.Envelope.Data) == 0 {
					t.Errorf("envelope = %+v, want data and error_code null", resp.Envelope)
				}
			}},
		{desc: "success error_code 0", call: b.amlCall(""), class: vlens.ClassSuccess, status: 200,
			check: func(t *testing.T, resp *vlens.Response, _ *vlens.Error) {
				if resp.Envelope == nil || resp.Envelope.ErrorCode == nil || *resp.Envelope.ErrorCode != 0 {
					t.Errorf("envelope = %+v, want error_code 0", resp.Envelope)
				}
			}},
		{desc: "http 200 with error_code", call: b.frontCall(u, "code:3011"), class: vlens.ClassPermanent,
			category: vlens.CategoryIdentityVerification, status: 200, code: 3011,
			check: func(t *testing.T, _ *vlens.Response, e *vlens.Error) {
				if e.Message == "" || e.Resolution == "" {
					t.Errorf("message %q, resolution %q: want both", e.Message, e.Resolution)
				}
			}},
		{desc: "error only under services", call: b.frontCall(u, "services3011"), class: vlens.ClassPermanent,
			category: vlens.CategoryIdentityVerification, status: 200, code: 3011,
			check: func(t *testing.T, _ *vlens.Response, e *vlens.Error) {
				if len(e.FieldErrors) == 0 || e.FieldErrors[0].Field != "image" {
					t.Errorf("field errors = %+v, want the image validation error", e.FieldErrors)
				}
			}},
		{desc: "400 with descriptions", call: b.frontCall(u, "http400desc"), class: vlens.ClassPermanent,
			category: vlens.CategoryValidation, status: 400,
			check: func(t *testing.T, _ *vlens.Response, e *vlens.Error) {
				if !strings.Contains(strings.Join(e.Descriptions, "\n"), "image is required") {
					t.Errorf("descriptions = %q, want the image field error", e.Descriptions)
				}
			}},
		{desc: "http 500", call: b.frontCall(u, "http500"), class: vlens.ClassTransient, status: 500},
		{desc: "html gateway page", call: b.frontCall(u, "http502html"), class: vlens.ClassTransient, status: 502,
			check: func(t *testing.T, resp *vlens.Response, e *vlens.Error) {
				if e.Envelope != nil || !strings.Contains(strings.ToLower(string(e.Body)), "<html") {
					t.Errorf("envelope %v, body %.60q: want no envelope and the raw HTML kept", e.Envelope, e.Body)
				}
			}},
		{desc: "truncated json", call: b.frontCall(u, "truncated"), class: vlens.ClassTransient, status: 200},
		{desc: "empty body", call: b.frontCall(u, "empty"), class: vlens.ClassTransient, status: 200},
		{desc: "connection reset", call: b.frontCall(u, "reset"), class: vlens.ClassTransient,
			category: vlens.CategoryNetwork, wantNoRsp: true,
			check: func(t *testing.T, _ *vlens.Response, e *vlens.Error) {
				if e.Err == nil {
					t.Error("Err is nil, want the transport error")
				}
			}},
		{desc: "timeout", call: func() vlens.Call { c := b.frontCall(u, "delay:5s"); c.Timeout = 100 * time.Millisecond; return c }(),
			class: vlens.ClassTransient, category: vlens.CategoryNetwork, wantNoRsp: true,
			check: func(t *testing.T, _ *vlens.Response, e *vlens.Error) {
				if !errors.Is(e, context.DeadlineExceeded) {
					t.Errorf("err %v does not wrap context.DeadlineExceeded", e)
				}
			}},
		{desc: "429 with Retry-After", call: b.frontCall(u, "http429:7"), class: vlens.ClassThrottled, status: 429,
			retryMin: 7 * time.Second},
		{desc: "code 4003", call: b.frontCall(u, "code:4003"), class: vlens.ClassThrottled,
			category: vlens.CategoryAccount, status: 200, code: 4003},
		{desc: "fake document", call: b.frontCall(u, "fake"), class: vlens.ClassPermanent,
			category: vlens.CategoryIdentityVerification, status: 200},
		{desc: "code 5000", call: b.frontCall(u, "code:5000"), class: vlens.ClassTransient, status: 200, code: 5000},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			resp, err := b.client.Do(ctx, tt.call)
			if tt.class == vlens.ClassSuccess {
				if err != nil {
					t.Fatalf("Do: %v", err)
				}
				if resp.HTTPStatus != tt.status || resp.Verdict.Class != vlens.ClassSuccess {
					t.Errorf("status %d class %s, want %d success", resp.HTTPStatus, resp.Verdict.Class, tt.status)
				}
				if tt.check != nil {
					tt.check(t, resp, nil)
				}
				return
			}
			e := asError(t, err)
			if e.Class != tt.class || (tt.category != "" && e.Category != tt.category) {
				t.Errorf("class/category = %s/%s, want %s/%s (reason %q)", e.Class, e.Category, tt.class, tt.category, e.Reason)
			}
			if e.HTTPStatus != tt.status {
				t.Errorf("http status = %d, want %d", e.HTTPStatus, tt.status)
			}
			if tt.code != 0 && e.Code != tt.code {
				t.Errorf("code = %d, want %d", e.Code, tt.code)
			}
			if e.RetryAfter < tt.retryMin {
				t.Errorf("RetryAfter = %v, want at least %v", e.RetryAfter, tt.retryMin)
			}
			if e.Method != "POST" || e.URL != b.fake.URL+pathFront && e.URL != b.fake.URL+pathAML {
				t.Errorf("method/url = %s %s, want the call's", e.Method, e.URL)
			}
			if e.RequestID == "" {
				t.Error("error carries no X-Request-Id")
			}
			if tt.wantNoRsp != (resp == nil) {
				t.Errorf("response = %v, want nil %v", resp, tt.wantNoRsp)
			}
			if resp != nil && resp.Verdict.Class != e.Class {
				t.Errorf("response verdict %s differs from the error's %s", resp.Verdict.Class, e.Class)
			}
			if tt.check != nil {
				tt.check(t, resp, e)
			}
			noSecrets(t, b.secrets(t, u), e)
		})
	}
}

func TestDoLocalRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, vlenstest.Options{}, func(c *vlens.Config) {
		c.Limiter = vlens.NewRedisLimiter(redistest.Client(t, redistest.DBVlens))
	})
	b.tenant.RatePerSecond = 2 // the bundle's set has default limits; use a fresh set
	cfg := b.config(b.tenant)
	cfg.Limiter = b.cfg.Limiter
	client := b.newClient(t, cfg)
	ctx := context.Background()

	var ok, throttled int
	var last *vlens.Error
	start := time.Now()
	for range 5 {
		_, err := client.Do(ctx, b.amlCall(""))
		switch {
		case err == nil:
			ok++
		default:
			last = asError(t, err)
			throttled++
		}
	}
	sent := 0
	for _, r := range b.fake.Requests() {
		if r.Path == pathAML {
			sent++
		}
	}
	// Redis time moves while the loop runs: allow its refills (one per 500 ms).
	limit := 2 + int(time.Since(start)/(500*time.Millisecond))
	if ok < 2 || ok > limit || sent != ok || last == nil {
		t.Fatalf("%d allowed, %d sent to Vlens; want 2 (at most %d) and only the allowed ones sent", ok, sent, limit)
	}
	if last.Class != vlens.ClassThrottled || last.Category != vlens.CategoryAccount || last.Reason != "local rate limit" {
		t.Errorf("refusal = %s/%s %q, want throttled/account \"local rate limit\"", last.Class, last.Category, last.Reason)
	}
	if last.RetryAfter <= 0 || last.RetryAfter > 500*time.Millisecond {
		t.Errorf("RetryAfter = %v, want (0, 500ms] at 2/s", last.RetryAfter)
	}
	if len(b.hooks.throttle) == 0 {
		t.Error("OnThrottle was not called")
	}

	t.Run("ThrottleWait waits instead", func(t *testing.T) {
		cfg := cfg
		cfg.ThrottleWait = 2 * time.Second
		waiting := b.newClient(t, cfg)
		for i := range 3 {
			if _, err := waiting.Do(ctx, b.amlCall("")); err != nil {
				t.Fatalf("call %d with ThrottleWait: %v", i, err)
			}
		}
	})
}

func TestDoTenantToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("login once, then reuse the stored token", func(t *testing.T) {
		t.Parallel()
		b := setup(t, vlenstest.Options{})
		for i := range 3 {
			resp, err := b.client.Do(ctx, b.amlCall(""))
			if err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
			if resp.Refreshed {
				t.Error("Refreshed on a fresh token")
			}
		}
		if n := b.fake.Logins(b.tenant.Name); n != 1 {
			t.Errorf("logins = %d, want 1", n)
		}
		s, err := b.store.Get(ctx, b.tenant.Name, "")
		if err != nil || s.AccessToken == "" || s.RefreshToken == "" {
			t.Fatalf("stored tenant session = %v, %v", s, err)
		}
		if d := time.Until(s.AccessExpiresAt); d < 23*time.Hour || d > 25*time.Hour {
			t.Errorf("access expiry in %v, want ~24h from expireInSeconds", d)
		}
		if d := time.Until(s.RefreshExpiresAt); d < 6*24*time.Hour || d > 8*24*time.Hour {
			t.Errorf("refresh expiry in %v, want ~7d from refreshTokenExpireInSeconds", d)
		}
		var tokens []string
		for _, r := range b.fake.Requests() {
			if r.Path == pathAML {
				tokens = append(tokens, r.Token)
			}
		}
		if strings.Join(tokens, ",") != "tenant,tenant,tenant" {
			t.Errorf("tokens presented = %v, want the tenant token each time", tokens)
		}
	})

	t.Run("expired token: one refresh, one replay, rotation honoured", func(t *testing.T) {
		t.Parallel()
		b := setup(t, vlenstest.Options{})
		if _, err := b.client.Do(ctx, b.amlCall("")); err != nil {
			t.Fatal(err)
		}
		before, _ := b.store.Get(ctx, b.tenant.Name, "")
		for round := 1; round <= 2; round++ {
			b.fake.ExpireAccessTokens()
			n := len(b.fake.Requests())
			resp, err := b.client.Do(ctx, b.amlCall(""))
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			if !resp.Refreshed {
				t.Errorf("round %d: Refreshed = false", round)
			}
			var got []string
			for _, r := range b.fake.Requests()[n:] {
				got = append(got, fmt.Sprintf("%s %d", r.Path, r.Status))
			}
			want := []string{pathAML + " 401", "/api/credentials/RefreshToken 200", pathAML + " 200"}
			if strings.Join(got, ", ") != strings.Join(want, ", ") {
				t.Errorf("round %d: requests %v, want %v", round, got, want)
			}
			if n := b.fake.Refreshes(b.tenant.Name, ""); n != round {
				t.Errorf("round %d: refreshes = %d, want %d", round, n, round)
			}
		}
		// The fake rotates refresh tokens: the second refresh only works if
		// the first one's newRefreshToken was stored.
		if n := b.fake.Logins(b.tenant.Name); n != 1 {
			t.Errorf("logins = %d, want 1 (rotation not honoured?)", n)
		}
		after, _ := b.store.Get(ctx, b.tenant.Name, "")
		if after.RefreshToken == before.RefreshToken || after.AccessToken == before.AccessToken {
			t.Error("stored tokens did not change after refresh")
		}
		if len(b.hooks.refresh) != 3 || !strings.HasSuffix(b.hooks.refresh[2], "user=false err=<nil>") {
			t.Errorf("OnRefresh calls = %q, want login + 2 refreshes without error", b.hooks.refresh)
		}
	})

	t.Run("tenant token kept in memory: one store read for many calls", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct {
			cache     time.Duration
			wantReads int64
		}{{10 * time.Second, 1}, {0, 5}} {
			b := setup(t, vlenstest.Options{})
			store := &countingStore{SessionStore: b.store}
			cfg := b.cfg
			cfg.Sessions, cfg.TenantTokenCache = store, tt.cache
			c := b.newClient(t, cfg)
			for i := range 5 {
				if _, err := c.Do(ctx, b.amlCall("")); err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
			}
			// The first call finds no session (a read), logs in and caches
			// the token it stored; the login's locked re-read is the other.
			if got := store.gets.Load() - 1; got != tt.wantReads {
				t.Errorf("TenantTokenCache %v: %d store reads outside the login for 5 calls, want %d", tt.cache, got, tt.wantReads)
			}
		}
	})

	t.Run("cached token refused after another process refreshed: use theirs, no second refresh", func(t *testing.T) {
		t.Parallel()
		b := setup(t, vlenstest.Options{}, func(c *vlens.Config) { c.TenantTokenCache = 10 * time.Second })
		other := b.newClient(t, b.cfg) // a second worker process sharing the store
		if _, err := b.client.Do(ctx, b.amlCall("")); err != nil {
			t.Fatal(err)
		}
		b.fake.ExpireAccessTokens()
		if resp, err := other.Do(ctx, b.amlCall("")); err != nil || !resp.Refreshed {
			t.Fatalf("other process: %v, %+v", err, resp)
		}
		n := len(b.fake.Requests())
		resp, err := b.client.Do(ctx, b.amlCall("")) // presents its cached, now expired token
		if err != nil || !resp.Refreshed {
			t.Fatalf("after the other's refresh: %v, %+v", err, resp)
		}
		if _, err := b.client.Do(ctx, b.amlCall("")); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range b.fake.Requests()[n:] {
			got = append(got, fmt.Sprintf("%s %d", r.Path, r.Status))
		}
		want := []string{pathAML + " 401", pathAML + " 200", pathAML + " 200"}
		if strings.Join(got, ", ") != strings.Join(want, ", ") {
			t.Errorf("requests %v, want %v (the stored token, then kept)", got, want)
		}
		if r, l := b.fake.Refreshes(b.tenant.Name, ""), b.fake.Logins(b.tenant.Name); r != 1 || l != 1 {
			t.Errorf("refreshes %d, logins %d; want 1 and 1", r, l)
		}
	})

	t.Run("revoked refresh token: log in again", func(t *testing.T) {
		t.Parallel()
		b := setup(t, vlenstest.Options{})
		if _, err := b.client.Do(ctx, b.amlCall("")); err != nil {
			t.Fatal(err)
		}
		b.fake.ExpireAccessTokens()
		b.fake.RevokeRefreshTokens()
		resp, err := b.client.Do(ctx, b.amlCall(""))
		if err != nil {
			t.Fatalf("Do: %v", err)
		}
		if !resp.Refreshed || b.fake.Logins(b.tenant.Name) != 2 {
			t.Errorf("Refreshed %v, logins %d; want true and 2", resp.Refreshed, b.fake.Logins(b.tenant.Name))
		}
	})

	t.Run("refresh ahead of a known expiry", func(t *testing.T) {
		t.Parallel()
		var offset atomic.Int64
		b := setup(t, vlenstest.Options{}, func(c *vlens.Config) {
			c.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
		})
		if _, err := b.client.Do(ctx, b.amlCall("")); err != nil {
			t.Fatal(err)
		}
		// 30 s before the access token's expiry: inside RefreshAhead (60 s).
		offset.Store(int64(24*time.Hour - 30*time.Second))
		n := len(b.fake.Requests())
		resp, err := b.client.Do(ctx, b.amlCall(""))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Refreshed {
			t.Error("Refreshed = true: an early refresh needs no replay")
		}
		if got := b.fake.Refreshes(b.tenant.Name, ""); got != 1 {
			t.Errorf("refreshes = %d, want 1", got)
		}
		for _, r := range b.fake.Requests()[n:] {
			if r.Status == http.StatusUnauthorized {
				t.Errorf("a request got 401 (%s): the token was not refreshed ahead", r.Path)
			}
		}
	})

	t.Run("bad credentials are permanent", func(t *testing.T) {
		t.Parallel()
		b := setup(t, vlenstest.Options{})
		wrong := b.tenant
		wrong.Password = "canary-wrong-password-" + b.tenant.Name
		client := b.newClient(t, b.config(wrong))
		_, err := client.Do(ctx, b.amlCall(""))
		e := asError(t, err)
		if e.Class != vlens.ClassPermanent || e.Category != vlens.CategoryAuthentication {
			t.Errorf("class/category = %s/%s, want permanent/authentication (%v)", e.Class, e.Category, e)
		}
		if e.URL != b.fake.URL+pathAML {
			t.Errorf("URL = %s, want the call's", e.URL)
		}
		var inner *vlens.Error
		if !errors.As(e.Err, &inner) || !strings.HasSuffix(inner.URL, "/api/credentials/Login") || inner.HTTPStatus != 401 {
			t.Errorf("wrapped error = %v, want the login's 401", e.Err)
		}
		if got := len(b.fake.Requests()); got != 1 {
			t.Errorf("%d requests, want only the login (the call is not sent without a token)", got)
		}
		noSecrets(t, append(b.secrets(t), wrong.Password), e, b.hooks)
	})

	t.Run("a second auth_expired is permanent and never loops", func(t *testing.T) {
		t.Parallel()
		b := setup(t, vlenstest.Options{})
		resp, err := b.client.Do(ctx, b.amlCall("expire,expire,ok"))
		e := asError(t, err)
		if e.Class != vlens.ClassPermanent || e.Category != vlens.CategoryAuthentication ||
			!strings.Contains(e.Reason, "token refresh did not help") {
			t.Errorf("error = %s/%s %q, want permanent/authentication \"token refresh did not help\"", e.Class, e.Category, e.Reason)
		}
		if resp == nil || !resp.Refreshed || e.HTTPStatus != 401 {
			t.Errorf("response %v, status %d: want the replay's 401 with Refreshed", resp, e.HTTPStatus)
		}
		if n := b.fake.Refreshes(b.tenant.Name, ""); n != 1 {
			t.Errorf("refreshes = %d, want exactly 1", n)
		}
		calls := 0
		for _, r := range b.fake.Requests() {
			if r.Path == pathAML {
				calls++
			}
		}
		if calls != 2 {
			t.Errorf("the call was sent %d times, want 2 (call + one replay)", calls)
		}
	})
}

func TestDoUserToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("stored session used", func(t *testing.T) {
		t.Parallel()
		b := setup(t, vlenstest.Options{})
		u := b.user(t)
		resp, err := b.client.Do(ctx, vlens.Call{Tenant: b.tenant.Name, User: u, Token: vlens.TokenUser, Path: pathEligibility})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Method != "GET" || resp.HTTPStatus != 200 {
			t.Errorf("%s %d, want GET 200", resp.Method, resp.HTTPStatus)
		}
		reqs := b.fake.Requests()
		if last := reqs[len(reqs)-1]; last.Token != "user" || !strings.EqualFold(last.User, u) {
			t.Errorf("request token %q user %q, want the user's token", last.Token, last.User)
		}
		if n := b.fake.Logins(b.tenant.Name); n != 0 {
			t.Errorf("tenant logins = %d, want 0 for a user call", n)
		}
	})

	t.Run("expired: refresh, write back, replay", func(t *testing.T) {
		t.Parallel()
		b := setup(t, vlenstest.Options{})
		u := b.user(t)
		before, _ := b.store.Get(ctx, b.tenant.Name, u)
		b.fake.ExpireAccessTokens()
		resp, err := b.client.Do(ctx, b.frontCall(u, ""))
		if err != nil {
			t.Fatal(err)
		}
		if !resp.Refreshed || b.fake.Refreshes(b.tenant.Name, u) != 1 {
			t.Errorf("Refreshed %v, refreshes %d; want true, 1", resp.Refreshed, b.fake.Refreshes(b.tenant.Name, u))
		}
		after, _ := b.store.Get(ctx, b.tenant.Name, u)
		if after.AccessToken == before.AccessToken || after.RefreshToken == before.RefreshToken || after.AccessExpiresAt.IsZero() {
			t.Errorf("stored session %v not updated with the refreshed (rotated) tokens", after)
		}
		// The rotated refresh token works for the next expiry.
		b.fake.ExpireAccessTokens()
		if _, err := b.client.Do(ctx, b.frontCall(u, "")); err != nil {
			t.Fatalf("second refresh: %v", err)
		}
		if n := b.fake.Refreshes(b.tenant.Name, u); n != 2 {
			t.Errorf("refreshes = %d, want 2", n)
		}
	})

	t.Run("revoked refresh token is permanent", func(t *testing.T) {
		t.Parallel()
		b := setup(t, vlenstest.Options{})
		u := b.user(t)
		secrets := b.secrets(t, u)
		b.fake.ExpireAccessTokens()
		b.fake.RevokeRefreshTokens()
		resp, err := b.client.Do(ctx, b.frontCall(u, ""))
		e := asError(t, err)
		if e.Class != vlens.ClassPermanent || e.Category != vlens.CategoryAuthentication {
			t.Errorf("class/category = %s/%s, want permanent/authentication", e.Class, e.Category)
		}
		if !strings.Contains(e.Resolution, "sign in again") {
			t.Errorf("resolution %q does not tell that the user must sign in again", e.Resolution)
		}
		if e.HTTPStatus != 401 || resp == nil || e.URL != b.fake.URL+pathFront {
			t.Errorf("status %d url %s: want the call's 401", e.HTTPStatus, e.URL)
		}
		noSecrets(t, secrets, e, b.hooks)
	})

	t.Run("no session", func(t *testing.T) {
		t.Parallel()
		b := setup(t, vlenstest.Options{})
		resp, err := b.client.Do(ctx, b.frontCall("nobody", ""))
		e := asError(t, err)
		want := fmt.Sprintf("no session for user nobody of tenant %s; store one with `vlensq session put`", b.tenant.Name)
		if e.Class != vlens.ClassPermanent || e.Category != vlens.CategoryAuthentication || e.Reason != want {
			t.Errorf("error = %s/%s %q, want permanent/authentication %q", e.Class, e.Category, e.Reason, want)
		}
		if resp != nil || len(b.fake.Requests()) != 0 {
			t.Error("a request was sent without a session")
		}
	})
}

// TestDoConcurrentRefresh: many callers, in one or two processes, hit an
// expired token at once; exactly one refresh happens.
func TestDoConcurrentRefresh(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	run := func(t *testing.T, clients []*vlens.Client, call vlens.Call) {
		t.Helper()
		const callers = 50
		var wg sync.WaitGroup
		var refreshed atomic.Int64
		errs := make(chan error, callers)
		start := make(chan struct{})
		for i := range callers {
			wg.Go(func() {
				<-start
				resp, err := clients[i%len(clients)].Do(ctx, call)
				if err != nil {
					errs <- err
					return
				}
				if resp.Refreshed {
					refreshed.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("Do: %v", err)
		}
		if refreshed.Load() == 0 {
			t.Error("no caller replayed after a refresh")
		}
	}

	for _, tc := range []struct {
		desc      string
		processes int
		user      bool
	}{
		{desc: "tenant token, one process", processes: 1},
		{desc: "tenant token, two processes", processes: 2},
		{desc: "user token, two processes", processes: 2, user: true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			b := setup(t, vlenstest.Options{})
			clients := []*vlens.Client{b.client}
			for range tc.processes - 1 {
				// Another process: its own Redis connection, store and client.
				cfg := b.cfg
				cfg.Sessions = vlens.NewRedisSessionStore(redistest.Client(t, redistest.DBVlens))
				clients = append(clients, b.newClient(t, cfg))
			}
			var call vlens.Call
			owner := ""
			if tc.user {
				owner = b.user(t)
				call = vlens.Call{Tenant: b.tenant.Name, User: owner, Token: vlens.TokenUser, Path: pathEligibility}
			} else {
				call = b.amlCall("")
			}
			for _, c := range clients { // warm up: log in, open connections
				if _, err := c.Do(ctx, call); err != nil {
					t.Fatal(err)
				}
			}
			b.fake.ExpireAccessTokens()
			run(t, clients, call)
			if n := b.fake.Refreshes(b.tenant.Name, owner); n != 1 {
				t.Errorf("refreshes = %d, want exactly 1", n)
			}
			if !tc.user {
				if n := b.fake.Logins(b.tenant.Name); n != 1 {
					t.Errorf("logins = %d, want 1", n)
				}
			}
		})
	}
}

// headerServer records the headers of every request and answers success.
func headerServer(t *testing.T, body string, status int, extra http.Header) (*httptest.Server, func() []http.Header) {
	t.Helper()
	var mu sync.Mutex
	var seen []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		for k, v := range extra {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []http.Header {
		mu.Lock()
		defer mu.Unlock()
		return append([]http.Header(nil), seen...)
	}
}

func TestDoHeaders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, seen := headerServer(t, `{"data":{"ok":true},"error_code":null}`, 200, nil)
	tenant := vlens.Tenant{Name: uniq("hdr"), APIKey: "canary-key-hdr", Username: "u", Password: "canary-pw-hdr"}
	set, _ := vlens.NewTenantSet(tenant)
	store := vlens.NewRedisSessionStore(redistest.Client(t, redistest.DBVlens))
	if err := store.Put(ctx, tenant.Name, "", vlens.Session{AccessToken: "tenant-access"}); err != nil {
		t.Fatal(err)
	}
	if err := store.Put(ctx, tenant.Name, "u1", vlens.Session{AccessToken: "user-access"}); err != nil {
		t.Fatal(err)
	}
	client, err := vlens.New(vlens.Config{BaseURL: srv.URL + "/", Tenants: set, Sessions: store})
	if err != nil {
		t.Fatal(err)
	}
	calls := []vlens.Call{
		{Tenant: tenant.Name, Path: pathAML, Body: json.RawMessage(`{"idNumber":"1"}`)},
		{Tenant: tenant.Name, User: "u1", Token: vlens.TokenUser, Path: pathEligibility},
		{Tenant: tenant.Name, Token: vlens.TokenNone, Path: pathAML, Body: []byte(`{}`)},
	}
	var ids []string
	for _, c := range calls {
		resp, err := client.Do(ctx, c)
		if err != nil {
			t.Fatalf("Do: %v", err)
		}
		ids = append(ids, resp.RequestID)
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	wantAuth := []string{"Bearer tenant-access", "Bearer user-access", ""}
	got := seen()
	unique := map[string]bool{}
	for i, h := range got {
		if h.Get("ApiKey") != tenant.APIKey || h.Get("TenancyName") != tenant.Name || h.Get("Content-Type") != "application/json" {
			t.Errorf("request %d: ApiKey/TenancyName/Content-Type = %q/%q/%q", i, h.Get("ApiKey"), h.Get("TenancyName"), h.Get("Content-Type"))
		}
		if h.Get("Authorization") != wantAuth[i] {
			t.Errorf("request %d: Authorization = %q, want %q", i, h.Get("Authorization"), wantAuth[i])
		}
		id := h.Get("X-Request-Id")
		if !uuid.MatchString(id) || id != ids[i] {
			t.Errorf("request %d: X-Request-Id %q (response says %q), want the same random UUID", i, id, ids[i])
		}
		unique[id] = true
	}
	if len(got) != 3 || len(unique) != 3 {
		t.Errorf("%d requests with %d distinct X-Request-Id, want 3 and 3", len(got), len(unique))
	}
}

func TestDoResponseLimitsAndRetryAfter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tenant := vlens.Tenant{Name: uniq("lim"), APIKey: "k", Username: "u", Password: "p"}
	set, _ := vlens.NewTenantSet(tenant)
	call := vlens.Call{Tenant: tenant.Name, Token: vlens.TokenNone, Path: pathAML, Body: map[string]int{"n": 1}}

	t.Run("oversized body", func(t *testing.T) {
		t.Parallel()
		big := `{"data":"` + strings.Repeat("x", 2000) + `","error_code":null}`
		srv, _ := headerServer(t, big, 200, nil)
		client, _ := vlens.New(vlens.Config{BaseURL: srv.URL, Tenants: set, MaxResponseBytes: 1000})
		resp, err := client.Do(ctx, call)
		e := asError(t, err)
		if e.Class != vlens.ClassPermanent || e.Category != vlens.CategoryServer || !e.BodyTruncated ||
			len(e.Body) != 1000 || !strings.Contains(e.Reason, "exceeds 1000 bytes") {
			t.Errorf("error %s/%s truncated=%v body=%d reason=%q", e.Class, e.Category, e.BodyTruncated, len(e.Body), e.Reason)
		}
		if resp == nil || resp.Envelope != nil {
			t.Error("an oversized body was parsed")
		}
	})

	t.Run("Retry-After as HTTP date", func(t *testing.T) {
		t.Parallel()
		now := time.Date(2030, 3, 4, 5, 6, 7, 0, time.UTC)
		srv, _ := headerServer(t, `{"data":null,"error_code":null,"error_message":"slow down"}`, 429,
			http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}})
		client, _ := vlens.New(vlens.Config{BaseURL: srv.URL, Tenants: set, Now: func() time.Time { return now }})
		_, err := client.Do(ctx, call)
		e := asError(t, err)
		if e.Class != vlens.ClassThrottled || e.RetryAfter != 90*time.Second {
			t.Errorf("class %s RetryAfter %v, want throttled 90s", e.Class, e.RetryAfter)
		}
	})

	t.Run("cancelled context", func(t *testing.T) {
		t.Parallel()
		srv, _ := headerServer(t, `{}`, 200, nil)
		client, _ := vlens.New(vlens.Config{BaseURL: srv.URL, Tenants: set})
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := client.Do(cctx, call)
		e := asError(t, err)
		if e.Class != vlens.ClassTransient || !errors.Is(err, context.Canceled) {
			t.Errorf("error %v (%s), want transient wrapping context.Canceled", err, e.Class)
		}
	})
}

func TestDoInvalidCalls(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, seen := headerServer(t, `{}`, 200, nil)
	tenant := vlens.Tenant{Name: uniq("inv"), APIKey: "k", Username: "u", Password: "p"}
	set, _ := vlens.NewTenantSet(tenant)
	client, err := vlens.New(vlens.Config{BaseURL: srv.URL, Tenants: set})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc     string
		call     vlens.Call
		category vlens.Category
		reason   string
	}{
		{"no tenant", vlens.Call{Path: pathAML}, vlens.CategoryValidation, "Tenant is required"},
		{"unknown tenant", vlens.Call{Tenant: "ghost", Path: pathAML}, vlens.CategoryAuthentication, `unknown tenant "ghost"`},
		{"relative path", vlens.Call{Tenant: tenant.Name, Path: "v1/x"}, vlens.CategoryValidation, "must start with /"},
		{"user call without user", vlens.Call{Tenant: tenant.Name, Token: vlens.TokenUser, Path: pathFront}, vlens.CategoryValidation, "User is required"},
		{"bad method", vlens.Call{Tenant: tenant.Name, Method: "BREW", Path: pathAML}, vlens.CategoryValidation, "unsupported Method"},
		{"unencodable body", vlens.Call{Tenant: tenant.Name, Path: pathAML, Body: map[string]any{"c": make(chan int)}}, vlens.CategoryValidation, "cannot be encoded"},
		{"no session store", vlens.Call{Tenant: tenant.Name, Path: pathAML}, vlens.CategoryAuthentication, "no session store"},
	}
	for _, tt := range tests {
		_, err := client.Do(ctx, tt.call)
		e := asError(t, err)
		if e.Class != vlens.ClassPermanent || e.Category != tt.category || !strings.Contains(e.Reason, tt.reason) {
			t.Errorf("%s: %s/%s %q, want permanent/%s containing %q", tt.desc, e.Class, e.Category, e.Reason, tt.category, tt.reason)
		}
	}
	if n := len(seen()); n != 0 {
		t.Errorf("%d requests sent for invalid calls, want 0", n)
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	set, _ := vlens.NewTenantSet()
	tests := []struct {
		desc string
		cfg  vlens.Config
		want string
	}{
		{"no tenants", vlens.Config{}, "Tenants is required"},
		{"relative base", vlens.Config{Tenants: set, BaseURL: "api.vlenseg.com"}, "absolute http(s) URL"},
		{"base with query", vlens.Config{Tenants: set, BaseURL: "https://x.example/?a=1"}, "query"},
		{"negative timeout", vlens.Config{Tenants: set, Timeout: -1}, "Timeout"},
		{"negative size", vlens.Config{Tenants: set, MaxResponseBytes: -1}, "MaxResponseBytes"},
	}
	for _, tt := range tests {
		if _, err := vlens.New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New = %v, want error containing %q", tt.desc, err, tt.want)
		}
	}
	if _, err := vlens.New(vlens.Config{Tenants: set}); err != nil {
		t.Errorf("New with defaults: %v", err)
	}
}

func TestDoOnCallHook(t *testing.T) {
	t.Parallel()
	b := setup(t, vlenstest.Options{})
	u := b.user(t)
	ctx := context.Background()
	_, _ = b.client.Do(ctx, vlens.Call{Tenant: b.tenant.Name, User: u, Token: vlens.TokenUser,
		Path: "/api/BusinessRequest/GetBusinessRequestById/98765"})
	_, _ = b.client.Do(ctx, b.frontCall(u, "code:3011"))
	b.hooks.mu.Lock()
	calls := append([]vlens.CallInfo(nil), b.hooks.calls...)
	b.hooks.mu.Unlock()
	if len(calls) != 2 {
		t.Fatalf("OnCall ran %d times, want 2", len(calls))
	}
	if calls[0].Route != "/api/BusinessRequest/GetBusinessRequestById/{id}" || calls[0].Method != "GET" || calls[0].Tenant != b.tenant.Name {
		t.Errorf("first call info = %+v, want the templated route", calls[0])
	}
	if c := calls[1]; c.Route != pathFront || c.Class != vlens.ClassPermanent || c.Code != 3011 || c.HTTPStatus != 200 || c.Duration <= 0 {
		t.Errorf("second call info = %+v, want permanent 3011 on %s", c, pathFront)
	}
	noSecrets(t, b.secrets(t, u), b.hooks)
}

func TestRouteTemplate(t *testing.T) {
	t.Parallel()
	tests := []struct{ path, want string }{
		{"/api/DigitalIdentity/verify/id/front", "/api/DigitalIdentity/verify/id/front"},
		{"/v1/ocr/id/front", "/v1/ocr/id/front"},
		{"/api/BusinessRequest/GetBusinessRequestById/98765", "/api/BusinessRequest/GetBusinessRequestById/{id}"},
		{"/api/BusinessRequest/Create/3", "/api/BusinessRequest/Create/{id}"},
		{"/api/BusinessRequest/GetBusinessRequestTypeTemplateFields?requestTypeId=7", "/api/BusinessRequest/GetBusinessRequestTypeTemplateFields"},
		{"/api/x/6f1c2d3e-4b5a-4c6d-8e9f-0a1b2c3d4e5f", "/api/x/{id}"},
		{"/api/x/sandbox:http500#k1", "/api/x/{id}"},
		{"/api/x/AbC123def456GHI789", "/api/x/{id}"},
	}
	for _, tt := range tests {
		if got := vlens.RouteTemplate(tt.path); got != tt.want {
			t.Errorf("RouteTemplate(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-5", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		if got := vlens.ParseRetryAfter(tt.value, now); got != tt.want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", tt.value, got, tt.want)
		}
	}
}

// tokenServer answers the tenant login with body and every other call with
// success.
func tokenServer(t *testing.T, loginStatus int, loginBody string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/api/credentials/Login" {
			w.WriteHeader(loginStatus)
			_, _ = io.WriteString(w, loginBody)
			return
		}
		_, _ = io.WriteString(w, `{"data":{},"error_code":null}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// flakyStore is a session store whose Get or Put fail on demand.
// countingStore counts the reads of a session store.
type countingStore struct {
	vlens.SessionStore
	gets atomic.Int64
}

func (s *countingStore) Get(ctx context.Context, tenant, user string) (vlens.Session, error) {
	s.gets.Add(1)
	return s.SessionStore.Get(ctx, tenant, user)
}

type flakyStore struct {
	vlens.SessionStore
	getErr, putErr error
}

func (s *flakyStore) Get(ctx context.Context, tenant, user string) (vlens.Session, error) {
	if s.getErr != nil {
		return vlens.Session{}, s.getErr
	}
	return s.SessionStore.Get(ctx, tenant, user)
}

func (s *flakyStore) Put(ctx context.Context, tenant, user string, sess vlens.Session) error {
	if s.putErr != nil {
		return s.putErr
	}
	return s.SessionStore.Put(ctx, tenant, user, sess)
}

func TestDoTokenFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	newClient := func(t *testing.T, srv *httptest.Server, store vlens.SessionStore, hooks vlens.Hooks) (*vlens.Client, vlens.Tenant) {
		t.Helper()
		tenant := vlens.Tenant{Name: uniq("tok"), APIKey: "canary-key-tok", Username: "u", Password: "canary-pw-tok"}
		set, _ := vlens.NewTenantSet(tenant)
		client, err := vlens.New(vlens.Config{BaseURL: srv.URL, Tenants: set, Sessions: store, Hooks: hooks})
		if err != nil {
			t.Fatal(err)
		}
		return client, tenant
	}
	redisStore := vlens.NewRedisSessionStore(redistest.Client(t, redistest.DBVlens))

	t.Run("login refused with a Vlens code keeps its category and no token leaks", func(t *testing.T) {
		t.Parallel()
		srv := tokenServer(t, 200, `{"data":{"accessToken":"canary-token-login"},"error_code":4004,"error_message":"Service not in bundle"}`)
		client, tenant := newClient(t, srv, redisStore, vlens.Hooks{})
		_, err := client.Do(ctx, vlens.Call{Tenant: tenant.Name, Path: pathAML, Body: map[string]string{}})
		e := asError(t, err)
		if e.Class != vlens.ClassPermanent || e.Category != vlens.CategoryAccount || !strings.Contains(e.Reason, "tenant login failed") {
			t.Errorf("error = %s/%s %q, want permanent/account, tenant login failed", e.Class, e.Category, e.Reason)
		}
		var inner *vlens.Error
		if !errors.As(e.Err, &inner) || inner.Code != 4004 {
			t.Fatalf("wrapped error %v, want the login's 4004", e.Err)
		}
		noSecrets(t, []string{"canary-token-login", tenant.APIKey, tenant.Password}, e, inner)
	})

	t.Run("login answer without a token is transient", func(t *testing.T) {
		t.Parallel()
		srv := tokenServer(t, 200, `{"data":{"expireInSeconds":60},"error_code":null}`)
		client, tenant := newClient(t, srv, redisStore, vlens.Hooks{})
		_, err := client.Do(ctx, vlens.Call{Tenant: tenant.Name, Path: pathAML, Body: map[string]string{}})
		if e := asError(t, err); e.Class != vlens.ClassTransient || !strings.Contains(e.Reason, "no accessToken") {
			t.Errorf("error = %s %q, want transient: no accessToken", e.Class, e.Reason)
		}
	})

	t.Run("session store down is transient", func(t *testing.T) {
		t.Parallel()
		srv := tokenServer(t, 200, `{}`)
		down := errors.New("redis: connection refused")
		client, tenant := newClient(t, srv, &flakyStore{SessionStore: redisStore, getErr: down}, vlens.Hooks{})
		_, err := client.Do(ctx, vlens.Call{Tenant: tenant.Name, Path: pathAML, Body: map[string]string{}})
		if e := asError(t, err); e.Class != vlens.ClassTransient || !errors.Is(err, down) {
			t.Errorf("error = %v (%s), want transient wrapping the store error", err, e.Class)
		}
	})

	t.Run("a failed write-back does not fail the call but is reported", func(t *testing.T) {
		t.Parallel()
		srv := tokenServer(t, 200, `{"data":{"accessToken":"a1","expireInSeconds":86400,"refreshToken":"r1"},"error_code":null}`)
		var mu sync.Mutex
		var reported []error
		hooks := vlens.Hooks{OnRefresh: func(_ string, _ bool, err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }}
		client, tenant := newClient(t, srv, &flakyStore{SessionStore: redisStore, putErr: errors.New("readonly replica")}, hooks)
		if _, err := client.Do(ctx, vlens.Call{Tenant: tenant.Name, Path: pathAML, Body: map[string]string{}}); err != nil {
			t.Fatalf("Do: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(reported) != 2 || reported[0] != nil || reported[1] == nil || !strings.Contains(reported[1].Error(), "readonly replica") {
			t.Errorf("OnRefresh errors = %v, want [nil, store failure]", reported)
		}
	})
}

// TestDoNoInternalRetry: transient failures are returned at once; retrying
// belongs to the queue.
func TestDoNoInternalRetry(t *testing.T) {
	t.Parallel()
	b := setup(t, vlenstest.Options{})
	u := b.user(t)
	for _, step := range []string{"http500,ok", "reset,ok", "http502html,ok", "http429:1,ok"} {
		call := b.frontCall(u, step)
		scenario := call.Body.(map[string]any)["client_transaction_id"].(string)
		_, err := b.client.Do(context.Background(), call)
		if err == nil {
			t.Fatalf("%s: Do succeeded, want the first step's failure", step)
		}
		// The fake records a request when its handler returns, which for a
		// reset connection can be after the client saw the reset.
		sent := func() int {
			n := 0
			for _, r := range b.fake.Requests() {
				if r.Scenario == scenario {
					n++
				}
			}
			return n
		}
		deadline := time.Now().Add(5 * time.Second)
		for sent() == 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if n := sent(); n != 1 {
			t.Errorf("%s: sent %d times, want 1", step, n)
		}
	}
}
