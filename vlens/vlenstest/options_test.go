package vlenstest

import (
	"strings"
	"testing"
	"time"

	"github.com/vlensq/vlensq/vlens"
)

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	good := vlens.Tenant{Name: "t1", APIKey: "k1", Username: "u", Password: "p"}
	tests := []struct {
		desc string
		opts Options
		want string // "" for valid
	}{
		{"zero", Options{}, ""},
		{"tenants", Options{Tenants: []vlens.Tenant{good, {Name: "t2", APIKey: "k2", Username: "u", Password: "p"}}}, ""},
		{"negative TTL", Options{AccessTTL: -time.Second}, "AccessTTL"},
		{"negative refresh TTL", Options{RefreshTTL: -time.Second}, "RefreshTTL"},
		{"negative OTP TTL", Options{OTPTTL: -1}, "OTPTTL"},
		{"negative record limit", Options{RecordLimit: -1}, "RecordLimit"},
		{"negative state limit", Options{StateLimit: -1}, "StateLimit"},
		{"negative body limit", Options{MaxBodyBytes: -1}, "MaxBodyBytes"},
		{"padded OTP", Options{OTPCode: " 1234"}, "OTPCode"},
		{"tenant without name", Options{Tenants: []vlens.Tenant{{APIKey: "k"}}}, "Tenants[0]: tenancy_name is required"},
		{"tenant without key", Options{Tenants: []vlens.Tenant{{Name: "x"}}}, "api_key is required"},
		{"tenant without password", Options{Tenants: []vlens.Tenant{{Name: "x", APIKey: "k", Username: "u"}}}, "password is required"},
		{"duplicate name", Options{Tenants: []vlens.Tenant{good, {Name: "T1", APIKey: "k2", Username: "u", Password: "p"}}}, "Tenants[1]: tenancy name \"T1\" repeats Tenants[0]"},
		{"duplicate key", Options{Tenants: []vlens.Tenant{good, {Name: "t2", APIKey: "k1", Username: "u", Password: "p"}}}, "api key repeats"},
		{"bad faults", Options{Faults: Faults{Reset: 2}}, "Faults"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			err := tc.opts.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "k1") {
				t.Fatalf("error %q shows an API key", err)
			}
		})
	}
}

func TestOptionsDefaults(t *testing.T) {
	t.Parallel()
	o := Options{}.withDefaults()
	if o.AccessTTL != AccessTTLDefault || o.RefreshTTL != RefreshTTLDefault || o.OTPCode != OTPCodeDefault ||
		o.OTPTTL != OTPTTLDefault || o.RecordLimit != RecordLimitDefault || o.StateLimit != StateLimitDefault || o.MaxBodyBytes != MaxBodyBytesDefault || o.Now == nil {
		t.Fatalf("defaults not applied: %+v", o)
	}
	if AccessTTLDefault != 86400*time.Second || RefreshTTLDefault != 604800*time.Second {
		t.Fatal("token lifetimes differ from Vlens's")
	}
}

func TestNewPanicsOnInvalidOptions(t *testing.T) {
	t.Parallel()
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(error).Error(), "AccessTTL") {
			t.Fatalf("recovered %v, want the validation error", r)
		}
	}()
	New(Options{AccessTTL: -1})
}

func TestAddTenant(t *testing.T) {
	t.Parallel()
	b := setup(t)
	late := vlens.Tenant{Name: "late-co", APIKey: "late-key-1", Username: "root", Password: "pw"}
	b.srv.AddTenant(late)
	b.a = late
	access, _ := b.tenantLogin(t)
	wantSuccess(t, b.post(t, pathOCRFront, access, frontBody(nil)))

	// Replacing the tenant rotates its key: the old key stops working,
	// tokens stay valid.
	late.APIKey = "late-key-2"
	b.srv.AddTenant(late)
	wantFailure(t, b.post(t, pathOCRFront, access, frontBody(nil)), 401, nil, "ApiKey header missing or invalid")
	b.a = late
	wantSuccess(t, b.post(t, pathOCRFront, access, frontBody(nil)))

	for _, bad := range []vlens.Tenant{{Name: "x"}, {Name: "y", APIKey: tenantA.APIKey, Username: "u", Password: "p"}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("AddTenant(%s) did not panic", bad.Name)
				}
			}()
			b.srv.AddTenant(bad)
		}()
	}
}
