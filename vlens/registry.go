package vlens

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// The tenants registry lets processes that must not hold Vlens secrets
// (enqueue, session put, the dashboard's and dlq's requeue) know which
// tenants exist. Workers publish the public part of their tenants file
// (name, rate limits, weight; never api_key, username or password) to a
// Redis hash, one field per tenant, and refresh it; readers cache it.
const (
	// RegistryKeyDefault is the Redis hash of the registry: field the
	// tenancy name, value {"tenancy_name","rate_per_second",
	// "rate_per_minute","weight","published_at"}.
	RegistryKeyDefault = "vlensq:tenants:registry"
	// RegistryCacheTTLDefault is how long a reader trusts its copy.
	RegistryCacheTTLDefault = 10 * time.Second
	// RegistryRefreshDefault is how often a worker publishes again.
	RegistryRefreshDefault = time.Minute
	// RegistryStaleAfterDefault is how long a tenant stays in the registry
	// after the last worker that had it stopped publishing it (it was
	// removed from every tenants file). Entries are only removed by a
	// publishing worker, so the registry survives while no worker runs.
	RegistryStaleAfterDefault = 10 * time.Minute
)

// registryMissReload bounds reloads on a name the cache does not know, so
// a tenant published a moment ago is found without hammering Redis with
// unknown names.
const registryMissReload = time.Second

// RegistryConfig configures a TenantRegistry. Zero values take the defaults.
type RegistryConfig struct {
	// Key is the Redis hash. Default RegistryKeyDefault.
	Key string
	// CacheTTL is how long a reader uses its copy before reading Redis
	// again. Default RegistryCacheTTLDefault.
	CacheTTL time.Duration
	// StaleAfter is how long a tenant no worker publishes any more stays.
	// Default RegistryStaleAfterDefault.
	StaleAfter time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// TenantRegistry reads and writes the tenants registry. As a
// [TenantSource] it answers from a cached copy, refreshed every CacheTTL
// (and at most once a second on an unknown name); its tenants never carry
// secrets. It is safe for concurrent use.
type TenantRegistry struct {
	rdb redis.UniversalClient
	cfg RegistryConfig

	mu     sync.Mutex
	byName map[string]Tenant
	loaded time.Time
	err    error
}

var _ TenantSource = (*TenantRegistry)(nil)

// NewTenantRegistry returns the registry in rdb.
func NewTenantRegistry(rdb redis.UniversalClient, cfg RegistryConfig) *TenantRegistry {
	cfg.Key = cmp.Or(cfg.Key, RegistryKeyDefault)
	cfg.CacheTTL = cmp.Or(cfg.CacheTTL, RegistryCacheTTLDefault)
	cfg.StaleAfter = cmp.Or(cfg.StaleAfter, RegistryStaleAfterDefault)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &TenantRegistry{rdb: rdb, cfg: cfg}
}

// registryEntry is one tenant as the registry stores it: no secret fields
// exist to fill.
type registryEntry struct {
	Name          string    `json:"tenancy_name"`
	RatePerSecond int       `json:"rate_per_second,omitempty"`
	RatePerMinute int       `json:"rate_per_minute,omitempty"`
	Weight        int       `json:"weight,omitempty"`
	PublishedAt   time.Time `json:"published_at"`
}

// Publish writes the public part of ts to the registry and drops tenants
// that no worker has published for StaleAfter.
func (r *TenantRegistry) Publish(ctx context.Context, ts *TenantSet) error {
	now := r.cfg.Now().UTC()
	values := make([]any, 0, 2*ts.Len())
	mine := make(map[string]bool, ts.Len())
	for _, name := range ts.Names() {
		t, _ := ts.Tenant(name)
		b, err := json.Marshal(registryEntry{Name: t.Name, RatePerSecond: t.RatePerSecond, RatePerMinute: t.RatePerMinute, Weight: t.Weight, PublishedAt: now})
		if err != nil {
			return err
		}
		values = append(values, name, b)
		mine[name] = true
	}
	if len(values) > 0 {
		if err := r.rdb.HSet(ctx, r.cfg.Key, values...).Err(); err != nil {
			return fmt.Errorf("vlens: publish tenants registry: %w", err)
		}
	}
	all, err := r.rdb.HGetAll(ctx, r.cfg.Key).Result()
	if err != nil {
		return fmt.Errorf("vlens: read tenants registry: %w", err)
	}
	var stale []string
	for name, raw := range all {
		var e registryEntry
		if mine[name] {
			continue
		}
		if json.Unmarshal([]byte(raw), &e) != nil || now.Sub(e.PublishedAt) > r.cfg.StaleAfter {
			stale = append(stale, name)
		}
	}
	if len(stale) > 0 {
		if err := r.rdb.HDel(ctx, r.cfg.Key, stale...).Err(); err != nil {
			return fmt.Errorf("vlens: trim tenants registry: %w", err)
		}
	}
	return nil
}

// KeepPublished publishes ts every interval (RegistryRefreshDefault when
// zero) until ctx ends, so the registry outlives a Redis restart or flush.
// Failures go to onErr (which may be nil); the next round tries again.
func (r *TenantRegistry) KeepPublished(ctx context.Context, ts *TenantSet, interval time.Duration, onErr func(error)) {
	t := time.NewTicker(cmp.Or(interval, RegistryRefreshDefault))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := r.Publish(ctx, ts); err != nil && onErr != nil && ctx.Err() == nil {
			onErr(err)
		}
	}
}

// Load reads the registry from Redis into the cache now.
func (r *TenantRegistry) Load(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.loadLocked(ctx)
}

func (r *TenantRegistry) loadLocked(ctx context.Context) error {
	r.loaded = r.cfg.Now()
	all, err := r.rdb.HGetAll(ctx, r.cfg.Key).Result()
	if err != nil {
		// Keep the last good copy; callers see the error through Err.
		r.err = fmt.Errorf("vlens: read tenants registry %s: %w", r.cfg.Key, err)
		return r.err
	}
	byName := make(map[string]Tenant, len(all))
	for name, raw := range all {
		var e registryEntry
		if json.Unmarshal([]byte(raw), &e) != nil || e.Name != name {
			continue
		}
		byName[name] = Tenant{Name: e.Name, RatePerSecond: e.RatePerSecond, RatePerMinute: e.RatePerMinute, Weight: e.Weight}
	}
	r.byName, r.err = byName, nil
	return nil
}

// Tenant returns the tenant called name, without secrets.
func (r *TenantRegistry) Tenant(name string) (Tenant, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	age := r.cfg.Now().Sub(r.loaded)
	t, ok := r.byName[name]
	if age >= r.cfg.CacheTTL || (!ok && age >= registryMissReload) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = r.loadLocked(ctx)
		cancel()
		t, ok = r.byName[name]
	}
	return t, ok
}

// Names returns the tenancy names of the cached copy, sorted (loading it
// first if it never was).
func (r *TenantRegistry) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.loaded.IsZero() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = r.loadLocked(ctx)
		cancel()
	}
	names := make([]string, 0, len(r.byName))
	for n := range r.byName {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Err is the error of the last read of the registry, nil when it worked.
func (r *TenantRegistry) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}
