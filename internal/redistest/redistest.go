// Package redistest connects tests to a real Redis server.
//
// The server is VLENSQ_TEST_REDIS (host:port or redis://host:port) or
// 127.0.0.1:6379. Each test package owns one logical database (see the DB
// constants), which is flushed once per test binary, so packages can run in
// parallel without seeing each other's keys. Tests inside one package share
// that database and must use their own key names (unique tenants, queues or
// prefixes).
//
// A missing Redis fails the test; it never skips, so CI cannot pass green
// without having run the integration tests.
package redistest

import (
	"context"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Database indexes owned by each test package.
const (
	DBVlens      = 1
	DBDeadletter = 2
	DBTasks      = 3
	DBHandlers   = 4
	DBCmd        = 5
	DBOutcome    = 6
	DBDashboard  = 7
	DBE2E        = 8
	DBVlenstest  = 9
	DBConfig     = 10
	DBBench      = 11
	DBSpare      = 12
	DBTenancy    = 13
)

var (
	flushMu sync.Mutex
	flushed = map[int]bool{}
)

// Addr returns the address of the test Redis server.
func Addr() string {
	a := os.Getenv("VLENSQ_TEST_REDIS")
	if a == "" {
		return "127.0.0.1:6379"
	}
	if strings.Contains(a, "://") {
		if u, err := url.Parse(a); err == nil && u.Host != "" {
			return u.Host
		}
	}
	return a
}

// Opt returns asynq connection options for database db, flushing it on first
// use in this process. It fails the test when Redis does not answer.
func Opt(t testing.TB, db int) asynq.RedisClientOpt {
	t.Helper()
	Client(t, db)
	return asynq.RedisClientOpt{Addr: Addr(), DB: db}
}

// Client returns a client on database db, flushing it on first use in this
// process. It fails the test when Redis does not answer. The client is closed
// when the test ends.
func Client(t testing.TB, db int) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: Addr(), DB: db})
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis at %s is required for this test (set VLENSQ_TEST_REDIS, or start redis-server): %v", Addr(), err)
	}
	flushMu.Lock()
	defer flushMu.Unlock()
	if !flushed[db] {
		if err := c.FlushDB(ctx).Err(); err != nil {
			t.Fatalf("flush redis db %d: %v", db, err)
		}
		flushed[db] = true
	}
	return c
}
