package dashboard

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/vlensq/vlensq/deadletter"
)

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	r := testRedis(t)
	store, err := deadletter.New(r.Client, deadletter.Config{Prefix: unique("cfg")})
	if err != nil {
		t.Fatal(err)
	}
	hash := aliceHash(t)
	tests := []struct {
		desc    string
		cfg     Config
		wantErr string
	}{
		{"no auth", Config{Redis: r, DLQ: store, ReadOnly: true}, "no authentication configured"},
		{"insecure no auth", Config{Redis: r, DLQ: store, ReadOnly: true, InsecureNoAuth: true}, ""},
		{"token", Config{Redis: r, DLQ: store, ReadOnly: true, Token: testToken}, ""},
		{"users", Config{Redis: r, DLQ: store, ReadOnly: true, Users: map[string]string{"bob": hash}}, ""},
		{"short token", Config{Redis: r, DLQ: store, ReadOnly: true, Token: "short"}, "at least 16 characters"},
		{"not a bcrypt hash", Config{Redis: r, DLQ: store, ReadOnly: true, Users: map[string]string{"bob": "plaintext-pw"}}, `user "bob": the password hash is not a bcrypt hash`},
		{"no redis", Config{DLQ: store, ReadOnly: true, Token: testToken}, "Redis is required"},
		{"no store", Config{Redis: r, ReadOnly: true, Token: testToken}, "DLQ"},
		{"no requeue", Config{Redis: r, DLQ: store, Token: testToken}, "Requeue is required unless ReadOnly"},
		{"short session key", Config{Redis: r, DLQ: store, ReadOnly: true, Token: testToken, SessionKey: []byte("k")}, "SessionKey must be at least 32 bytes"},
		{"bad page size", Config{Redis: r, DLQ: store, ReadOnly: true, Token: testToken, PageSize: 5000}, "PageSize"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			d, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				d.Close()
				return
			}
			if err == nil {
				d.Close()
				t.Fatalf("New succeeded, want an error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "plaintext-pw") {
				t.Error("the error echoes the password hash")
			}
		})
	}
	if _, err := New(Config{Redis: r, DLQ: store, ReadOnly: true}); !errors.Is(err, ErrNoAuth) {
		t.Errorf("no auth: %v does not wrap ErrNoAuth", err)
	}
}

func TestInsecureNoAuth(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) { c.Token, c.Users, c.InsecureNoAuth = "", nil, true })
	id := b.add(nil)
	c := b.client()
	resp, page := b.do(c, http.MethodGet, "/dlq/"+id, nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "anonymous") {
		t.Error("the page does not say who is browsing")
	}
	// Credentials that do not check out change nothing.
	if resp, _ := b.do(nil, http.MethodGet, "/api/dlq", nil, map[string]string{"Authorization": "Bearer stale"}); resp.StatusCode != http.StatusOK {
		t.Errorf("a stale token without auth = %d, want 200", resp.StatusCode)
	}
	// Forms still need the CSRF token bound to the CSRF cookie.
	_, page = b.do(c, http.MethodGet, "/dlq/purge?id="+id, nil, nil)
	v := confirmForm(t, page)
	v.Set(csrfField, "forged")
	if resp, _ := b.do(c, http.MethodPost, "/dlq/purge", strings.NewReader(v.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("forged CSRF token = %d, want 403", resp.StatusCode)
	}
	v = confirmForm(t, page)
	if resp, _ := b.do(c, http.MethodPost, "/dlq/purge", strings.NewReader(v.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}); resp.StatusCode != http.StatusOK {
		t.Errorf("purge with the page's token = %d, want 200", resp.StatusCode)
	}
}
