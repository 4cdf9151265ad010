package vlens

// Tenant is one Vlens tenant as configured in the tenants file
// (VLENSQ_TENANTS). One ApiKey and its tokens belong to one tenant; a worker
// serves many tenants.
type Tenant struct {
	// Name is the Vlens tenancy name, sent as the TenancyName header.
	Name string `json:"tenancy_name"`
	// APIKey is sent as the ApiKey header on every call. Secret.
	APIKey string `json:"api_key"`
	// Username and Password log in for the tenant (admin) token. Secret.
	Username string `json:"username"`
	Password string `json:"password"`
	// RatePerSecond and RatePerMinute bound the calls made for this tenant
	// across all worker processes. Zero means the defaults
	// (RatePerSecondDefault, RatePerMinuteDefault).
	RatePerSecond int `json:"rate_per_second,omitempty"`
	RatePerMinute int `json:"rate_per_minute,omitempty"`
	// Weight is the tenant's share of free worker slots when the fleet is
	// overloaded, relative to the other tenants with work (see package
	// tenancy). Zero means WeightDefault (1).
	Weight int `json:"weight,omitempty"`
}

// WeightDefault is the weight of a tenant that sets none.
const WeightDefault = 1

// Default per-tenant rate limits, from the Vlens documentation.
const (
	RatePerSecondDefault = 10
	RatePerMinuteDefault = 60
)

// String never prints secrets.
func (t Tenant) String() string { return "tenant(" + t.Name + ")" }

// GoString never prints secrets, even with %#v.
func (t Tenant) GoString() string { return t.String() }
