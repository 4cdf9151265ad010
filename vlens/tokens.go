package vlens

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vlensq/vlensq/internal/tracing"
)

// Token endpoints.
const (
	pathTenantLogin   = "/api/credentials/Login"
	pathTenantRefresh = "/api/credentials/RefreshToken"
	pathUserRefresh   = "/api/DigitalIdentity/RefreshToken"
)

// Resolutions of token failures, after the Vlens errors page.
const (
	resolutionNoSession = "Store the user's tokens with `vlensq session put --tenant T --user U` " +
		"(from the user's sign-in), then requeue"
	resolutionUserSignIn = "Refresh token expired or revoked: the user must sign in again " +
		"(/api/DigitalIdentity/Login); store the new tokens with `vlensq session put`, then requeue"
	resolutionTenantLogin = "Verify the tenant's username and password in the tenants file and that the " +
		"account is active in the Vlens portal"
	resolutionStore = "Check that Redis (VLENSQ_REDIS) is reachable"
)

// accessToken returns the bearer token for call, logging in or refreshing
// when the stored one is missing or about to expire.
func (c *Client) accessToken(ctx context.Context, t Tenant, call Call) (string, *Error) {
	method, target := call.method(), c.cfg.BaseURL+call.Path
	if c.cfg.Sessions == nil {
		return "", c.newError(method, target, ClassPermanent, CategoryAuthentication,
			"Configure a session store (Config.Sessions)", "no session store configured for "+call.Token.String()+"-token calls")
	}
	user := call.owner()
	if user == "" && c.cfg.TenantTokenCache > 0 {
		if s, ok := c.tenants.get(t.Name, c.cfg.Now()); ok && !c.expiring(s) {
			return s.AccessToken, nil
		}
	}
	s, err := c.cfg.Sessions.Get(ctx, t.Name, user)
	if err == nil && user == "" {
		c.cacheTenant(t.Name, s)
	}
	switch {
	case errors.Is(err, ErrNoSession):
		if user != "" {
			return "", c.noSession(method, target, t.Name, user)
		}
		s, e := c.renew(ctx, t, user, "")
		if e != nil {
			return "", e
		}
		return s.AccessToken, nil
	case err != nil:
		e := c.newError(method, target, ClassTransient, CategoryNetwork, resolutionStore, "session store unavailable")
		e.Err = err
		return "", e
	}
	if !c.expiring(s) {
		return s.AccessToken, nil
	}
	fresh, e := c.renew(ctx, t, user, s.AccessToken)
	if e != nil {
		// A failed early refresh does not fail a call whose token is still
		// valid; the next call tries again.
		if s.AccessToken != "" && c.cfg.Now().Before(s.AccessExpiresAt) {
			return s.AccessToken, nil
		}
		return "", e
	}
	return fresh.AccessToken, nil
}

// expiring reports that s has no access token or that it expires within
// RefreshAhead.
func (c *Client) expiring(s Session) bool {
	if s.AccessToken == "" {
		return true
	}
	return !s.AccessExpiresAt.IsZero() && !c.cfg.Now().Add(c.cfg.RefreshAhead).Before(s.AccessExpiresAt)
}

func (c *Client) noSession(method, target, tenant, user string) *Error {
	return c.newError(method, target, ClassPermanent, CategoryAuthentication, resolutionNoSession,
		fmt.Sprintf("no session for user %s of tenant %s; store one with `vlensq session put`", user, tenant))
}

// renew replaces the access token stale of (t, user): by a refresh, or for
// the tenant by a login. One renewal runs at a time per owner: callers in this
// process share it (singleflight) and processes take the store's lock; a
// caller that got the lock after another's renewal uses the token that one
// stored instead of refreshing again.
func (c *Client) renew(ctx context.Context, t Tenant, user, stale string) (s Session, e *Error) {
	ctx, span := tracing.Start(ctx, tracing.SpanTokenRefresh, tracing.AttrTokenKind.String(tokenKind(user)))
	defer func() { tracing.End(span, spanErr(e)) }()
	key := t.Name + "\x00" + user + "\x00" + stale
	return c.flights.do(ctx, key, func() (Session, *Error) {
		// Detached from the first caller: the others still wait for it.
		// Bounded by the lock wait, a refresh and a login.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*c.cfg.RefreshTimeout)
		defer cancel()
		return c.renewLocked(wctx, t, user, stale)
	})
}

