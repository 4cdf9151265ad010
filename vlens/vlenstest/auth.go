package vlenstest

import (
	"net/http"
	"strings"
)

// authenticate checks the ApiKey (and the TenancyName header when sent),
// then the bearer token the endpoint needs. It fills c.tenant, c.tok and
// c.user.
func (f *Fake) authenticate(c *call) *response {
	key := c.r.Header.Get("ApiKey")
	f.mu.Lock()
	defer f.mu.Unlock()
	ts := f.byKey[key]
	if key == "" || ts == nil {
		return failure(http.StatusUnauthorized, 0, msgAPIKey)
	}
	if name := c.r.Header.Get("TenancyName"); name != "" && !strings.EqualFold(name, ts.cfg.Name) {
		return failure(http.StatusUnauthorized, 0, msgAPIKey)
	}
	c.tenant, c.tcfg = ts, ts.cfg
	c.rec.Tenant = ts.cfg.Name
	if c.ep.auth == authKeyOnly {
		return nil
	}
	authz := strings.TrimSpace(c.r.Header.Get("Authorization"))
	if authz == "" && c.ep.auth == authTenantOptional {
		return nil // OCR with the ApiKey alone
	}
	scheme, value, _ := strings.Cut(authz, " ")
	value = strings.TrimSpace(value)
	if !strings.EqualFold(scheme, "Bearer") || value == "" {
		return failure(http.StatusForbidden, 0, msgNoAuthorization)
	}
	tok := f.tokens[value]
	if tok == nil || tok.kind != accessToken {
		return failure(http.StatusUnauthorized, 0, msgAccessInvalid)
	}
	if tok.user == "" {
		c.rec.Token = "tenant"
	} else {
		c.rec.Token = "user"
		if other := f.tenants[tok.tenant]; other != nil {
			if u := other.users[tok.user]; u != nil {
				c.rec.User = u.name
			}
		}
	}
	if tok.tenant != ts.key {
		return failure(http.StatusUnauthorized, 0, msgOtherTenant)
	}
	if f.accessExpiredLocked(tok) {
		return failure(http.StatusUnauthorized, 0, msgAccessExpired)
	}
	switch {
	case c.ep.auth == authUser && tok.user == "":
		return failure(http.StatusForbidden, 0, msgNoPermission)
	case c.ep.auth == authTenantOptional && tok.user != "":
		return failure(http.StatusForbidden, 0, msgNoPermission)
	}
	c.tok, c.user = tok, tok.user
	return nil
}
