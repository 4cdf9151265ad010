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
	// Weight is the tenant's share of the worker slots when several tenants
	// have work and the fleet is overloaded. Zero means WeightDefault (1).
	Weight int `json:"weight,omitempty"`
}

// Default per-tenant rate limits, from the Vlens documentation, and the
// default fairness weight.
const (
	RatePerSecondDefault = 10
	RatePerMinuteDefault = 60
	WeightDefault        = 1
)

// Public is t without its secrets (api_key, username, password): what a
// process that does not call Vlens may know of a tenant (its name, limits
// and weight). The tenants registry holds only this.
func (t Tenant) Public() Tenant {
	return Tenant{Name: t.Name, RatePerSecond: t.RatePerSecond, RatePerMinute: t.RatePerMinute, Weight: t.Weight}
}

// HasSecrets reports whether t carries the credentials a Vlens call needs.
func (t Tenant) HasSecrets() bool { return t.APIKey != "" && t.Username != "" && t.Password != "" }

// String never prints secrets.
func (t Tenant) String() string { return "tenant(" + t.Name + ")" }

// GoString never prints secrets, even with %#v.
func (t Tenant) GoString() string { return t.String() }
