package tasks

import (
	"context"
	"fmt"

	"github.com/vlensq/vlensq/vlens"
)

// PutSession stores an end user's Vlens tokens for the user-token tasks
// (verify:*, business:*) that name the user in "user". The tokens never
// travel in task payloads; workers read them from the session store,
// refresh them when they expire and write the new ones back. The tenant
// must be configured; errors are *ValidationError naming the field and
// never contain the tokens.
func (c *Client) PutSession(ctx context.Context, tenant, user, accessToken, refreshToken string) error {
	switch {
	case blank(tenant):
		return &ValidationError{Field: "tenant", Problem: "is required"}
	case blank(user):
		return &ValidationError{Field: "user", Problem: "is required"}
	case blank(accessToken):
		return &ValidationError{Field: "access_token", Problem: "is required"}
	case blank(refreshToken):
		return &ValidationError{Field: "refresh_token", Problem: "is required"}
	}
	if _, ok := c.cfg.Tenants.Tenant(tenant); !ok {
		return &ValidationError{Field: "tenant", Problem: fmt.Sprintf("unknown tenant %q", tenant)}
	}
	if err := c.sessions.Put(ctx, tenant, user, vlens.Session{AccessToken: accessToken, RefreshToken: refreshToken}); err != nil {
		return fmt.Errorf("tasks: store session of user %s (tenant %s): %w", user, tenant, err)
	}
	return nil
}
