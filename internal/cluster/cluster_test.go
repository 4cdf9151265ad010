package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vlensq/vlensq/internal/cluster"
)

func TestSlot(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key  string
		want int
	}{
		// Values from CLUSTER KEYSLOT on Redis 7.
		{"foo", 12182},
		{"bar", 5061},
		{"{user1000}.following", 3443},
		{"{user1000}.followers", 3443},
		{"foo{}{bar}", 8363},    // empty first tag: the whole key is hashed
		{"foo{{bar}}zap", 4015}, // the tag is "{bar"
		{"{vlensq:dlq}:all", cluster.Slot("vlensq:dlq")},
		{"{vlensq:outcomes}:seen:x", cluster.Slot("vlensq:outcomes")},
	}
	for _, tt := range tests {
		if got := cluster.Slot(tt.key); got != tt.want {
			t.Errorf("Slot(%q) = %d, want %d", tt.key, got, tt.want)
		}
	}
}

func TestClusterServesAllSlotsAndRedirects(t *testing.T) {
	t.Parallel()
	c := cluster.StartCluster(t, cluster.Config{})
	ctx := context.Background()
	if len(c.Masters) != 3 || !strings.HasPrefix(c.URL(), "redis-cluster://127.0.0.1:") {
		t.Fatalf("masters %d, url %s", len(c.Masters), c.URL())
	}
	cl := c.Client()
	defer cl.Close()
	// Keys land on every master, and the server agrees with Slot.
	for i := range 60 {
		key := fmt.Sprintf("k%d", i)
		if err := cl.Set(ctx, key, i, 0).Err(); err != nil {
			t.Fatal(err)
		}
		slot, err := cl.ClusterKeySlot(ctx, key).Result()
		if err != nil || int(slot) != cluster.Slot(key) {
			t.Fatalf("KEYSLOT %s = %d (%v), Slot = %d", key, slot, err, cluster.Slot(key))
		}
	}
	keys, err := c.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, ks := range keys {
		if len(ks) == 0 {
			t.Errorf("master %s holds no key: slots are not spread", c.Masters[i].Addr())
		}
		for _, k := range ks {
			if c.MasterOf(k) != c.Masters[i] {
				t.Errorf("key %s is on %s, MasterOf says %s", k, c.Masters[i].Addr(), c.MasterOf(k).Addr())
			}
		}
	}
	// A real cluster refuses multi-key commands across slots: the point of
	// testing on one.
	if err := cl.MSet(ctx, "a", 1, "b", 2).Err(); err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Errorf("MSET across slots: err = %v, want CROSSSLOT", err)
	}
	if err := cl.MSet(ctx, "{t}a", 1, "{t}b", 2).Err(); err != nil {
		t.Errorf("MSET in one slot: %v", err)
	}
}

func TestNodesStopWhenTheTestEnds(t *testing.T) {
	t.Parallel()
	var nodes []*cluster.Node
	t.Run("cluster", func(t *testing.T) {
		c := cluster.StartCluster(t, cluster.Config{})
		nodes = c.Masters
	})
	if len(nodes) != 3 {
		t.Fatalf("%d nodes", len(nodes))
	}
	for _, n := range nodes {
		if n.Running() {
			t.Errorf("node %s still runs after its test ended", n.Addr())
		}
		c := redis.NewClient(&redis.Options{Addr: n.Addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
		if err := c.Ping(context.Background()).Err(); err == nil {
			t.Errorf("port %d still answers", n.Port)
		}
		_ = c.Close()
	}
}

func TestMissingRedisServerFailsWithAClearMessage(t *testing.T) {
	t.Parallel()
	ft := &fakeT{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		cluster.StartCluster(ft, cluster.Config{RedisServer: "/nonexistent/redis-server", Dir: t.TempDir()})
	}()
	<-done
	if !ft.failed || !strings.Contains(ft.msg, "redis-server not found at /nonexistent/redis-server") || !strings.Contains(ft.msg, "install") {
		t.Errorf("failed=%v msg=%q", ft.failed, ft.msg)
	}
}

// fakeT records a Fatal instead of ending the real test.
type fakeT struct {
	testing.TB
	failed bool
	msg    string
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatal(args ...any) {
	f.failed, f.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}

func TestSentinelFailoverPromotesTheReplica(t *testing.T) {
	t.Parallel()
	s := cluster.StartSentinel(t, cluster.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := s.Client()
	defer c.Close()
	if err := c.Set(ctx, "before", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// Wait until the write reached the replica, so the failover keeps it.
	m, err := s.Master(ctx)
	if err != nil || m != s.Data[0] {
		t.Fatalf("master = %v, %v; want the first data node", m, err)
	}
	if err := c.Wait(ctx, 1, 5*time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	old, now, err := s.KillMaster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("failover took %v", time.Since(start).Round(time.Millisecond))
	if old != s.Data[0] || now != s.Data[1] || old.Running() {
		t.Fatalf("old %s (running %v), new %s", old.Addr(), old.Running(), now.Addr())
	}
	// The same failover client follows the new master.
	if v, err := c.Get(ctx, "before").Result(); err != nil || v != "1" {
		t.Errorf("GET after failover = %q, %v", v, err)
	}
	if err := c.Set(ctx, "after", "2", 0).Err(); err != nil {
		t.Errorf("SET after failover: %v", err)
	}
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	if _, err := s.WaitMaster(short, now); !errors.Is(err, cluster.ErrNoFailover) {
		t.Errorf("WaitMaster with the current master as the old one: %v, want ErrNoFailover", err)
	}
}