func (c *Client) renewLocked(ctx context.Context, t Tenant, user, stale string) (Session, *Error) {
	lctx, cancel := context.WithTimeout(ctx, c.cfg.RefreshTimeout)
	unlock, err := c.cfg.Sessions.Lock(lctx, t.Name, user)
	cancel()
	if err != nil {
		e := c.newError("POST", c.refreshURL(user), ClassTransient, CategoryNetwork, resolutionStore,
			"could not take the token refresh lock")
		e.Err = err
		return Session{}, e
	}
	defer unlock()

	s, err := c.cfg.Sessions.Get(ctx, t.Name, user)
	switch {
	case err == nil:
		if s.AccessToken != stale && !c.expiring(s) {
			if user == "" {
				c.cacheTenant(t.Name, s)
			}
			return s, nil // renewed by another caller meanwhile
		}
	case errors.Is(err, ErrNoSession):
		if user != "" {
			return Session{}, c.noSession("POST", c.refreshURL(user), t.Name, user)
		}
	default:
		e := c.newError("POST", c.refreshURL(user), ClassTransient, CategoryNetwork, resolutionStore, "session store unavailable")
		e.Err = err
		return Session{}, e
	}

	var fresh Session
	var e *Error
	if user == "" {
		fresh, e = c.renewTenant(ctx, t, s)
	} else {
		fresh, e = c.renewUser(ctx, t, user, s)
	}
	if c.cfg.Hooks.OnRefresh != nil {
		var herr error
		if e != nil {
			herr = e
		}
		c.cfg.Hooks.OnRefresh(t.Name, user != "", herr)
	}
	if e != nil {
		return Session{}, e
	}
	if user == "" {
		c.cacheTenant(t.Name, fresh)
	}
	// Write back so that every process (and the next task) uses the new
	// tokens; with rotation the old refresh token no longer works.
	if err := c.putSession(ctx, t.Name, user, fresh); err != nil && c.cfg.Hooks.OnRefresh != nil {
		c.cfg.Hooks.OnRefresh(t.Name, user != "", fmt.Errorf("vlens: store refreshed session: %w", err))
	}
	return fresh, nil
}

// putSession stores s, trying twice: losing a rotated refresh token would
// force the user to sign in again.
func (c *Client) putSession(ctx context.Context, tenant, user string, s Session) error {
	err := c.cfg.Sessions.Put(ctx, tenant, user, s)
	if err != nil && ctx.Err() == nil {
		err = c.cfg.Sessions.Put(ctx, tenant, user, s)
	}
	return err
}

func (c *Client) refreshURL(user string) string {
	if user == "" {
		return c.cfg.BaseURL + pathTenantRefresh
	}
	return c.cfg.BaseURL + pathUserRefresh
}

// renewTenant refreshes the tenant's token, or logs in when there is no
// usable refresh token or Vlens refuses it.
func (c *Client) renewTenant(ctx context.Context, t Tenant, s Session) (Session, *Error) {
	now := c.cfg.Now()
	if s.RefreshToken != "" && (s.RefreshExpiresAt.IsZero() || now.Before(s.RefreshExpiresAt)) {
		fresh, e := c.refresh(ctx, t, pathTenantRefresh, s)
		if e == nil {
			return fresh, nil
		}
		if e.Class == ClassTransient || e.Class == ClassThrottled {
			return Session{}, e
		}
		// Refresh token expired or revoked: log in again.
	}
	return c.login(ctx, t)
}

