package vlenstest

import (
	"net/http"
	"testing"
)

func TestAuthentication(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tenantAccess, _ := b.tenantLogin(t)
	userAccess := b.userToken("auth-user")
	otherTenantUser, _ := b.srv.UserTokens(b.b.Name, "auth-user")
	expiredUser := b.userToken("auth-expired")
	if r := b.post(t, pathFront, expiredUser, map[string]any{"client_transaction_id": "sandbox:expire,ok#auth"}); r.status != http.StatusUnauthorized {
		t.Fatalf("expire step: status %d", r.status)
	}

	tests := []struct {
		desc   string
		path   string
		token  string
		header map[string]string // "" deletes
		status int
		msg    string
	}{
		{desc: "no ApiKey", path: pathEligibility, token: userAccess, header: map[string]string{"ApiKey": ""},
			status: 401, msg: "ApiKey header missing or invalid"},
		{desc: "unknown ApiKey", path: pathEligibility, token: userAccess, header: map[string]string{"ApiKey": "guess"},
			status: 401, msg: "ApiKey header missing or invalid"},
		{desc: "ApiKey of another tenant than TenancyName", path: pathEligibility, token: userAccess,
			header: map[string]string{"TenancyName": tenantB.Name}, status: 401, msg: "ApiKey header missing or invalid"},
		{desc: "TenancyName is optional and case-insensitive", path: pathEligibility, token: userAccess,
			header: map[string]string{"TenancyName": "ACME"}, status: 200},
		{desc: "no TenancyName header", path: pathEligibility, token: userAccess,
			header: map[string]string{"TenancyName": ""}, status: 200},
		{desc: "no Authorization on a user endpoint", path: pathEligibility,
			status: 403, msg: "Authorization header missing"},
		{desc: "not a bearer scheme", path: pathEligibility, header: map[string]string{"Authorization": "Basic Zm9vOmJhcg=="},
			status: 403, msg: "Authorization header missing"},
		{desc: "unknown bearer token", path: pathEligibility, token: "forged",
			status: 401, msg: "Access token invalid or expired"},
		{desc: "refresh token used as access token", path: pathEligibility, token: func() string { _, r := b.srv.UserTokens(b.a.Name, "auth-user"); return r }(),
			status: 401, msg: "Access token invalid or expired"},
		{desc: "expired access token", path: pathEligibility, token: expiredUser,
			status: 401, msg: "Access token expired"},
		{desc: "token of another tenant", path: pathEligibility, token: otherTenantUser,
			status: 401, msg: "Token belongs to a different tenant"},
		{desc: "tenant token on a user endpoint", path: pathEligibility, token: tenantAccess,
			status: 403, msg: "Token does not have permission for this endpoint"},
		{desc: "user token on OCR", path: pathOCRFront, token: userAccess,
			status: 403, msg: "Token does not have permission for this endpoint"},
		{desc: "OCR with the ApiKey alone", path: pathOCRFront, status: 200},
		{desc: "OCR with a tenant token", path: pathOCRFront, token: tenantAccess, status: 200},
		{desc: "user endpoint with a user token", path: pathEligibility, token: userAccess, status: 200},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			method, body := http.MethodGet, any(nil)
			if tc.path == pathOCRFront {
				method, body = http.MethodPost, frontBody(nil)
			}
			req := b.newRequest(t, method, tc.path, tc.token, body)
			for k, v := range tc.header {
				if v == "" {
					req.Header.Del(k)
				} else {
					req.Header.Set(k, v)
				}
			}
			r := b.send(t, req)
			if tc.status == 200 {
				wantSuccess(t, r)
				return
			}
			wantFailure(t, r, tc.status, nil, tc.msg)
			if d, ok := r.get("data"); !ok || d != nil {
				t.Fatalf("data = %v, want null on an auth failure", d)
			}
		})
	}
}

func TestAuthFailuresAreRecordedWithoutSecrets(t *testing.T) {
	t.Parallel()
	b := setup(t)
	req := b.newRequest(t, http.MethodGet, pathEligibility, "", nil)
	req.Header.Set("ApiKey", "canary-wrong-key-5511")
	wantStatus(t, b.send(t, req), http.StatusUnauthorized)

	recs := b.srv.Requests()
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	if recs[0].Tenant != "" || recs[0].Status != 401 {
		t.Fatalf("record %+v: want no tenant and status 401", recs[0])
	}
}
