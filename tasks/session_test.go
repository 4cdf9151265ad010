package tasks

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vlensq/vlensq/vlens"
)

func TestPutSessionStoresTokensForWorkers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	user := "user-" + b.queue
	if err := b.client.PutSession(ctx, "acme", user, "ACCESS-CANARY", "REFRESH-CANARY"); err != nil {
		t.Fatal(err)
	}
	// Workers read sessions through the vlens session store.
	s, err := vlens.NewRedisSessionStore(b.rdb).Get(ctx, "acme", user)
	if err != nil || s.AccessToken != "ACCESS-CANARY" || s.RefreshToken != "REFRESH-CANARY" {
		t.Fatalf("session read back: %v (tokens match: %v)", err, s.AccessToken == "ACCESS-CANARY")
	}

	tests := []struct {
		tenant, user, access, refresh, field string
	}{
		{tenant: "", user: "u", access: "a", refresh: "r", field: "tenant"},
		{tenant: "nobody", user: "u", access: "a", refresh: "r", field: "tenant"},
		{tenant: "acme", user: " ", access: "a", refresh: "r", field: "user"},
		{tenant: "acme", user: "u", access: "", refresh: "REFRESH-CANARY", field: "access_token"},
		{tenant: "acme", user: "u", access: "ACCESS-CANARY", refresh: "", field: "refresh_token"},
	}
	for _, tc := range tests {
		err := b.client.PutSession(ctx, tc.tenant, tc.user, tc.access, tc.refresh)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != tc.field {
			t.Errorf("PutSession(%q, %q, …) = %v, want a ValidationError naming %s", tc.tenant, tc.user, err, tc.field)
			continue
		}
		if strings.Contains(err.Error(), "CANARY") {
			t.Errorf("error text carries a token: %v", err)
		}
	}
}