// renewUser refreshes an end user's token. Without a usable refresh token
// the user must sign in again: that is permanent for the task.
func (c *Client) renewUser(ctx context.Context, t Tenant, user string, s Session) (Session, *Error) {
	target := c.cfg.BaseURL + pathUserRefresh
	if s.RefreshToken == "" {
		return Session{}, c.newError("POST", target, ClassPermanent, CategoryAuthentication, resolutionUserSignIn,
			fmt.Sprintf("access token of user %s of tenant %s expired and the session has no refresh token", user, t.Name))
	}
	if !s.RefreshExpiresAt.IsZero() && !c.cfg.Now().Before(s.RefreshExpiresAt) {
		return Session{}, c.newError("POST", target, ClassPermanent, CategoryAuthentication, resolutionUserSignIn,
			fmt.Sprintf("refresh token of user %s of tenant %s expired", user, t.Name))
	}
	fresh, e := c.refresh(ctx, t, pathUserRefresh, s)
	if e != nil && e.Class != ClassTransient && e.Class != ClassThrottled {
		e.Class, e.Category, e.Resolution = ClassPermanent, CategoryAuthentication, resolutionUserSignIn
		e.Reason = fmt.Sprintf("refresh token of user %s of tenant %s refused (expired or revoked): %s", user, t.Name, e.Reason)
	}
	return fresh, e
}

// tokenData is the data of a Login or RefreshToken answer.
type tokenData struct {
	AccessToken                 string `json:"accessToken"`
	ExpireInSeconds             int64  `json:"expireInSeconds"`
	RefreshToken                string `json:"refreshToken"`
	NewRefreshToken             string `json:"newRefreshToken"`
	RefreshTokenExpireInSeconds int64  `json:"refreshTokenExpireInSeconds"`
}

// refresh exchanges s.RefreshToken for a new access token. A non-empty
// newRefreshToken in the answer replaces the refresh token (rotation).
func (c *Client) refresh(ctx context.Context, t Tenant, path string, s Session) (Session, *Error) {
	d, e := c.tokenCall(ctx, t, path, map[string]string{"refreshToken": s.RefreshToken})
	if e != nil {
		return Session{}, e
	}
	now := c.cfg.Now()
	out := Session{AccessToken: d.AccessToken, RefreshToken: s.RefreshToken, RefreshExpiresAt: s.RefreshExpiresAt}
	if d.ExpireInSeconds > 0 {
		out.AccessExpiresAt = now.Add(time.Duration(d.ExpireInSeconds) * time.Second)
	}
	if d.NewRefreshToken != "" {
		out.RefreshToken, out.RefreshExpiresAt = d.NewRefreshToken, time.Time{}
		if d.RefreshTokenExpireInSeconds > 0 {
			out.RefreshExpiresAt = now.Add(time.Duration(d.RefreshTokenExpireInSeconds) * time.Second)
		}
	}
	return out, nil
}

// login obtains the tenant's token with its credentials. A refusal is
// permanent/authentication (or the table's permanent category, e.g. an
// expired subscription); a transient failure stays transient.
func (c *Client) login(ctx context.Context, t Tenant) (Session, *Error) {
	d, e := c.tokenCall(ctx, t, pathTenantLogin, map[string]string{
		"tenancyName": t.Name, "userNameOrEmailAddress": t.Username, "password": t.Password,
	})
	if e != nil {
		switch {
		case e.Class == ClassTransient || e.Class == ClassThrottled:
		case e.Class == ClassPermanent && e.Category != CategoryUnknown && e.Category != CategoryAuthentication && e.Category != "":
			e.Reason = "tenant login failed: " + e.Reason
		default:
			e.Class, e.Category, e.Resolution = ClassPermanent, CategoryAuthentication, resolutionTenantLogin
			e.Reason = "tenant login failed (bad credentials?): " + e.Reason
		}
		return Session{}, e
	}
	now := c.cfg.Now()
	out := Session{AccessToken: d.AccessToken, RefreshToken: d.RefreshToken}
	if d.ExpireInSeconds > 0 {
		out.AccessExpiresAt = now.Add(time.Duration(d.ExpireInSeconds) * time.Second)
	}
	if d.RefreshTokenExpireInSeconds > 0 {
		out.RefreshExpiresAt = now.Add(time.Duration(d.RefreshTokenExpireInSeconds) * time.Second)
	}
	return out, nil
}

