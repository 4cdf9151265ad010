package dashboard

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestAuth(t *testing.T) {
	t.Parallel()
	b := setup(t)
	html := map[string]string{"Accept": "text/html,application/xhtml+xml"}

	t.Run("no credentials: API gets 401", func(t *testing.T) {
		for _, path := range []string{"/api/dlq", "/metrics", "/monitoring/api/queues", "/dlq/"} {
			resp, _ := b.do(nil, http.MethodGet, path, nil, nil)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("GET %s = %d, want 401", path, resp.StatusCode)
			}
			if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("GET %s: WWW-Authenticate = %q", path, resp.Header.Get("WWW-Authenticate"))
			}
		}
	})
	t.Run("no credentials: browser page goes to login", func(t *testing.T) {
		for _, path := range []string{"/dlq/?tenant=x", "/monitoring/", "/"} {
			resp, _ := b.do(nil, http.MethodGet, path, nil, html)
			want := "/login?next=" + url.QueryEscape(path)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
				t.Errorf("GET %s = %d to %q, want 303 to %q", path, resp.StatusCode, resp.Header.Get("Location"), want)
			}
		}
	})
	t.Run("health checks need no credentials", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz", "/static/style.css", "/login"} {
			if resp, _ := b.do(nil, http.MethodGet, path, nil, nil); resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s = %d, want 200", path, resp.StatusCode)
			}
		}
	})
	t.Run("bad token", func(t *testing.T) {
		before := testutil.ToFloat64(b.d.authFailures.WithLabelValues("bearer"))
		for _, tok := range []string{"wrong", testToken + "x", strings.ToUpper(testToken)} {
			hdr := map[string]string{"Authorization": "Bearer " + tok, "Accept": "text/html"}
			resp, body := b.do(nil, http.MethodGet, "/dlq/", nil, hdr)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("token %q: status %d, want 401 (never the login redirect)", tok, resp.StatusCode)
			}
			if strings.Contains(body, tok) {
				t.Errorf("the response echoes the presented token")
			}
		}
		if got := testutil.ToFloat64(b.d.authFailures.WithLabelValues("bearer")) - before; got != 3 {
			t.Errorf("auth failures counted = %v, want 3", got)
		}
	})
	t.Run("good token", func(t *testing.T) {
		b.get("/api/dlq", http.StatusOK)
		b.get("/dlq/", http.StatusOK)
		b.get("/metrics", http.StatusOK)
	})
	t.Run("basic user", func(t *testing.T) {
		tests := []struct {
			user, pass string
			want       int
		}{
			{testUser, testPassword, http.StatusOK},
			{testUser, testPassword, http.StatusOK}, // second time from the verified cache
			{testUser, "wrong", http.StatusUnauthorized},
			{"mallory", testPassword, http.StatusUnauthorized},
			{"", "", http.StatusUnauthorized},
		}
		for _, tt := range tests {
			r, _ := http.NewRequest(http.MethodGet, b.srv.URL+"/api/dlq", nil)
			r.SetBasicAuth(tt.user, tt.pass)
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("basic %s/%s = %d, want %d", tt.user, tt.pass, resp.StatusCode, tt.want)
			}
		}
	})
	t.Run("wrong Authorization beats a good cookie", func(t *testing.T) {
		c := b.client()
		b.login(c)
		resp, _ := b.do(c, http.MethodGet, "/api/dlq", nil, map[string]string{"Authorization": "Bearer nope"})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", resp.StatusCode)
		}
	})
}

func TestConstantTimeCompareUsed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if reflect.ValueOf(b.d.compare).Pointer() != reflect.ValueOf(subtle.ConstantTimeCompare).Pointer() {
		t.Fatal("the token comparison is not subtle.ConstantTimeCompare")
	}
	var calls atomic.Int32
	var lengths atomic.Int32
	b.d.compare = func(x, y []byte) int {
		calls.Add(1)
		if len(x) != len(y) {
			lengths.Add(1)
		}
		return subtle.ConstantTimeCompare(x, y)
	}
	for _, tok := range []string{testToken, "short", testToken + strings.Repeat("x", 100)} {
		b.do(nil, http.MethodGet, "/api/dlq", nil, map[string]string{"Authorization": "Bearer " + tok})
	}
	if calls.Load() != 3 {
		t.Errorf("compare called %d times for 3 bearer requests, want 3", calls.Load())
	}
	if lengths.Load() != 0 {
		t.Errorf("compare saw operands of different lengths %d times: the token length leaks", lengths.Load())
	}
}

