package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// RedisURLDefault is the default of VLENSQ_REDIS.
const RedisURLDefault = "redis://127.0.0.1:6379/0"

// PoolSizeDefault is the connection pool of the process's Redis client.
// go-redis defaults to 10 per core, but one worker shares its client between
// asynq and every handler in flight (each attempt makes several round
// trips), so a small pool queues the handlers behind each other.
const PoolSizeDefault = 128

// Memory is the VLENSQ_REDIS value that starts an embedded in-memory Redis
// (miniredis) inside the process. It suits the demo and one-process runs only:
// nothing is shared with other processes and nothing survives an exit.
const Memory = "memory"

// Redis is an open Redis connection in both forms vlensq needs: a go-redis
// client for its own keys, and the asynq connection option for asynq and
// Asynqmon. Close releases both (and stops an embedded server).
type Redis struct {
	// Client is shared by every component of the process.
	Client redis.UniversalClient
	// ConnOpt describes the same server for asynqmon, which opens its own
	// connections.
	ConnOpt asynq.RedisConnOpt
	// Kind is "standalone", "cluster", "sentinel" or "memory".
	Kind string
	// Display is the URL with any password replaced by "xxxxx".
	Display string

	mini *miniredis.Miniredis
}

// Close closes the client and stops an embedded server.
func (r *Redis) Close() error {
	err := r.Client.Close()
	if r.mini != nil {
		r.mini.Close()
	}
	return err
}

// OpenRedis parses a VLENSQ_REDIS value and connects lazily (no I/O happens
// here; use Ping to check reachability). Accepted forms:
//
//	redis://[[user]:pass@]host:port[/db]
//	rediss://[[user]:pass@]host:port[/db][?ca=FILE]    TLS
//	redis-cluster://[[user]:pass@]h1:p1,h2:p2[?tls=1&ca=FILE]
//	redis-sentinel://[[user]:pass@]h1:p1,h2:p2/master[?db=N&sentinel_password=P&tls=1&ca=FILE]
//	memory                                             embedded miniredis
//
// TLS verifies the server against the system's roots, or against the PEM
// certificates of ca=FILE (a private CA).
func OpenRedis(raw string) (*Redis, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		raw = RedisURLDefault
	}
	if raw == Memory {
		m := miniredis.NewMiniRedis()
		if err := m.Start(); err != nil {
			return nil, fmt.Errorf("VLENSQ_REDIS=memory: start embedded redis: %w", err)
		}
		// Expire keys by the wall clock: without it TTLs never decrease in
		// miniredis, so locks, heartbeats and claim checks never expire.
		m.ClockTTL(true)
		opt := asynq.RedisClientOpt{Addr: m.Addr()}
		return &Redis{
			Client:  redis.NewClient(&redis.Options{Addr: m.Addr(), PoolSize: PoolSizeDefault}),
			ConnOpt: opt, Kind: Memory, Display: Memory, mini: m,
		}, nil
	}
	opt, kind, err := ParseRedisURL(raw)
	if err != nil {
		return nil, err
	}
	c, ok := opt.MakeRedisClient().(redis.UniversalClient)
	if !ok {
		return nil, fmt.Errorf("VLENSQ_REDIS: unsupported connection option %T", opt)
	}
	return &Redis{Client: c, ConnOpt: opt, Kind: kind, Display: RedactURL(raw)}, nil
}

