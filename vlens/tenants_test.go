package vlens

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func validTenant(name string) Tenant {
	return Tenant{Name: name, APIKey: "key-" + name, Username: "admin", Password: "pw-" + name}
}

func TestNewTenantSet(t *testing.T) {
	t.Parallel()

	tests := []struct {
		desc    string
		tenants []Tenant
		wantErr string // substring; "" means valid
		index   int
		field   string
	}{
		{desc: "valid", tenants: []Tenant{validTenant("a"), validTenant("b")}},
		{desc: "empty set", tenants: nil},
		{desc: "missing name", tenants: []Tenant{validTenant("a"), {APIKey: "k", Username: "u", Password: "p"}},
			wantErr: "entry 1: tenancy_name is required", index: 1, field: "tenancy_name"},
		{desc: "missing api key", tenants: []Tenant{{Name: "acme", Username: "u", Password: "p"}},
			wantErr: "entry 0 (acme): api_key is required", index: 0, field: "api_key"},
		{desc: "missing username", tenants: []Tenant{{Name: "acme", APIKey: "k", Password: "p"}},
			wantErr: "username is required", field: "username"},
		{desc: "missing password", tenants: []Tenant{{Name: "acme", APIKey: "k", Username: "u"}},
			wantErr: "password is required", field: "password"},
		{desc: "duplicate", tenants: []Tenant{validTenant("a"), validTenant("b"), validTenant("a")},
			wantErr: "entry 2 (a): tenancy_name duplicates entry 0", index: 2, field: "tenancy_name"},
		{desc: "duplicate in another case", tenants: []Tenant{validTenant("acme"), validTenant("ACME")},
			wantErr: "entry 1 (ACME): tenancy_name duplicates entry 0", index: 1, field: "tenancy_name"},
		{desc: "negative per second", tenants: []Tenant{func() Tenant { x := validTenant("a"); x.RatePerSecond = -1; return x }()},
			wantErr: "rate_per_second must not be negative", field: "rate_per_second"},
		{desc: "negative per minute", tenants: []Tenant{func() Tenant { x := validTenant("a"); x.RatePerMinute = -5; return x }()},
			wantErr: "rate_per_minute must not be negative", field: "rate_per_minute"},
		{desc: "colon in name", tenants: []Tenant{validTenant("a:b")},
			wantErr: "must not contain", field: "tenancy_name"},
		{desc: "space in name", tenants: []Tenant{validTenant("a b")},
			wantErr: "must not contain", field: "tenancy_name"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			s, err := NewTenantSet(tt.tenants...)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("NewTenantSet: %v", err)
				}
				if s.Len() != len(tt.tenants) {
					t.Fatalf("Len = %d, want %d", s.Len(), len(tt.tenants))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			var ce *TenantConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err %T is not a *TenantConfigError", err)
			}
			if ce.Index != tt.index || ce.Field != tt.field {
				t.Errorf("index, field = %d, %q; want %d, %q", ce.Index, ce.Field, tt.index, tt.field)
			}
			for _, tn := range tt.tenants {
				for _, secret := range []string{tn.APIKey, tn.Password} {
					if len(secret) > 3 && strings.Contains(err.Error(), secret) {
						t.Errorf("error %q leaks a secret", err)
					}
				}
			}
		})
	}
}

func TestTenantSetLookup(t *testing.T) {
	t.Parallel()
	s, err := NewTenantSet(validTenant("zeta"), validTenant("alpha"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"zeta", "alpha"}, s.Names()); diff != "" {
		t.Errorf("Names (-want +got):\n%s", diff)
	}
	got, ok := s.Tenant("alpha")
	if !ok || got.APIKey != "key-alpha" {
		t.Errorf("Tenant(alpha) = %v, %v", got, ok)
	}
	if _, ok := s.Tenant("nope"); ok {
		t.Error("Tenant(nope) found")
	}
	names := s.Names()
	names[0] = "changed"
	if s.Names()[0] != "zeta" {
		t.Error("Names returned the internal slice")
	}
}

