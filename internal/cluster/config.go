package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"
)

const (
	// RedisServerDefault is the redis-server binary used when Config.RedisServer
	// is empty and none is on PATH.
	RedisServerDefault = "/usr/bin/redis-server"
	// StartTimeoutDefault bounds the start of a whole topology.
	StartTimeoutDefault = 30 * time.Second
	// MasterNameDefault is the name the sentinels monitor the master under.
	MasterNameDefault = "vlensq"
	// DownAfterDefault is how long the sentinels wait for a silent master
	// before they call it down and start a failover.
	DownAfterDefault = time.Second
)

// Config configures a topology. The zero value is ready to use.
type Config struct {
	// RedisServer is the path of the redis-server binary. Default:
	// "redis-server" from PATH, else RedisServerDefault.
	RedisServer string
	// Dir holds one subdirectory per node (config, log, cluster state).
	// Default: a fresh t.TempDir().
	Dir string
	// StartTimeout bounds the start of the whole topology. Default
	// StartTimeoutDefault (30 s).
	StartTimeout time.Duration
	// MasterName is the sentinel master name. Default MasterNameDefault
	// ("vlensq"). Sentinel only.
	MasterName string
	// DownAfter is the sentinels' down-after-milliseconds. Default
	// DownAfterDefault (1 s). Sentinel only.
	DownAfter time.Duration
}

func (c Config) withDefaults() Config {
	if c.RedisServer == "" {
		if p, err := exec.LookPath("redis-server"); err == nil {
			c.RedisServer = p
		} else {
			c.RedisServer = RedisServerDefault
		}
	}
	c.StartTimeout = cmp.Or(c.StartTimeout, StartTimeoutDefault)
	c.MasterName = cmp.Or(c.MasterName, MasterNameDefault)
	c.DownAfter = cmp.Or(c.DownAfter, DownAfterDefault)
	return c
}

func (c Config) validate() error {
	if c.StartTimeout < 0 {
		return fmt.Errorf("cluster: StartTimeout must be positive, got %v", c.StartTimeout)
	}
	if c.DownAfter < 100*time.Millisecond {
		return fmt.Errorf("cluster: DownAfter must be at least 100ms, got %v", c.DownAfter)
	}
	st, err := os.Stat(c.RedisServer)
	if err != nil {
		return fmt.Errorf("cluster: redis-server not found at %s (install Debian's redis-server package, or set Config.RedisServer): %w", c.RedisServer, err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("cluster: %s is not an executable file", c.RedisServer)
	}
	return nil
}

// ErrNoFailover is returned when the sentinels do not promote a replica in
// time.
var ErrNoFailover = errors.New("cluster: no failover")

// prepare fills defaults, validates, gives the nodes a temporary directory
// when none is set, and bounds the start-up with StartTimeout.
func (c Config) prepare(t testing.TB) (Config, context.Context, context.CancelFunc, error) {
	c = c.withDefaults()
	if err := c.validate(); err != nil {
		return c, nil, nil, err
	}
	if c.Dir == "" {
		c.Dir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.StartTimeout)
	return c, ctx, cancel, nil
}
