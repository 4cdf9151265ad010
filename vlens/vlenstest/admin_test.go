package vlenstest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// admin calls a /_sandbox/ route and decodes the JSON answer into out.
func (b *testBundle) admin(t *testing.T, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, b.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s: Content-Type %q", method, path, ct)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
	return resp.StatusCode
}

func TestAdminRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t)

	t.Run("users issues working tokens", func(t *testing.T) {
		var toks map[string]string
		if st := b.admin(t, "POST", "/_sandbox/users", `{"tenant":"acme","user":"admin-made"}`, &toks); st != 200 {
			t.Fatalf("status %d", st)
		}
		wantSuccess(t, b.get(t, pathEligibility, toks["access_token"]))
		wantSuccess(t, b.post(t, pathUserRefresh, "", map[string]any{"refreshToken": toks["refresh_token"]}))
	})
	t.Run("users rejects bad input", func(t *testing.T) {
		var e map[string]string
		if st := b.admin(t, "POST", "/_sandbox/users", `{"tenant":"nope","user":"x"}`, &e); st != 404 || !strings.Contains(e["error"], "unknown tenant") {
			t.Fatalf("unknown tenant: %d %v", st, e)
		}
		if st := b.admin(t, "POST", "/_sandbox/users", `{"tenant":"acme"}`, &e); st != 400 {
			t.Fatalf("missing user: %d", st)
		}
		if st := b.admin(t, "POST", "/_sandbox/users", `not json`, &e); st != 400 {
			t.Fatalf("bad JSON: %d", st)
		}
	})
	t.Run("faults can be read and replaced", func(t *testing.T) {
		var got map[string]string
		if st := b.admin(t, "PUT", "/_sandbox/faults", "4003=1, seed=3", &got); st != 200 || got["faults"] != "4003=1,seed=3" {
			t.Fatalf("PUT: %d %v", st, got)
		}
		wantFailure(t, b.post(t, pathOCRFront, "", frontBody(nil)), 200, 4003, "Too many trials")
		b.admin(t, "GET", "/_sandbox/faults", "", &got)
		if got["faults"] != "4003=1,seed=3" {
			t.Fatalf("GET: %v", got)
		}
		var e map[string]string
		if st := b.admin(t, "PUT", "/_sandbox/faults", "5xx=3", &e); st != 400 || !strings.Contains(e["error"], `"5xx=3"`) {
			t.Fatalf("bad spec: %d %v", st, e)
		}
		if st := b.admin(t, "PUT", "/_sandbox/faults", "none", &got); st != 200 || got["faults"] != "none" {
			t.Fatalf("PUT none: %d %v", st, got)
		}
		wantSuccess(t, b.post(t, pathOCRFront, "", frontBody(nil)))
	})
	t.Run("injections and requests", func(t *testing.T) {
		var inj []Injection
		b.admin(t, "GET", "/_sandbox/injections", "", &inj)
		if len(inj) != 1 || inj[0].Fault != FaultTooManyTrials {
			t.Fatalf("injections %+v", inj)
		}
		var recs []Request
		b.admin(t, "GET", "/_sandbox/requests", "", &recs)
		if len(recs) != len(b.srv.Requests()) || len(recs) < 4 {
			t.Fatalf("%d requests over admin, %d in the fake", len(recs), len(b.srv.Requests()))
		}
		for _, r := range recs {
			if strings.HasPrefix(r.Path, AdminPrefix) {
				t.Fatalf("admin call recorded: %+v", r)
			}
		}
	})
	t.Run("expire and revoke", func(t *testing.T) {
		access, refresh := b.srv.UserTokens(b.a.Name, "admin-exp")
		var ok map[string]bool
		if st := b.admin(t, "POST", "/_sandbox/expire", "", &ok); st != 200 {
			t.Fatalf("expire: %d", st)
		}
		wantFailure(t, b.get(t, pathEligibility, access), 401, nil, "Access token expired")
		if st := b.admin(t, "POST", "/_sandbox/revoke", "", &ok); st != 200 {
			t.Fatalf("revoke: %d", st)
		}
		wantFailure(t, b.post(t, pathUserRefresh, "", map[string]any{"refreshToken": refresh}), 401, nil, "Refresh token expired or revoked")
	})
	t.Run("unknown route and wrong method", func(t *testing.T) {
		var e map[string]string
		if st := b.admin(t, "GET", "/_sandbox/nothing", "", &e); st != 404 || e["error"] == "" {
			t.Fatalf("unknown: %d %v", st, e)
		}
		if st := b.admin(t, "DELETE", "/_sandbox/faults", "", &e); st != 404 && st != 405 {
			t.Fatalf("DELETE faults: %d", st)
		}
	})
}