func TestLoadTenants(t *testing.T) {
	t.Parallel()

	tests := []struct {
		desc    string
		content string
		wantErr string // substrings joined by |; "" means valid
		names   []string
	}{
		{desc: "valid",
			content: `[{"tenancy_name":"acme","api_key":"k1","username":"u","password":"p","rate_per_second":5,"rate_per_minute":30},
			           {"tenancy_name":"globex","api_key":"k2","username":"u","password":"p"}]`,
			names: []string{"acme", "globex"}},
		{desc: "empty file", content: "  \n", wantErr: "is empty"},
		{desc: "object not list", content: `{"tenancy_name":"acme"}`, wantErr: "must be a JSON list"},
		{desc: "empty list", content: `[]`, wantErr: "lists no tenants"},
		{desc: "syntax error", content: "[\n  {\"tenancy_name\": \"acme\",,}\n]", wantErr: "invalid JSON at line 2 column"},
		{desc: "entry not object", content: `[{"tenancy_name":"acme","api_key":"k","username":"u","password":"p"}, 7]`,
			wantErr: "entry 1: must be a JSON object"},
		{desc: "unknown field", content: `[{"tenancy_name":"acme","apikey":"sekret-canary","username":"u","password":"p"}]`,
			wantErr: `entry 0 (acme): has unknown field "apikey"`},
		{desc: "wrong type", content: `[{"tenancy_name":"acme","api_key":"k","username":"u","password":"p","rate_per_second":"ten"}]`,
			wantErr: "entry 0 (acme): rate_per_second must be a int, not a string"},
		{desc: "missing field", content: `[{"tenancy_name":"acme","api_key":"k","username":"u","password":"p"},{"tenancy_name":"b","api_key":"k","password":"p"}]`,
			wantErr: "entry 1 (b): username is required"},
		{desc: "duplicate", content: `[{"tenancy_name":"acme","api_key":"k","username":"u","password":"p"},{"tenancy_name":"acme","api_key":"k","username":"u","password":"p"}]`,
			wantErr: "entry 1 (acme): tenancy_name duplicates entry 0"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "tenants.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := LoadTenants(path)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("LoadTenants: %v", err)
				}
				if diff := cmp.Diff(tt.names, s.Names()); diff != "" {
					t.Errorf("Names (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil {
				t.Fatalf("LoadTenants succeeded, want error containing %q", tt.wantErr)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, path+": ") || !strings.Contains(msg, tt.wantErr) {
				t.Errorf("err = %q, want it to start with the file name and contain %q", msg, tt.wantErr)
			}
			if strings.Contains(msg, "sekret-canary") {
				t.Errorf("err %q leaks a field value", msg)
			}
		})
	}

	t.Run("rates kept", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "tenants.json")
		content := `[{"tenancy_name":"acme","api_key":"k1","username":"u","password":"p","rate_per_second":5,"rate_per_minute":30}]`
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := LoadTenants(path)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := s.Tenant("acme")
		want := Tenant{Name: "acme", APIKey: "k1", Username: "u", Password: "p", RatePerSecond: 5, RatePerMinute: 30}
		if got != want {
			t.Errorf("tenant = %#v, want the file's values", got)
		}
	})

	t.Run("missing file", func(t *testing.T) {
		t.Parallel()
		_, err := LoadTenants(filepath.Join(t.TempDir(), "absent.json"))
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("err = %v, want os.ErrNotExist", err)
		}
		if _, err := LoadTenants(""); err == nil {
			t.Error("LoadTenants(\"\") succeeded")
		}
	})
}