func TestSessionCookie(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(time.Now().Unix())
	b := setup(t, func(c *Config) {
		c.Now = func() time.Time { return time.Unix(now.Load(), 0) }
		c.SessionTTL = time.Hour
	})

	t.Run("login sets a safe cookie", func(t *testing.T) {
		c := b.client()
		_, page := b.do(c, http.MethodGet, "/login", nil, nil)
		form := url.Values{"csrf_token": {csrfOf(t, page)}, "username": {testUser}, "password": {testPassword}}
		resp, _ := b.do(c, http.MethodPost, "/login", strings.NewReader(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		var sc *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == sessionCookieName {
				sc = ck
			}
		}
		if sc == nil {
			t.Fatalf("no session cookie set; status %d", resp.StatusCode)
		}
		if !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode || sc.Path != "/" {
			t.Errorf("cookie HttpOnly=%v SameSite=%v Path=%q, want HttpOnly, Strict, /", sc.HttpOnly, sc.SameSite, sc.Path)
		}
		if strings.Contains(sc.Value, testPassword) {
			t.Error("the cookie holds the password")
		}
	})
	t.Run("token login", func(t *testing.T) {
		c := b.client()
		_, page := b.do(c, http.MethodGet, "/login", nil, nil)
		form := url.Values{"csrf_token": {csrfOf(t, page)}, "token": {testToken}, "next": {"/dlq/?code=1"}}
		resp, _ := b.do(c, http.MethodPost, "/login", strings.NewReader(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dlq/?code=1" {
			t.Fatalf("token login = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if resp, _ := b.do(c, http.MethodGet, "/api/dlq", nil, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("API with the token session = %d", resp.StatusCode)
		}
	})
	t.Run("bad password and missing CSRF are refused", func(t *testing.T) {
		c := b.client()
		_, page := b.do(c, http.MethodGet, "/login", nil, nil)
		form := url.Values{"csrf_token": {csrfOf(t, page)}, "username": {testUser}, "password": {"nope"}}
		resp, body := b.do(c, http.MethodPost, "/login", strings.NewReader(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Sign-in failed") {
			t.Errorf("bad password = %d", resp.StatusCode)
		}
		form = url.Values{"username": {testUser}, "password": {testPassword}}
		resp, _ = b.do(c, http.MethodPost, "/login", strings.NewReader(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("login without CSRF token = %d, want 403", resp.StatusCode)
		}
	})
	t.Run("no open redirect", func(t *testing.T) {
		c := b.client()
		_, page := b.do(c, http.MethodGet, "/login", nil, nil)
		form := url.Values{"csrf_token": {csrfOf(t, page)}, "token": {testToken}, "next": {"//evil.example/x"}}
		resp, _ := b.do(c, http.MethodPost, "/login", strings.NewReader(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		if got := resp.Header.Get("Location"); got != "/dlq/" {
			t.Errorf("next=//evil.example redirected to %q, want /dlq/", got)
		}
	})
	t.Run("tampered cookie", func(t *testing.T) {
		c := b.client()
		b.login(c)
		u, _ := url.Parse(b.srv.URL)
		for _, ck := range c.Jar.Cookies(u) {
			if ck.Name == sessionCookieName {
				// Keep the signature, swap the content.
				_, sig, _ := strings.Cut(ck.Value, ".")
				forged := b64.EncodeToString([]byte(`{"id":"x","u":"root","m":"token","c":"x","exp":99999999999}`))
				c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookieName, Value: forged + "." + sig, Path: "/"}})
			}
		}
		if resp, _ := b.do(c, http.MethodGet, "/api/dlq", nil, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("forged cookie = %d, want 401", resp.StatusCode)
		}
	})
	t.Run("expired session", func(t *testing.T) {
		c := b.client()
		b.login(c)
		resp, _ := b.do(c, http.MethodGet, "/api/dlq", nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("fresh session = %d", resp.StatusCode)
		}
		now.Add(int64(2 * time.Hour / time.Second))
		defer now.Add(-int64(2 * time.Hour / time.Second))
		if resp, _ := b.do(c, http.MethodGet, "/api/dlq", nil, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("session after its TTL = %d, want 401", resp.StatusCode)
		}
	})
	t.Run("logout revokes the session", func(t *testing.T) {
		c := b.client()
		csrf := b.login(c)
		u, _ := url.Parse(b.srv.URL)
		var saved []*http.Cookie
		saved = append(saved, c.Jar.Cookies(u)...)
		form := url.Values{"csrf_token": {csrf}}
		resp, _ := b.do(c, http.MethodPost, "/logout", strings.NewReader(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("logout = %d", resp.StatusCode)
		}
		// A copy of the cookie kept from before the logout no longer works.
		c2 := b.client()
		c2.Jar.SetCookies(u, saved)
		if resp, _ := b.do(c2, http.MethodGet, "/api/dlq", nil, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("revoked session = %d, want 401", resp.StatusCode)
		}
	})
}

func TestSessionEndsWhenCredentialChanges(t *testing.T) {
	t.Parallel()
	key := []byte(strings.Repeat("k", 32))
	b := setup(t, func(c *Config) { c.SessionKey = key })
	c := b.client()
	b.login(c)
	// A second dashboard with the same key accepts the session while alice
	// exists with the same hash ...
	same, err := New(Config{Redis: b.redis, DLQ: b.store, ReadOnly: true, SessionKey: key, Users: map[string]string{testUser: aliceHash(t)}})
	if err != nil {
		t.Fatal(err)
	}
	defer same.Close()
	u, _ := url.Parse(b.srv.URL)
	var value string
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == sessionCookieName {
			value = ck.Value
		}
	}
	if _, err := same.parseSession(value); err != nil {
		t.Fatalf("same key and user: %v", err)
	}
	same.Close()
	// ... and refuses it once alice's password changed.
	other := bcryptHash(t, "new-password")
	changed, err := New(Config{Redis: b.redis, DLQ: b.store, ReadOnly: true, SessionKey: key, Users: map[string]string{testUser: other}})
	if err != nil {
		t.Fatal(err)
	}
	defer changed.Close()
	if _, err := changed.parseSession(value); err == nil {
		t.Error("a session outlived a password change")
	}
}

func TestSafeNext(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", "/dlq/"},
		{"/dlq/?code=1", "/dlq/?code=1"},
		{"/monitoring/", "/monitoring/"},
		{"//evil.example", "/dlq/"},
		{"/\\evil.example", "/dlq/"},
		{"https://evil.example/", "/dlq/"},
		{"/login?next=/x", "/dlq/"},
		{"/dlq/\r\nSet-Cookie: x", "/dlq/"},
	}
	for _, tt := range tests {
		if got := safeNext(tt.in); got != tt.want {
			t.Errorf("safeNext(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
