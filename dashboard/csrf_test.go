package dashboard

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestCSRF(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.add(nil)
	body := func() *strings.Reader {
		return strings.NewReader(`{"ids":["` + id + `"],"dry_run":true}`)
	}
	jsonHdr := func(token string) map[string]string {
		h := map[string]string{"Content-Type": "application/json"}
		if token != "" {
			h[csrfHeader] = token
		}
		return h
	}

	c := b.client()
	token := b.login(c)
	other := b.client()
	otherToken := b.login(other)

	t.Run("cookie API call without token", func(t *testing.T) {
		resp, out := b.do(c, http.MethodPost, "/api/dlq/requeue", body(), jsonHdr(""))
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(out, "CSRF") {
			t.Errorf("status %d body %s, want 403 naming CSRF", resp.StatusCode, out)
		}
	})
	t.Run("cookie API call with the token of another session", func(t *testing.T) {
		if resp, _ := b.do(c, http.MethodPost, "/api/dlq/requeue", body(), jsonHdr(otherToken)); resp.StatusCode != http.StatusForbidden {
			t.Errorf("status %d, want 403", resp.StatusCode)
		}
	})
	t.Run("cookie API call with its token", func(t *testing.T) {
		resp, out := b.do(c, http.MethodPost, "/api/dlq/requeue", body(), jsonHdr(token))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d body %s, want 200", resp.StatusCode, out)
		}
		var rep struct{ Requeued int }
		if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Requeued != 1 {
			t.Errorf("dry run report %s", out)
		}
	})
	t.Run("form without token", func(t *testing.T) {
		form := url.Values{"id": {id}}
		resp, _ := b.do(c, http.MethodPost, "/dlq/purge", strings.NewReader(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("status %d, want 403", resp.StatusCode)
		}
		b.get("/api/dlq/"+id, http.StatusOK) // not purged
	})
	t.Run("logout without token", func(t *testing.T) {
		resp, _ := b.do(c, http.MethodPost, "/logout", strings.NewReader(""), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("status %d, want 403", resp.StatusCode)
		}
		if resp, _ := b.do(c, http.MethodGet, "/api/dlq", nil, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("the session ended after a forged logout: %d", resp.StatusCode)
		}
	})
	t.Run("bearer calls need no token", func(t *testing.T) {
		b.postJSON("/api/dlq/requeue", map[string]any{"ids": []string{id}, "dry_run": true}, http.StatusOK)
	})
	t.Run("cross-origin requests are refused", func(t *testing.T) {
		hdr := map[string]string{"Authorization": "Bearer " + testToken, "Content-Type": "application/json", "Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
		if resp, _ := b.do(nil, http.MethodPost, "/api/dlq/requeue", body(), hdr); resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site POST = %d, want 403", resp.StatusCode)
		}
		hdr = map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example", csrfHeader: token}
		if resp, _ := b.do(c, http.MethodDelete, "/monitoring/api/queues/"+unique("q"), nil, hdr); resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site DELETE on Asynqmon = %d, want 403", resp.StatusCode)
		}
	})
}
