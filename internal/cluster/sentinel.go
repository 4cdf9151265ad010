package cluster

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sentinel is a running Sentinel group: a master, one replica of it, and
// three sentinels that monitor the master under Config.MasterName with a
// quorum of two.
type Sentinel struct {
	// MasterName is the name the sentinels know the master by.
	MasterName string
	// Data are the two data nodes; which one is master changes on failover
	// (see Master).
	Data []*Node
	// Sentinels are the three sentinel processes.
	Sentinels []*Node

	cfg Config
}

// StartSentinel starts a master, a replica and three sentinels, and waits
// until the replica is in sync and every sentinel knows the replica and the
// two other sentinels (so a failover can be voted). The processes are
// stopped when the test ends. It fails the test when the group cannot be
// started.
func StartSentinel(t testing.TB, cfg Config) *Sentinel {
	t.Helper()
	s, err := startSentinel(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func startSentinel(t testing.TB, cfg Config) (*Sentinel, error) {
	t.Helper()
	cfg, ctx, cancel, err := cfg.prepare(t)
	if err != nil {
		return nil, err
	}
	defer cancel()
	s := &Sentinel{MasterName: cfg.MasterName, cfg: cfg}

	master, err := startNode(ctx, t, cfg, "data-0", func(int) string { return "" })
	if err != nil {
		return nil, err
	}
	replica, err := startNode(ctx, t, cfg, "data-1", func(int) string {
		return fmt.Sprintf("replicaof 127.0.0.1 %d\n", master.Port)
	})
	if err != nil {
		return nil, err
	}
	s.Data = []*Node{master, replica}
	if err := poll(ctx, 50*time.Millisecond, func() error { return replicaInSync(ctx, replica) }); err != nil {
		return nil, fmt.Errorf("cluster: replica %s never synced with %s: %w\nlog:\n%s", replica.Addr(), master.Addr(), err, replica.Log())
	}

	down := cfg.DownAfter.Milliseconds()
	for i := range 3 {
		n, err := startNode(ctx, t, cfg, fmt.Sprintf("sentinel-%d", i), func(int) string {
			return fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 2\n"+
				"sentinel down-after-milliseconds %s %d\n"+
				"sentinel failover-timeout %s %d\n"+
				"sentinel parallel-syncs %s 1\n",
				cfg.MasterName, master.Port, cfg.MasterName, down, cfg.MasterName, max(4*down, 5000), cfg.MasterName)
		}, "--sentinel")
		if err != nil {
			return nil, err
		}
		s.Sentinels = append(s.Sentinels, n)
	}
	for _, n := range s.Sentinels {
		err := poll(ctx, 100*time.Millisecond, func() error { return s.checkSentinel(ctx, n) })
		if err != nil {
			return nil, fmt.Errorf("cluster: sentinel %s not ready: %w\nlog:\n%s", n.Addr(), err, n.Log())
		}
	}
	return s, nil
}

func replicaInSync(ctx context.Context, n *Node) error {
	c := n.Client()
	defer c.Close()
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return err
	}
	if !strings.Contains(info, "master_link_status:up") {
		return fmt.Errorf("master link is not up")
	}
	return nil
}

// checkSentinel returns nil once the sentinel knows the master, its replica
// and both other sentinels.
func (s *Sentinel) checkSentinel(ctx context.Context, n *Node) error {
	c := redis.NewSentinelClient(&redis.Options{Addr: n.Addr(), MaxRetries: -1})
	defer c.Close()
	replicas, err := c.Replicas(ctx, s.MasterName).Result()
	if err != nil {
		return err
	}
	if len(replicas) < 1 {
		return fmt.Errorf("knows no replica yet")
	}
	others, err := c.Sentinels(ctx, s.MasterName).Result()
	if err != nil {
		return err
	}
	if len(others) < len(s.Sentinels)-1 {
		return fmt.Errorf("knows %d other sentinels, want %d", len(others), len(s.Sentinels)-1)
	}
	return nil
}

// SentinelAddrs are the sentinels' addresses.
func (s *Sentinel) SentinelAddrs() []string {
	out := make([]string, len(s.Sentinels))
	for i, n := range s.Sentinels {
		out[i] = n.Addr()
	}
	return out
}

// URL is the VLENSQ_REDIS value for the group:
// "redis-sentinel://127.0.0.1:s1,127.0.0.1:s2,127.0.0.1:s3/<master name>".
func (s *Sentinel) URL() string {
	return "redis-sentinel://" + strings.Join(s.SentinelAddrs(), ",") + "/" + s.MasterName
}

// Client returns a new failover client (the caller closes it).
func (s *Sentinel) Client() *redis.Client {
	return redis.NewFailoverClient(&redis.FailoverOptions{MasterName: s.MasterName, SentinelAddrs: s.SentinelAddrs()})
}

// Master asks the running sentinels which data node is the master.
func (s *Sentinel) Master(ctx context.Context) (*Node, error) {
	var lastErr error
	for _, sn := range s.Sentinels {
		if !sn.Running() {
			continue
		}
		c := redis.NewSentinelClient(&redis.Options{Addr: sn.Addr(), MaxRetries: -1})
		addr, err := c.GetMasterAddrByName(ctx, s.MasterName).Result()
		_ = c.Close()
		if err != nil {
			lastErr = err
			continue
		}
		if len(addr) == 2 {
			hp := net.JoinHostPort(addr[0], addr[1])
			for _, n := range s.Data {
				if n.Addr() == hp {
					return n, nil
				}
			}
			return nil, fmt.Errorf("cluster: sentinels name %s as master, which is none of the data nodes", hp)
		}
	}
	return nil, fmt.Errorf("cluster: no sentinel names a master: %v", lastErr)
}

// KillMaster kills the current master with SIGKILL, as a crash of its host
// would, and waits until the sentinels have promoted the replica and the
// promoted node accepts writes. It returns the killed node and the new
// master.
func (s *Sentinel) KillMaster(ctx context.Context) (old, now *Node, err error) {
	old, err = s.Master(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := old.Kill(); err != nil {
		return old, nil, err
	}
	now, err = s.WaitMaster(ctx, old)
	return old, now, err
}

// WaitMaster waits until every sentinel names a master other than old and
// that node says it is a master.
func (s *Sentinel) WaitMaster(ctx context.Context, old *Node) (*Node, error) {
	var now *Node
	err := poll(ctx, 50*time.Millisecond, func() error {
		var err error
		if now, err = s.Master(ctx); err != nil {
			return err
		}
		if now == old {
			return fmt.Errorf("sentinels still name %s", old.Addr())
		}
		c := now.Client()
		defer c.Close()
		role, err := c.Do(ctx, "ROLE").Slice()
		if err != nil {
			return err
		}
		if len(role) == 0 || role[0] != "master" {
			return fmt.Errorf("%s is not a master yet: %v", now.Addr(), role)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w after %s stopped: %v", ErrNoFailover, old.Addr(), err)
	}
	return now, nil
}