// tokenCall posts to a token endpoint and decodes the token data. Token
// answers carry secrets: error bodies are redacted and the envelope dropped.
func (c *Client) tokenCall(ctx context.Context, t Tenant, path string, body map[string]string) (tokenData, *Error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return tokenData{}, c.newError("POST", c.cfg.BaseURL+path, ClassPermanent, CategoryValidation, "", "encode token request")
	}
	resp, e := c.send(ctx, exchange{tenant: t, method: "POST", url: c.cfg.BaseURL + path, body: raw, timeout: c.cfg.RefreshTimeout})
	if e != nil {
		e.Body, e.Envelope = Redact(e.Body), nil
		return tokenData{}, e
	}
	var d tokenData
	if err := json.Unmarshal(resp.Envelope.Data, &d); err != nil || d.AccessToken == "" {
		e := c.newError("POST", resp.URL, ClassTransient, CategoryServer,
			"Retry later; report to Vlens support if it persists", "token answer carries no accessToken")
		e.HTTPStatus, e.RequestID, e.Body = resp.HTTPStatus, resp.RequestID, Redact(resp.Body)
		return tokenData{}, e
	}
	return d, nil
}

// tokenKind names the owner of a token in spans: "tenant" or "user" (never
// the user's name).
func tokenKind(user string) string {
	if user == "" {
		return "tenant"
	}
	return "user"
}

// spanErr is e as an error for a span's status: its class, category and
// reason (a reason never holds a body or a secret), or nil.
func spanErr(e *Error) error {
	if e == nil {
		return nil
	}
	return fmt.Errorf("%s/%s: %s", e.Class, e.Category, e.Reason)
}

// flightGroup runs one function per key at a time and shares its result with
// every caller that asks meanwhile (a minimal singleflight). Each caller
// waits only as long as its own context allows.
type flightGroup struct {
	mu sync.Mutex
	m  map[string]*flight
}

type flight struct {
	done    chan struct{}
	callers int // how many callers joined; guarded by flightGroup.mu
	s       Session
	err     *Error
}

func (g *flightGroup) do(ctx context.Context, key string, fn func() (Session, *Error)) (Session, *Error) {
	g.mu.Lock()
	if g.m == nil {
		g.m = make(map[string]*flight)
	}
	f, ok := g.m[key]
	if !ok {
		f = &flight{done: make(chan struct{})}
		g.m[key] = f
		go func() {
			defer func() {
				g.mu.Lock()
				delete(g.m, key)
				g.mu.Unlock()
				close(f.done)
			}()
			f.s, f.err = fn()
		}()
	}
	f.callers++
	g.mu.Unlock()
	select {
	case <-f.done:
		if f.err != nil {
			cp := *f.err // callers may adjust their copy
			return Session{}, &cp
		}
		return f.s, nil
	case <-ctx.Done():
		return Session{}, &Error{Method: "POST", Class: ClassTransient, Category: CategoryNetwork,
			Reason: "gave up waiting for a token refresh", Err: context.Cause(ctx)}
	}
}

// cacheTenant keeps tenant's session in memory for Config.TenantTokenCache,
// when that is on.
func (c *Client) cacheTenant(tenant string, s Session) {
	if c.cfg.TenantTokenCache > 0 {
		c.tenants.put(tenant, s, c.cfg.Now().Add(c.cfg.TenantTokenCache))
	}
}

// tokenCache keeps sessions in memory until a deadline. The zero value is
// ready to use.
type tokenCache struct {
	mu sync.Mutex
	m  map[string]cachedSession
}

type cachedSession struct {
	s     Session
	until time.Time
}

// get returns the session of owner if it is cached and now is before its
// deadline.
func (tc *tokenCache) get(owner string, now time.Time) (Session, bool) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	e, ok := tc.m[owner]
	if !ok || !now.Before(e.until) {
		return Session{}, false
	}
	return e.s, true
}

// put caches s for owner until the deadline.
func (tc *tokenCache) put(owner string, s Session, until time.Time) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.m == nil {
		tc.m = map[string]cachedSession{}
	}
	tc.m[owner] = cachedSession{s: s, until: until}
}
