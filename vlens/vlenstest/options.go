package vlenstest

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vlensq/vlensq/vlens"
)

// Defaults of Options. The token lifetimes are the ones Vlens announces in
// expireInSeconds and refreshTokenExpireInSeconds.
const (
	AccessTTLDefault    = 86400 * time.Second
	RefreshTTLDefault   = 604800 * time.Second
	OTPCodeDefault      = "123456"
	OTPTTLDefault       = 5 * time.Minute
	RecordLimitDefault  = 100_000
	StateLimitDefault   = 100_000
	MaxBodyBytesDefault = 32 << 20
)

// Options configures a Fake. The zero value is usable: a fake with no tenants
// (add them with AddTenant) and no faults.
type Options struct {
	// Tenants are the accepted tenants (Name, APIKey, Username, Password).
	// Names and API keys must be unique. Default: none.
	Tenants []vlens.Tenant
	// AccessTTL is the access token lifetime. Default AccessTTLDefault (86400 s).
	AccessTTL time.Duration
	// RefreshTTL is the refresh token lifetime. Default RefreshTTLDefault
	// (604800 s).
	RefreshTTL time.Duration
	// Faults are injected at random into requests that carry no scenario.
	// Default: none. See ParseFaults.
	Faults Faults
	// OTPCode is the only code StepValidateOtp accepts. Default OTPCodeDefault
	// ("123456").
	OTPCode string
	// OTPTTL is how long an OTP request from StepRequestOtp stays valid.
	// Default OTPTTLDefault (5 min).
	OTPTTL time.Duration
	// ManualApproval keeps created business requests in status 1 (Pending
	// Approval) until SetBusinessRequestStatus moves them, as a real tenant
	// portal would. Default false: a created request is approved (status 2) at
	// once, so the signing steps can follow.
	ManualApproval bool
	// RecordLimit bounds Requests() and Injections(): only the newest
	// RecordLimit entries of each are kept. Default RecordLimitDefault (100000).
	RecordLimit int
	// StateLimit bounds each kind of state kept between calls (transactions,
	// business requests, OTP requests, OTP counts per request, scenario
	// counters): past it the oldest entries are forgotten, as if they had
	// expired, so a long load test runs in bounded memory. Default
	// StateLimitDefault (100000).
	StateLimit int
	// MaxBodyBytes bounds a request body; a larger one gets HTTP 413.
	// Default MaxBodyBytesDefault (32 MiB, room for the 5 MB image check).
	MaxBodyBytes int64
	// Now is the clock for token and OTP expiry and for records. Default
	// time.Now. Delays and latencies always use real time.
	Now func() time.Time
	// Seed seeds the random source of fault injection when Faults.Seed is 0.
	// Default 0: seeded from the time.
	Seed int64
}

// Validate reports the first problem with o, naming the field.
func (o Options) Validate() error {
	switch {
	case o.AccessTTL < 0:
		return errors.New("vlenstest: AccessTTL must not be negative")
	case o.RefreshTTL < 0:
		return errors.New("vlenstest: RefreshTTL must not be negative")
	case o.OTPTTL < 0:
		return errors.New("vlenstest: OTPTTL must not be negative")
	case o.RecordLimit < 0:
		return errors.New("vlenstest: RecordLimit must not be negative")
	case o.StateLimit < 0:
		return errors.New("vlenstest: StateLimit must not be negative")
	case o.MaxBodyBytes < 0:
		return errors.New("vlenstest: MaxBodyBytes must not be negative")
	}
	if o.OTPCode != "" && strings.TrimSpace(o.OTPCode) != o.OTPCode {
		return errors.New("vlenstest: OTPCode must not have surrounding spaces")
	}
	names := map[string]int{}
	keys := map[string]int{}
	for i, t := range o.Tenants {
		if err := validateTenant(t); err != nil {
			return fmt.Errorf("vlenstest: Tenants[%d]: %w", i, err)
		}
		n := strings.ToLower(t.Name)
		if j, dup := names[n]; dup {
			return fmt.Errorf("vlenstest: Tenants[%d]: tenancy name %q repeats Tenants[%d]", i, t.Name, j)
		}
		if j, dup := keys[t.APIKey]; dup {
			return fmt.Errorf("vlenstest: Tenants[%d] (%s): api key repeats Tenants[%d]", i, t.Name, j)
		}
		names[n], keys[t.APIKey] = i, i
	}
	if err := o.Faults.Validate(); err != nil {
		return fmt.Errorf("vlenstest: Faults: %w", err)
	}
	return nil
}

func validateTenant(t vlens.Tenant) error {
	switch {
	case strings.TrimSpace(t.Name) == "":
		return errors.New("tenancy_name is required")
	case t.APIKey == "":
		return fmt.Errorf("tenant %s: api_key is required", t.Name)
	case t.Username == "":
		return fmt.Errorf("tenant %s: username is required", t.Name)
	case t.Password == "":
		return fmt.Errorf("tenant %s: password is required", t.Name)
	}
	return nil
}

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults() Options {
	o.AccessTTL = cmp.Or(o.AccessTTL, AccessTTLDefault)
	o.RefreshTTL = cmp.Or(o.RefreshTTL, RefreshTTLDefault)
	o.OTPCode = cmp.Or(o.OTPCode, OTPCodeDefault)
	o.OTPTTL = cmp.Or(o.OTPTTL, OTPTTLDefault)
	o.RecordLimit = cmp.Or(o.RecordLimit, RecordLimitDefault)
	o.StateLimit = cmp.Or(o.StateLimit, StateLimitDefault)
	o.MaxBodyBytes = cmp.Or(o.MaxBodyBytes, MaxBodyBytesDefault)
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}
