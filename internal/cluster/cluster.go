package cluster

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// slotCount is the number of hash slots of a Redis Cluster.
const slotCount = 16384

// Cluster is a running Redis Cluster of three masters without replicas; each
// master serves a third of the hash slots.
type Cluster struct {
	// Masters are the nodes; Masters[i] serves Slots[i].
	Masters []*Node
	// Slots are the slot ranges [first, last] of each master.
	Slots [][2]int
}

// StartCluster starts a 3-master Redis Cluster and waits until every node
// reports cluster_state:ok and the same slot map. The nodes are stopped when
// the test ends. It fails the test when the cluster cannot be started.
func StartCluster(t testing.TB, cfg Config) *Cluster {
	t.Helper()
	c, err := startCluster(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func startCluster(t testing.TB, cfg Config) (*Cluster, error) {
	t.Helper()
	cfg, ctx, cancel, err := cfg.prepare(t)
	if err != nil {
		return nil, err
	}
	defer cancel()

	const masters = 3
	c := &Cluster{}
	busPorts := make([]int, masters)
	for i := range masters {
		n, err := startNode(ctx, t, cfg, fmt.Sprintf("cluster-%d", i), func(int) string {
			bus, _ := freePort()
			busPorts[i] = bus
			return fmt.Sprintf("cluster-enabled yes\ncluster-config-file nodes.conf\ncluster-port %d\ncluster-node-timeout 5000\n", bus)
		})
		if err != nil {
			return nil, err
		}
		first := i * slotCount / masters
		last := (i+1)*slotCount/masters - 1
		c.Masters = append(c.Masters, n)
		c.Slots = append(c.Slots, [2]int{first, last})
	}
	clients := make([]*redis.Client, masters)
	for i, n := range c.Masters {
		clients[i] = n.Client()
		defer clients[i].Close()
		if err := clients[i].ClusterAddSlotsRange(ctx, c.Slots[i][0], c.Slots[i][1]).Err(); err != nil {
			return nil, fmt.Errorf("cluster: assign slots to %s: %w", n.Addr(), err)
		}
	}
	for i, n := range c.Masters[1:] {
		// The bus port is not port+10000 here, so MEET names it.
		meet := clients[0].Do(ctx, "CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(n.Port), strconv.Itoa(busPorts[i+1]))
		if err := meet.Err(); err != nil {
			return nil, fmt.Errorf("cluster: meet %s: %w", n.Addr(), err)
		}
	}
	for i, cl := range clients {
		err := poll(ctx, 50*time.Millisecond, func() error { return c.checkNode(ctx, cl) })
		if err != nil {
			return nil, fmt.Errorf("cluster: node %s not ready: %w\nlog:\n%s", c.Masters[i].Addr(), err, c.Masters[i].Log())
		}
	}
	return c, nil
}

// checkNode returns nil once the node says the cluster is ok and its slot map
// names every master with its own range.
func (c *Cluster) checkNode(ctx context.Context, cl *redis.Client) error {
	info, err := cl.ClusterInfo(ctx).Result()
	if err != nil {
		return err
	}
	if !strings.Contains(info, "cluster_state:ok") {
		return fmt.Errorf("cluster_state is not ok")
	}
	slots, err := cl.ClusterSlots(ctx).Result()
	if err != nil {
		return err
	}
	if len(slots) != len(c.Masters) {
		return fmt.Errorf("node knows %d slot ranges, want %d", len(slots), len(c.Masters))
	}
	for _, s := range slots {
		i := c.masterIndex(int(s.Start))
		if len(s.Nodes) == 0 || s.Nodes[0].Addr != c.Masters[i].Addr() || int(s.End) != c.Slots[i][1] {
			return fmt.Errorf("slot range %d-%d is not yet mapped to %s", s.Start, s.End, c.Masters[i].Addr())
		}
	}
	return nil
}

func (c *Cluster) masterIndex(slot int) int {
	for i, r := range c.Slots {
		if slot >= r[0] && slot <= r[1] {
			return i
		}
	}
	return -1
}

// Addrs are the masters' addresses.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Masters))
	for i, n := range c.Masters {
		out[i] = n.Addr()
	}
	return out
}

// URL is the VLENSQ_REDIS value for the cluster:
// "redis-cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3".
func (c *Cluster) URL() string { return "redis-cluster://" + strings.Join(c.Addrs(), ",") }

// Client returns a new cluster client (the caller closes it).
func (c *Cluster) Client() *redis.ClusterClient {
	return redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
}

// Slot is the hash slot of key (CRC16 of the key, or of its {hash tag}).
func Slot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return int(crc16(key) % slotCount)
}

// MasterOf returns the master that serves key.
func (c *Cluster) MasterOf(key string) *Node { return c.Masters[c.masterIndex(Slot(key))] }

// Keys returns every key held by each master, indexed like Masters; a test
// reads it to see that data is spread over the nodes.
func (c *Cluster) Keys(ctx context.Context) ([][]string, error) {
	out := make([][]string, len(c.Masters))
	for i, n := range c.Masters {
		cl := n.Client()
		var keys []string
		iter := cl.Scan(ctx, 0, "*", 1000).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		err := iter.Err()
		_ = cl.Close()
		if err != nil {
			return nil, fmt.Errorf("cluster: scan %s: %w", n.Addr(), err)
		}
		out[i] = keys
	}
	return out, nil
}

// crc16 is the CRC16-CCITT (XMODEM) Redis Cluster hashes keys with.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
