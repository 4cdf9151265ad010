package vlens_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vlensq/vlensq/internal/redistest"
	"github.com/vlensq/vlensq/vlens"
)

var registrySeq atomic.Int64

// manualClock is a clock a test moves by hand.
type manualClock struct{ now atomic.Int64 }

func (c *manualClock) Now() time.Time          { return time.Unix(0, c.now.Load()) }
func (c *manualClock) Advance(d time.Duration) { c.now.Add(int64(d)) }

func registryKey(t *testing.T) string {
	return fmt.Sprintf("test:registry:%s:%d", t.Name(), registrySeq.Add(1))
}

// A worker publishes names, limits and weight; a reader sees them, and no
// secret reaches Redis.
func TestTenantRegistryPublishesNoSecrets(t *testing.T) {
	t.Parallel()
	rdb := redistest.Client(t, redistest.DBVlens)
	key := registryKey(t)
	ts, err := vlens.NewTenantSet(
		vlens.Tenant{Name: "bank", APIKey: "CANARY-KEY", Username: "CANARY-USER", Password: "CANARY-PW", RatePerSecond: 5, RatePerMinute: 30, Weight: 3},
		vlens.Tenant{Name: "telco", APIKey: "CANARY-KEY2", Username: "admin", Password: "CANARY-PW2"},
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := vlens.NewTenantRegistry(rdb, vlens.RegistryConfig{Key: key}).Publish(context.Background(), ts); err != nil {
		t.Fatal(err)
	}
	raw, err := rdb.HGetAll(context.Background(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range raw {
		if strings.Contains(v, "CANARY") {
			t.Errorf("registry entry %s holds a secret: %s", name, v)
		}
	}

	reader := vlens.NewTenantRegistry(rdb, vlens.RegistryConfig{Key: key})
	got, ok := reader.Tenant("bank")
	if want := (vlens.Tenant{Name: "bank", RatePerSecond: 5, RatePerMinute: 30, Weight: 3}); !ok || got != want {
		t.Errorf("Tenant(bank) = %+v, %v; want %+v", got, ok, want)
	}
	if _, ok := reader.Tenant("nobody"); ok {
		t.Error("an unpublished tenant is known")
	}
	if d := cmp.Diff([]string{"bank", "telco"}, reader.Names()); d != "" {
		t.Errorf("Names (-want +got):\n%s", d)
	}
}

// The cache is refreshed after CacheTTL; a tenant no worker publishes any
// more leaves after StaleAfter, and only when a worker publishes.
func TestTenantRegistryRefreshAndStale(t *testing.T) {
	t.Parallel()
	rdb := redistest.Client(t, redistest.DBVlens)
	key := registryKey(t)
	clock := &manualClock{}
	clock.now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	cfg := vlens.RegistryConfig{Key: key, CacheTTL: 10 * time.Second, StaleAfter: time.Minute, Now: clock.Now}
	ctx := context.Background()
	one, _ := vlens.NewTenantSet(vlens.Tenant{Name: "a", APIKey: "k", Username: "u", Password: "p"})
	two, _ := vlens.NewTenantSet(vlens.Tenant{Name: "b", APIKey: "k", Username: "u", Password: "p", Weight: 2})
	reg := vlens.NewTenantRegistry(rdb, cfg)
	if err := reg.Publish(ctx, one); err != nil {
		t.Fatal(err)
	}
	reader := vlens.NewTenantRegistry(rdb, cfg)
	if _, ok := reader.Tenant("a"); !ok {
		t.Fatal("a not found")
	}
	// Another worker with another tenants file adds b; a stays (union).
	if err := reg.Publish(ctx, two); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Second) // an unknown name reloads after a second
	if got, ok := reader.Tenant("b"); !ok || got.Weight != 2 {
		t.Fatalf("Tenant(b) = %+v, %v", got, ok)
	}
	// Nobody publishes a for longer than StaleAfter: the next publish drops it.
	clock.Advance(2 * time.Minute)
	if err := reg.Publish(ctx, two); err != nil {
		t.Fatal(err)
	}
	if _, ok := reader.Tenant("a"); ok {
		t.Error("a is still known after it went stale")
	}
	if d := cmp.Diff([]string{"b"}, reader.Names()); d != "" {
		t.Errorf("Names (-want +got):\n%s", d)
	}
	// Within CacheTTL the copy answers without Redis; after it, Redis.
	if err := rdb.HDel(ctx, key, "b").Err(); err != nil {
		t.Fatal(err)
	}
	if _, ok := reader.Tenant("b"); !ok {
		t.Fatal("the cached copy forgot b before its TTL")
	}
	clock.Advance(11 * time.Second)
	if _, ok := reader.Tenant("b"); ok {
		t.Error("b is still known after the cache expired")
	}
}

// KeepPublished restores the registry after it is lost (a Redis flush).
func TestTenantRegistryKeepPublished(t *testing.T) {
	t.Parallel()
	rdb := redistest.Client(t, redistest.DBVlens)
	key := registryKey(t)
	ts, _ := vlens.NewTenantSet(vlens.Tenant{Name: "a", APIKey: "k", Username: "u", Password: "p"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go vlens.NewTenantRegistry(rdb, vlens.RegistryConfig{Key: key}).KeepPublished(ctx, ts, 20*time.Millisecond, nil)
	deadline := time.Now().Add(5 * time.Second)
	for rdb.HExists(ctx, key, "a").Val() == false {
		if time.Now().After(deadline) {
			t.Fatal("registry not published")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
