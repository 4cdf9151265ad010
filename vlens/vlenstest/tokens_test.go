package vlenstest

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestTenantLogin(t *testing.T) {
	t.Parallel()
	b := setup(t)

	t.Run("success carries both tokens and their lifetimes", func(t *testing.T) {
		r := b.post(t, pathLogin, "", map[string]any{
			"tenancyName": b.a.Name, "userNameOrEmailAddress": b.a.Username, "password": b.a.Password,
		})
		wantSuccess(t, r)
		if r.str(t, "data.accessToken") == r.str(t, "data.refreshToken") {
			t.Fatal("access and refresh tokens are the same")
		}
		for path, want := range map[string]float64{"data.expireInSeconds": 86400, "data.refreshTokenExpireInSeconds": 604800} {
			if v, _ := r.get(path); v != want {
				t.Errorf("%s = %v, want %v", path, v, want)
			}
		}
	})
	t.Run("wrong password is a 401 envelope", func(t *testing.T) {
		r := b.post(t, pathLogin, "", map[string]any{
			"tenancyName": b.a.Name, "userNameOrEmailAddress": b.a.Username, "password": "nope",
		})
		wantFailure(t, r, http.StatusUnauthorized, nil, "Invalid user name or password")
	})
	t.Run("another tenant's credentials do not log in with this key", func(t *testing.T) {
		r := b.post(t, pathLogin, "", map[string]any{
			"tenancyName": b.b.Name, "userNameOrEmailAddress": b.b.Username, "password": b.b.Password,
		})
		wantFailure(t, r, http.StatusUnauthorized, nil, "ApiKey header missing or invalid")
	})
	t.Run("missing fields are listed", func(t *testing.T) {
		req := b.newRequest(t, http.MethodPost, pathLogin, "", map[string]any{})
		req.Header.Del("TenancyName")
		r := b.send(t, req)
		wantFailure(t, r, http.StatusBadRequest, 400, "Validation failed")
		got := r.descriptions()
		if len(got) != 3 {
			t.Fatalf("descriptions %v, want userNameOrEmailAddress, password and tenancyName", got)
		}
	})
	t.Run("counts successful logins only", func(t *testing.T) {
		if got := b.srv.Logins(b.a.Name); got != 1 {
			t.Fatalf("Logins = %d, want 1", got)
		}
	})
}

func TestTenantRefreshRotates(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, refresh := b.tenantLogin(t)

	r := b.post(t, pathRefresh, "", map[string]any{"refreshToken": refresh})
	wantSuccess(t, r)
	access2 := r.str(t, "data.accessToken")
	rotated := r.str(t, "data.newRefreshToken")
	if rotated == refresh {
		t.Fatal("newRefreshToken equals the old refresh token")
	}
	if r.str(t, "data.encryptedAccessToken") == "" {
		t.Fatal("encryptedAccessToken is empty")
	}
	if v, _ := r.get("data.expireInSeconds"); v != float64(86400) {
		t.Fatalf("expireInSeconds = %v", v)
	}

	// The new access token works on OCR.
	wantSuccess(t, b.post(t, pathOCRFront, access2, frontBody(nil)))

	// The old refresh token is spent.
	again := b.post(t, pathRefresh, "", map[string]any{"refreshToken": refresh})
	wantFailure(t, again, http.StatusUnauthorized, nil, "Refresh token expired or revoked")

	// The rotated one works once.
	wantSuccess(t, b.post(t, pathRefresh, "", map[string]any{"refreshToken": rotated}))
	if got := b.srv.Refreshes(b.a.Name, ""); got != 2 {
		t.Fatalf("Refreshes(tenant) = %d, want 2", got)
	}
}

func TestTokenExpiryFollowsTheClock(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.AccessTTL = time.Hour; o.RefreshTTL = 2 * time.Hour })
	access, refresh := b.tenantLogin(t)

	b.clock.Advance(59 * time.Minute)
	wantSuccess(t, b.post(t, pathOCRFront, access, frontBody(nil)))

	b.clock.Advance(time.Minute)
	r := b.post(t, pathOCRFront, access, frontBody(nil))
	wantFailure(t, r, http.StatusUnauthorized, nil, "Access token expired")

	b.clock.Advance(time.Hour)
	r = b.post(t, pathRefresh, "", map[string]any{"refreshToken": refresh})
	wantFailure(t, r, http.StatusUnauthorized, nil, "Refresh token expired or revoked")
}

func TestExpireAccessTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	access, refresh := b.tenantLogin(t)
	user := b.userToken("expire-user")

	b.srv.ExpireAccessTokens()
	wantFailure(t, b.post(t, pathOCRFront, access, frontBody(nil)), http.StatusUnauthorized, nil, "Access token expired")
	wantFailure(t, b.get(t, pathEligibility, user), http.StatusUnauthorized, nil, "Access token expired")

	// Refresh still works and its token is new, so not expired.
	r := b.post(t, pathRefresh, "", map[string]any{"refreshToken": refresh})
	wantSuccess(t, r)
	wantSuccess(t, b.post(t, pathOCRFront, r.str(t, "data.accessToken"), frontBody(nil)))
}

func TestRevokeRefreshTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	access, refresh := b.tenantLogin(t)
	_, userRefresh := b.srv.UserTokens(b.a.Name, "revoke-user")

	b.srv.RevokeRefreshTokens()
	wantFailure(t, b.post(t, pathRefresh, "", map[string]any{"refreshToken": refresh}),
		http.StatusUnauthorized, nil, "Refresh token expired or revoked")
	wantFailure(t, b.post(t, pathUserRefresh, "", map[string]any{"refreshToken": userRefresh}),
		http.StatusUnauthorized, nil, "Refresh token expired or revoked")
	// Access tokens are untouched.
	wantSuccess(t, b.post(t, pathOCRFront, access, frontBody(nil)))
	// A new login gets a working refresh token.
	_, fresh := b.tenantLogin(t)
	wantSuccess(t, b.post(t, pathRefresh, "", map[string]any{"refreshToken": fresh}))
}

func TestUserLoginAndRefresh(t *testing.T) {
	t.Parallel()
	b := setup(t)
	login := func(pass string) reply {
		return b.post(t, pathUserLogin, "", map[string]any{"userNameOrEmailAddress": "nour@example.test", "password": pass})
	}

	first := login("pw-1")
	wantSuccess(t, first)
	if id, _ := first.get("data.userId"); id == nil {
		t.Fatal("userId missing")
	}
	wantSuccess(t, login("pw-1"))
	wantFailure(t, login("pw-2"), http.StatusUnauthorized, nil, "Invalid user name or password")

	access := first.str(t, "data.accessToken")
	r := b.get(t, pathEligibility, access)
	wantSuccess(t, r)
	if v, _ := r.get("data.isDigitalIdentityVerified"); v != false {
		t.Fatalf("a freshly registered user is verified: %v", v)
	}

	refresh := first.str(t, "data.refreshToken")
	rr := b.post(t, pathUserRefresh, "", map[string]any{"refreshToken": refresh})
	wantSuccess(t, rr)
	if rr.str(t, "data.newRefreshToken") == refresh {
		t.Fatal("user refresh did not rotate")
	}
	wantFailure(t, b.post(t, pathUserRefresh, "", map[string]any{"refreshToken": refresh}),
		http.StatusUnauthorized, nil, "Refresh token expired or revoked")
	if got := b.srv.Refreshes(b.a.Name, "NOUR@example.test"); got != 1 {
		t.Fatalf("Refreshes(user) = %d, want 1 (user names are case-insensitive)", got)
	}
	if got := b.srv.Refreshes(b.a.Name, ""); got != 0 {
		t.Fatalf("Refreshes(tenant) = %d, want 0", got)
	}

	t.Run("tenant and user refresh tokens are not interchangeable", func(t *testing.T) {
		_, tenantRefresh := b.tenantLogin(t)
		_, userRefresh := b.srv.UserTokens(b.a.Name, "swap-user")
		wantFailure(t, b.post(t, pathUserRefresh, "", map[string]any{"refreshToken": tenantRefresh}),
			http.StatusUnauthorized, nil, "Refresh token expired or revoked")
		wantFailure(t, b.post(t, pathRefresh, "", map[string]any{"refreshToken": userRefresh}),
			http.StatusUnauthorized, nil, "Refresh token expired or revoked")
	})
	t.Run("a refresh token of another tenant", func(t *testing.T) {
		_, other := b.srv.UserTokens(b.b.Name, "other-tenant-user")
		wantFailure(t, b.post(t, pathUserRefresh, "", map[string]any{"refreshToken": other}),
			http.StatusUnauthorized, nil, "Token belongs to a different tenant")
	})
}

func TestUserTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a1, r1 := b.srv.UserTokens(b.a.Name, "ut-user")
	a2, r2 := b.srv.UserTokens(b.a.Name, "ut-user")
	if a1 == a2 || r1 == r2 || a1 == "" || r1 == "" {
		t.Fatal("UserTokens must issue fresh, non-empty tokens on each call")
	}
	// Both pairs work: issuing does not revoke earlier tokens.
	wantSuccess(t, b.get(t, pathEligibility, a1))
	wantSuccess(t, b.get(t, pathEligibility, a2))

	defer func() {
		if recover() == nil {
			t.Fatal("UserTokens on an unknown tenant did not panic")
		}
	}()
	b.srv.UserTokens("no-such-tenant", "x")
}

func TestSetUserVerified(t *testing.T) {
	t.Parallel()
	b := setup(t)
	access := b.userToken("sv-user")
	if err := b.srv.SetUserVerified(b.a.Name, "sv-user", false); err != nil {
		t.Fatal(err)
	}
	r := b.get(t, pathEligibility, access)
	if v, _ := r.get("data.isEligible"); v != false {
		t.Fatalf("isEligible = %v after SetUserVerified(false)", v)
	}
	if err := b.srv.SetUserVerified("nope", "x", true); !errors.Is(err, ErrUnknownTenant) {
		t.Fatalf("SetUserVerified on an unknown tenant: %v, want ErrUnknownTenant", err)
	}
}

func TestLongDeadTokensArePruned(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.AccessTTL = time.Minute; o.RefreshTTL = time.Minute })
	old, _ := b.srv.UserTokens(b.a.Name, "prune-user")
	b.clock.Advance(2 * time.Hour)
	wantFailure(t, b.get(t, pathEligibility, old), 401, nil, "Access token expired")
	for range pruneEvery {
		b.srv.UserTokens(b.a.Name, "prune-user")
	}
	b.srv.mu.Lock()
	_, kept := b.srv.tokens[old]
	n := len(b.srv.tokens)
	b.srv.mu.Unlock()
	if kept || n != 2*(pruneEvery-1)+2 {
		t.Fatalf("old token kept: %v; %d tokens held, want only the live ones", kept, n)
	}
	// A forgotten token is still refused, as invalid.
	wantFailure(t, b.get(t, pathEligibility, old), 401, nil, "Access token invalid or expired")
}
