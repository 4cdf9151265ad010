package dashboard

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Failed sign-ins are limited per user and per client address, with a clear
// 429 and Retry-After; the limit ends with its window.
func TestFailedLoginsAreRateLimited(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	b := setup(t, func(c *Config) {
		c.LoginFailuresPerUser, c.LoginFailuresPerIP, c.LoginWindow = 3, 5, 10*time.Minute
		c.Now = clock
	})
	c := b.client()
	try := func(user, pass string) (*http.Response, string) {
		t.Helper()
		_, page := b.do(c, http.MethodGet, "/login", nil, nil)
		form := url.Values{"csrf_token": {csrfOf(t, page)}, "username": {user}, "password": {pass}, "next": {"/dlq/"}}
		return b.do(c, http.MethodPost, "/login", strings.NewReader(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	}
	for i := range 3 {
		if resp, _ := try(testUser, "wrong"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d, want 401", i+1, resp.StatusCode)
		}
	}
	// The user is blocked now: even the right password is not tried.
	resp, body := try(testUser, testPassword)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "Too many failed sign-ins") {
		t.Fatalf("after 3 failures: status %d Retry-After %q; body lacks the message: %v", resp.StatusCode, resp.Header.Get("Retry-After"), !strings.Contains(body, "Too many"))
	}
	// Other user names from the same address count towards its limit (5).
	for _, u := range []string{"bob", "carol"} {
		if resp, _ := try(u, "guess"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s: status %d, want 401", u, resp.StatusCode)
		}
	}
	if resp, _ := try("dave", "guess"); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("address over its limit: status %d, want 429", resp.StatusCode)
	}
	// The window ends: the right password works again.
	mu.Lock()
	now = now.Add(11 * time.Minute)
	mu.Unlock()
	if resp, _ := try(testUser, testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the window: status %d, want 303", resp.StatusCode)
	}
}
