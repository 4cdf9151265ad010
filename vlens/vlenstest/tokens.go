package vlenstest

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

type tokenKind int8

const (
	accessToken tokenKind = iota
	refreshToken
)

// token is an issued access or refresh token. Tokens are opaque random
// strings; the fake keeps their owner and expiry.
type token struct {
	kind      tokenKind
	tenant    string // lower-case tenancy name
	user      string // lower-case end user; "" for the tenant (admin) token
	seq       uint64 // issue order, for ExpireAccessTokens / RevokeRefreshTokens
	expiresAt time.Time
	expired   bool // expired by a scenario step or a fault
}

// pruneEvery is how many issued tokens trigger a sweep of long-dead ones.
const pruneEvery = 4096

func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// issueLocked issues a token pair for the owner (tenant, user).
func (f *Fake) issueLocked(tenant, user string) (access, refresh string) {
	now := f.now()
	access, refresh = newToken(), newToken()
	f.issued++
	f.tokens[access] = &token{kind: accessToken, tenant: tenant, user: user, seq: f.issued, expiresAt: now.Add(f.opts.AccessTTL)}
	f.tokens[refresh] = &token{kind: refreshToken, tenant: tenant, user: user, seq: f.issued, expiresAt: now.Add(f.opts.RefreshTTL)}
	if f.issued%pruneEvery == 0 {
		f.pruneLocked(now)
	}
	return access, refresh
}

// pruneLocked forgets tokens that expired more than an hour ago; they would
// be refused anyway (as invalid rather than expired).
func (f *Fake) pruneLocked(now time.Time) {
	for v, t := range f.tokens {
		if now.Sub(t.expiresAt) > time.Hour {
			delete(f.tokens, v)
		}
	}
}

func (f *Fake) accessExpiredLocked(t *token) bool {
	return t.expired || t.seq <= f.accessCutoff || !f.now().Before(t.expiresAt)
}

func (f *Fake) refreshUsableLocked(t *token) bool {
	return t.kind == refreshToken && t.seq > f.refreshCutoff && f.now().Before(t.expiresAt)
}

// ExpireAccessTokens makes every access token issued so far expired: the
// next call with one gets HTTP 401 "Access token expired".
func (f *Fake) ExpireAccessTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accessCutoff = f.issued
}

// RevokeRefreshTokens revokes every refresh token issued so far: refreshing
// with one gets HTTP 401 "Refresh token expired or revoked".
func (f *Fake) RevokeRefreshTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refreshCutoff = f.issued
}

// UserTokens registers the end user of tenant (if new, as a user whose
// digital identity is already verified, so business requests are open to
// it) and issues a fresh access and refresh token pair for it, as
// /api/DigitalIdentity/Login would. It panics when tenant is unknown.
func (f *Fake) UserTokens(tenant, user string) (access, refresh string) {
	access, refresh, err := f.userTokens(tenant, user)
	if err != nil {
		panic(err)
	}
	return access, refresh
}

// ErrUnknownTenant is returned (or panicked) for a tenancy name the fake
// does not serve.
var ErrUnknownTenant = errors.New("vlenstest: unknown tenant")