// Secrets may come from files (a mounted Kubernetes or Docker secret) or
// the environment; a reference that cannot be resolved names the entry and
// the field, never a value.
func TestLoadTenantsSecretReferences(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("acme.key", "CANARY-KEY-FROM-FILE\n")
	abs := write("acme.pw", "  CANARY-PW-FROM-FILE \n")
	write("empty.key", "\n")
	t.Setenv("VLENSQ_TEST_ACME_USER", "admin-from-env")
	t.Setenv("VLENSQ_TEST_GLOBEX_KEY", "CANARY-KEY-FROM-ENV")
	t.Setenv("VLENSQ_TEST_EMPTY", "")

	path := write("tenants.json", `[
	  {"tenancy_name":"acme","api_key_file":"acme.key","username":"${VLENSQ_TEST_ACME_USER}","password_file":"`+abs+`","weight":2},
	  {"tenancy_name":"globex","api_key":"${VLENSQ_TEST_GLOBEX_KEY}","username":"u","password":"plain"}]`)
	s, err := LoadTenants(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := must(s.Tenant("acme")), (Tenant{Name: "acme", APIKey: "CANARY-KEY-FROM-FILE", Username: "admin-from-env", Password: "CANARY-PW-FROM-FILE", Weight: 2}); got != want {
		t.Errorf("acme = %+v (secrets not shown by %%v)", got.Public())
	}
	if got := must(s.Tenant("globex")); got.APIKey != "CANARY-KEY-FROM-ENV" || got.Password != "plain" {
		t.Errorf("globex secrets not resolved")
	}

	tests := []struct {
		desc, entry string
		field, want string
	}{
		{"missing key file", `{"tenancy_name":"acme","api_key_file":"absent.key","username":"u","password":"p"}`,
			"api_key_file", "entry 0 (acme): api_key_file cannot read " + filepath.Join(dir, "absent.key") + ": no such file or directory"},
		{"missing password file", `{"tenancy_name":"acme","api_key":"k","username":"u","password_file":"/nonexistent/pw"}`,
			"password_file", "entry 0 (acme): password_file cannot read /nonexistent/pw: no such file or directory"},
		{"empty key file", `{"tenancy_name":"acme","api_key_file":"empty.key","username":"u","password":"p"}`,
			"api_key_file", "empty.key is empty"},
		{"unset env", `{"tenancy_name":"acme","api_key":"k","username":"u","password":"${VLENSQ_TEST_UNSET_VAR}"}`,
			"password", "entry 0 (acme): password refers to environment variable VLENSQ_TEST_UNSET_VAR, which is not set"},
		{"empty env", `{"tenancy_name":"acme","api_key":"${VLENSQ_TEST_EMPTY}","username":"u","password":"p"}`,
			"api_key", "environment variable VLENSQ_TEST_EMPTY, which is empty"},
		{"both value and file", `{"tenancy_name":"acme","api_key":"CANARY-INLINE","api_key_file":"acme.key","username":"u","password":"p"}`,
			"api_key", "api_key and api_key_file are both set; give one"},
		{"no key at all", `{"tenancy_name":"acme","username":"u","password":"p"}`,
			"api_key", "api_key is required"},
		{"negative weight", `{"tenancy_name":"acme","api_key":"k","username":"u","password":"p","weight":-1}`,
			"weight", "weight must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			p := write("t-"+strings.ReplaceAll(tt.desc, " ", "-")+".json", "["+tt.entry+"]")
			_, err := LoadTenants(p)
			var ce *TenantConfigError
			if !errors.As(err, &ce) || ce.Field != tt.field || ce.Index != 0 || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a *TenantConfigError on %s containing %q", err, tt.field, tt.want)
			}
			if strings.Contains(err.Error(), "CANARY") {
				t.Errorf("err %q leaks a secret", err)
			}
		})
	}
}

// A process that must not know secrets reads the same file without them:
// secret fields may be absent, and references are never resolved (a secret
// file that does not exist is not an error, because it is never opened).
func TestLoadPublicTenants(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tenants.json")
	content := `[{"tenancy_name":"acme","rate_per_second":5,"weight":3},
	  {"tenancy_name":"globex","api_key_file":"/nonexistent/key","username":"${VLENSQ_TEST_NEVER_SET}","password_file":"/nonexistent/pw"},
	  {"tenancy_name":"initech","api_key":"CANARY-INLINE","username":"u","password":"CANARY-PW"}]`
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := LoadPublicTenants(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"acme", "globex", "initech"}, s.Names()); d != "" {
		t.Error(d)
	}
	if got := must(s.Tenant("acme")); got != (Tenant{Name: "acme", RatePerSecond: 5, Weight: 3}) {
		t.Errorf("acme = %+v", got)
	}
	if got := must(s.Tenant("initech")); got.HasSecrets() || got.APIKey != "" || got.Password != "" {
		t.Error("a public tenant set kept a secret")
	}
	// Names and limits are still checked.
	if err := os.WriteFile(path, []byte(`[{"tenancy_name":"a b"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPublicTenants(path); err == nil || !strings.Contains(err.Error(), "tenancy_name") {
		t.Errorf("bad name: err = %v", err)
	}
	// The full loader still needs the secrets.
	if err := os.WriteFile(path, []byte(`[{"tenancy_name":"acme"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadTenants(path); err == nil || !strings.Contains(err.Error(), "api_key is required") {
		t.Error("LoadTenants accepted a file without secrets")
	}
}

func must(t Tenant, ok bool) Tenant {
	if !ok {
		panic("tenant not found")
	}
	return t
}