// ParseRedisURL parses the non-memory forms of VLENSQ_REDIS into an asynq
// connection option. Errors name the variable and the problem, never the
// password.
func ParseRedisURL(raw string) (asynq.RedisConnOpt, string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", fmt.Errorf("VLENSQ_REDIS: not a URL (%s)", RedactURL(raw))
	}
	user, pass := "", ""
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	q := u.Query()
	var tlsConf *tls.Config
	if u.Scheme == "rediss" || q.Get("tls") == "1" || q.Get("tls") == "true" {
		tlsConf = &tls.Config{MinVersion: tls.VersionTLS12}
		if ca := q.Get("ca"); ca != "" {
			pem, err := os.ReadFile(ca)
			if err != nil {
				return nil, "", fmt.Errorf("VLENSQ_REDIS: ca: %v", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, "", fmt.Errorf("VLENSQ_REDIS: ca: no PEM certificate in %s", ca)
			}
			tlsConf.RootCAs = pool
		}
	} else if q.Get("ca") != "" {
		return nil, "", errors.New("VLENSQ_REDIS: ca= needs TLS: use rediss:// (or tls=1 for cluster and sentinel)")
	}
	switch u.Scheme {
	case "redis", "rediss", "redis-cluster", "redis-sentinel":
	default:
		// Name the scheme first: "ftp://host" is not a bad host:port.
		return nil, "", fmt.Errorf("VLENSQ_REDIS: unknown scheme %q (want redis, rediss, redis-cluster, redis-sentinel or memory)", u.Scheme)
	}
	hosts, err := splitHosts(u.Host)
	if err != nil {
		return nil, "", err
	}
	switch u.Scheme {
	case "redis", "rediss":
		if len(hosts) != 1 {
			return nil, "", fmt.Errorf("VLENSQ_REDIS: %s:// takes one host:port, got %d (use redis-cluster:// for several)", u.Scheme, len(hosts))
		}
		db, err := parseDB(strings.TrimPrefix(u.Path, "/"))
		if err != nil {
			return nil, "", err
		}
		return asynq.RedisClientOpt{Addr: hosts[0], Username: user, Password: pass, DB: db, TLSConfig: tlsConf, PoolSize: PoolSizeDefault}, "standalone", nil
	case "redis-cluster":
		if p := strings.Trim(u.Path, "/"); p != "" {
			return nil, "", fmt.Errorf("VLENSQ_REDIS: redis-cluster:// takes no database or path, got %q", p)
		}
		return asynq.RedisClusterClientOpt{Addrs: hosts, Username: user, Password: pass, TLSConfig: tlsConf}, "cluster", nil
	case "redis-sentinel":
		master := strings.Trim(u.Path, "/")
		if master == "" {
			return nil, "", errors.New("VLENSQ_REDIS: redis-sentinel:// needs the master name as the path, e.g. redis-sentinel://h1:26379,h2:26379/mymaster")
		}
		db, err := parseDB(q.Get("db"))
		if err != nil {
			return nil, "", err
		}
		return asynq.RedisFailoverClientOpt{
			MasterName: master, SentinelAddrs: hosts, SentinelPassword: q.Get("sentinel_password"),
			Username: user, Password: pass, DB: db, TLSConfig: tlsConf, PoolSize: PoolSizeDefault,
		}, "sentinel", nil
	default:
		return nil, "", fmt.Errorf("VLENSQ_REDIS: unknown scheme %q (want redis, rediss, redis-cluster, redis-sentinel or memory)", u.Scheme)
	}
}

func splitHosts(s string) ([]string, error) {
	if s == "" {
		return nil, errors.New("VLENSQ_REDIS: no host:port")
	}
	var out []string
	for _, h := range strings.Split(s, ",") {
		h = strings.TrimSpace(h)
		host, port, err := net.SplitHostPort(h)
		if err != nil || host == "" {
			return nil, fmt.Errorf("VLENSQ_REDIS: %q is not host:port", h)
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return nil, fmt.Errorf("VLENSQ_REDIS: bad port in %q", h)
		}
		out = append(out, h)
	}
	return out, nil
}

func parseDB(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("VLENSQ_REDIS: database must be a number >= 0, got %q", s)
	}
	return n, nil
}

// RedactURL replaces the password in a Redis URL by "xxxxx" so the URL can be
// logged.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		// Not parseable: show only the scheme, if any, to be safe.
		if i := strings.Index(raw, "://"); i > 0 {
			return raw[:i] + "://…"
		}
		return "…"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	q := u.Query()
	if q.Has("sentinel_password") {
		q.Set("sentinel_password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}