func (f *Fake) userTokens(tenant, user string) (access, refresh string, err error) {
	if strings.TrimSpace(user) == "" {
		return "", "", errors.New("vlenstest: user name is required")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ts := f.tenants[strings.ToLower(tenant)]
	if ts == nil {
		return "", "", fmt.Errorf("%w %q", ErrUnknownTenant, tenant)
	}
	u := f.userLocked(ts, user)
	if u.id == 0 {
		u.verified = true
	}
	f.registerLocked(u)
	access, refresh = f.issueLocked(ts.key, strings.ToLower(user))
	return access, refresh, nil
}

// SetUserVerified marks whether the digital identity of an end user is
// verified (which business requests require), registering the user if new.
func (f *Fake) SetUserVerified(tenant, user string, verified bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	ts := f.tenants[strings.ToLower(tenant)]
	if ts == nil {
		return fmt.Errorf("%w %q", ErrUnknownTenant, tenant)
	}
	u := f.userLocked(ts, user)
	f.registerLocked(u)
	u.verified = verified
	return nil
}

// userLocked returns the user, creating an unregistered one (id 0) if new.
func (f *Fake) userLocked(ts *tenantState, name string) *endUser {
	key := strings.ToLower(name)
	u := ts.users[key]
	if u == nil {
		u = &endUser{name: name}
		ts.users[key] = u
	}
	return u
}

func (f *Fake) registerLocked(u *endUser) {
	if u.id == 0 {
		f.nextUserID++
		u.id = f.nextUserID
	}
}

// tokenData is the data of a login answer.
func (f *Fake) loginData(access, refresh string, userID int) map[string]any {
	return map[string]any{
		"accessToken":                 access,
		"encryptedAccessToken":        base64.StdEncoding.EncodeToString([]byte(newToken())),
		"expireInSeconds":             int64(f.opts.AccessTTL / time.Second),
		"refreshToken":                refresh,
		"refreshTokenExpireInSeconds": int64(f.opts.RefreshTTL / time.Second),
		"userId":                      userID,
	}
}

// handleTenantLogin: POST /api/credentials/Login
// {tenancyName, userNameOrEmailAddress, password}.
func handleTenantLogin(f *Fake, c *call) *response {
	var ck checker
	user := ck.requireString(c.fields, "userNameOrEmailAddress")
	pass := ck.requireString(c.fields, "password")
	tenancy, _ := stringField(c.fields, "tenancyName")
	if tenancy == "" {
		tenancy = c.r.Header.Get("TenancyName")
	}
	if tenancy == "" {
		ck.add("tenancyName", "tenancyName is required (in the body or the TenancyName header)")
	}
	if r := ck.failed(); r != nil {
		return r
	}
	if !strings.EqualFold(tenancy, c.tcfg.Name) {
		return failure(http.StatusUnauthorized, 0, msgAPIKey)
	}
	if !strings.EqualFold(user, c.tcfg.Username) || pass != c.tcfg.Password {
		return failure(http.StatusUnauthorized, 0, msgBadCredentials)
	}
	f.mu.Lock()
	access, refresh := f.issueLocked(c.tenant.key, "")
	f.logins[c.tenant.key]++
	f.mu.Unlock()
	return success(c.ep.casing, f.loginData(access, refresh, 1), nil)
}

// handleUserLogin: POST /api/DigitalIdentity/Login {tenancyName?,
// userNameOrEmailAddress, password}. An unknown user is registered on the
// spot (the fake has no separate registration flow); a known one must give
// the password it registered with.
func handleUserLogin(f *Fake, c *call) *response {
	var ck checker
	name := ck.requireString(c.fields, "userNameOrEmailAddress")
	pass := ck.requireString(c.fields, "password")
	if r := ck.failed(); r != nil {
		return r
	}
	if tenancy, _ := stringField(c.fields, "tenancyName"); tenancy != "" && !strings.EqualFold(tenancy, c.tcfg.Name) {
		return failure(http.StatusUnauthorized, 0, msgAPIKey)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.userLocked(c.tenant, name)
	switch {
	case !u.hasPassword:
		u.password, u.hasPassword = pass, true
	case u.password != pass:
		return failure(http.StatusUnauthorized, 0, msgBadCredentials)
	}
	f.registerLocked(u)
	access, refresh := f.issueLocked(c.tenant.key, strings.ToLower(name))
	return success(c.ep.casing, f.loginData(access, refresh, u.id), nil)
}

// handleTenantRefresh: POST /api/credentials/RefreshToken {refreshToken}.
func handleTenantRefresh(f *Fake, c *call) *response { return f.refresh(c, false) }

// handleUserRefresh: POST /api/DigitalIdentity/RefreshToken {refreshToken}.
func handleUserRefresh(f *Fake, c *call) *response { return f.refresh(c, true) }

// refresh rotates a refresh token: the old one stops working, the answer's
// newRefreshToken replaces it.
func (f *Fake) refresh(c *call, user bool) *response {
	var ck checker
	old := ck.requireString(c.fields, "refreshToken")
	if r := ck.failed(); r != nil {
		return r
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.tokens[old]
	switch {
	case t == nil:
		return failure(http.StatusUnauthorized, 0, msgRefreshExpired)
	case t.tenant != c.tenant.key:
		return failure(http.StatusUnauthorized, 0, msgOtherTenant)
	case !f.refreshUsableLocked(t) || (t.user != "") != user:
		return failure(http.StatusUnauthorized, 0, msgRefreshExpired)
	}
	delete(f.tokens, old)
	access, refresh := f.issueLocked(t.tenant, t.user)
	f.refreshes[ownerKey(t.tenant, t.user)]++
	return success(c.ep.casing, map[string]any{
		"accessToken":          access,
		"encryptedAccessToken": base64.StdEncoding.EncodeToString([]byte(newToken())),
		"expireInSeconds":      int64(f.opts.AccessTTL / time.Second),
		"refreshToken":         old,
		"newRefreshToken":      refresh,
	}, nil)
}
