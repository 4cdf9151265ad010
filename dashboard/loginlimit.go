package dashboard

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Defaults of the sign-in rate limit.
const (
	// LoginFailuresPerIPDefault is how many failed sign-ins one client
	// address may make per LoginWindowDefault.
	LoginFailuresPerIPDefault = 20
	// LoginFailuresPerUserDefault is how many failed sign-ins one user name
	// may receive per LoginWindowDefault, whatever the addresses.
	LoginFailuresPerUserDefault = 5
	// LoginWindowDefault is the window of both limits: once over a limit, a
	// client or user waits until the window that counted the failures ends.
	LoginWindowDefault = 15 * time.Minute
	// loginLimitMaxEntries bounds the limiter's memory.
	loginLimitMaxEntries = 100_000
)

// loginLimiter counts failed sign-ins per client address and per user name
// in fixed windows. It lives in the process: with several replicas the
// budget is per replica.
type loginLimiter struct {
	mu      sync.Mutex
	perIP   int
	perUser int
	window  time.Duration
	m       map[string]*failCount
}

type failCount struct {
	n     int
	reset time.Time
}

func newLoginLimiter(perIP, perUser int, window time.Duration) *loginLimiter {
	return &loginLimiter{perIP: perIP, perUser: perUser, window: window, m: map[string]*failCount{}}
}

func ipKey(ip string) string     { return "ip\x00" + ip }
func userKey(user string) string { return "user\x00" + user }

// blocked reports how long the client or user must wait, 0 when it may try.
func (l *loginLimiter) blocked(ip, user string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	wait := time.Duration(0)
	check := func(key string, limit int) {
		if c := l.m[key]; c != nil && now.Before(c.reset) && c.n >= limit {
			wait = max(wait, c.reset.Sub(now))
		}
	}
	check(ipKey(ip), l.perIP)
	if user != "" {
		check(userKey(user), l.perUser)
	}
	return wait
}

// fail counts one failed sign-in.
func (l *loginLimiter) fail(ip, user string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.m) >= loginLimitMaxEntries {
		for k, c := range l.m {
			if !now.Before(c.reset) {
				delete(l.m, k)
			}
		}
	}
	add := func(key string) {
		c := l.m[key]
		if c == nil || !now.Before(c.reset) {
			if len(l.m) >= loginLimitMaxEntries {
				return // full of live entries: the others still count
			}
			c = &failCount{reset: now.Add(l.window)}
			l.m[key] = c
		}
		c.n++
	}
	add(ipKey(ip))
	if user != "" {
		add(userKey(user))
	}
}

// succeeded forgets the user's failures.
func (l *loginLimiter) succeeded(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, userKey(user))
}

// clientIP is the address of the connection; X-Forwarded-For is not
// trusted (anyone can set it).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// retryAfterSeconds rounds a wait up to whole seconds for Retry-After.
func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(int((d + time.Second - 1) / time.Second))
}
