package vlens

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Session holds the tokens of one token owner: a tenant's admin login (user
// "") or one end user of a tenant. Expiry times are zero when unknown. A
// Session prints without its tokens (String, GoString); its JSON form, used by
// `vlensq session put`, does carry them.
type Session struct {
	AccessToken      string    `json:"access_token"`
	RefreshToken     string    `json:"refresh_token,omitempty"`
	AccessExpiresAt  time.Time `json:"access_expires_at,omitzero"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at,omitzero"`
}

// String describes the session without its tokens.
func (s Session) String() string {
	set := func(tok string) string {
		if tok == "" {
			return "none"
		}
		return "set"
	}
	exp := func(t time.Time) string {
		if t.IsZero() {
			return "unknown"
		}
		return t.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("session(access %s, expires %s; refresh %s, expires %s)",
		set(s.AccessToken), exp(s.AccessExpiresAt), set(s.RefreshToken), exp(s.RefreshExpiresAt))
}

// GoString describes the session without its tokens, even with %#v.
func (s Session) GoString() string { return s.String() }

// ErrNoSession is returned by [SessionStore.Get] when no session is stored for
// the token owner.
var ErrNoSession = errors.New("vlens: no session")

// SessionStore keeps sessions shared by every worker process, so that a token
// refreshed (or rotated) by one process is used by all the others. The user ""
// denotes the tenant's admin session.
type SessionStore interface {
	// Get returns the stored session; ErrNoSession when there is none.
	Get(ctx context.Context, tenant, user string) (Session, error)
	// Put stores s, replacing any previous session of the owner.
	Put(ctx context.Context, tenant, user string, s Session) error
	// Lock takes the refresh lock of one token owner across processes, waiting
	// for it until ctx is done; unlock releases it and may be called more than
	// once.
	Lock(ctx context.Context, tenant, user string) (unlock func(), err error)
}

// SessionLockTTLDefault is how long a refresh lock is held at most when its
// holder dies without releasing it. It exceeds the longest renewal a Client
// performs (3 × RefreshTimeoutDefault: lock wait, refresh, login), so a slow
// but live holder keeps its lock.
const SessionLockTTLDefault = 2 * time.Minute

// RedisSessionStore is a [SessionStore] in Redis (standalone, Sentinel or
// Cluster). A session is the hash "vlensq:session:{<tenant>:<user>}" and its
// refresh lock the string "vlensq:session:{<tenant>:<user>}:lock"; the hash tag
// keeps both on one cluster slot. Sessions are kept until replaced or deleted.
type RedisSessionStore struct {
	rdb redis.UniversalClient

	// LockTTL bounds how long a lock outlives a crashed holder. Default
	// SessionLockTTLDefault (2 min). Set it before first use.
	LockTTL time.Duration
}

var _ SessionStore = (*RedisSessionStore)(nil)

// NewRedisSessionStore returns a session store on rdb. The caller keeps
// ownership of rdb.
func NewRedisSessionStore(rdb redis.UniversalClient) *RedisSessionStore {
	return &RedisSessionStore{rdb: rdb}
}

// SessionKey returns the Redis key of the session of one token owner; user ""
// is the tenant's admin session.
func SessionKey(tenant, user string) string {
	return "vlensq:session:{" + tenant + ":" + user + "}"
}

const (
	fieldAccess        = "access_token"
	fieldRefresh       = "refresh_token"
	fieldAccessExpiry  = "access_expires_at_ms"
	fieldRefreshExpiry = "refresh_expires_at_ms"
)

// Get returns the session of (tenant, user), or ErrNoSession.
func (s *RedisSessionStore) Get(ctx context.Context, tenant, user string) (Session, error) {
	m, err := s.rdb.HGetAll(ctx, SessionKey(tenant, user)).Result()
	if err != nil {
		return Session{}, fmt.Errorf("vlens: read session: %w", err)
	}
	if len(m) == 0 {
		return Session{}, ErrNoSession
	}
	out := Session{AccessToken: m[fieldAccess], RefreshToken: m[fieldRefresh]}
	if out.AccessExpiresAt, err = parseMillis(m[fieldAccessExpiry]); err != nil {
		return Session{}, fmt.Errorf("vlens: read session: %s: %w", fieldAccessExpiry, err)
	}
	if out.RefreshExpiresAt, err = parseMillis(m[fieldRefreshExpiry]); err != nil {
		return Session{}, fmt.Errorf("vlens: read session: %s: %w", fieldRefreshExpiry, err)
	}
	return out, nil
}

// Put replaces the session of (tenant, user) atomically. It refuses a session
// with neither an access nor a refresh token.
func (s *RedisSessionStore) Put(ctx context.Context, tenant, user string, sess Session) error {
	if tenant == "" {
		return errors.New("vlens: put session: tenant is required")
	}
	if sess.AccessToken == "" && sess.RefreshToken == "" {
		return errors.New("vlens: put session: access_token or refresh_token is required")
	}
	fields := map[string]any{fieldAccess: sess.AccessToken, fieldRefresh: sess.RefreshToken}
	if !sess.AccessExpiresAt.IsZero() {
		fields[fieldAccessExpiry] = sess.AccessExpiresAt.UnixMilli()
	}
	if !sess.RefreshExpiresAt.IsZero() {
		fields[fieldRefreshExpiry] = sess.RefreshExpiresAt.UnixMilli()
	}
	key := SessionKey(tenant, user)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, key)
		p.HSet(ctx, key, fields)
		return nil
	})
	if err != nil {
		return fmt.Errorf("vlens: write session: %w", err)
	}
	return nil
}

// Delete removes the session of (tenant, user); deleting an absent session is
// not an error.
func (s *RedisSessionStore) Delete(ctx context.Context, tenant, user string) error {
	if err := s.rdb.Del(ctx, SessionKey(tenant, user)).Err(); err != nil {
		return fmt.Errorf("vlens: delete session: %w", err)
	}
	return nil
}

// unlockScript deletes the lock only when it still holds our token, so a
// holder whose lock expired cannot release a later holder's lock.
var unlockScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0`)

// Lock takes the refresh lock of (tenant, user), polling until it is free or
// ctx is done. The lock expires after LockTTL if never released.
func (s *RedisSessionStore) Lock(ctx context.Context, tenant, user string) (func(), error) {
	key := SessionKey(tenant, user) + ":lock"
	ttl := cmp.Or(max(s.LockTTL, 0), SessionLockTTLDefault)
	var buf [16]byte
	_, _ = rand.Read(buf[:])
	token := hex.EncodeToString(buf[:])

	wait := 2 * time.Millisecond
	for {
		ok, err := s.rdb.SetNX(ctx, key, token, ttl).Result()
		if err != nil {
			return nil, fmt.Errorf("vlens: session lock: %w", err)
		}
		if ok {
			break
		}
		t := time.NewTimer(jitter(wait))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("vlens: session lock: waiting for another refresh: %w", context.Cause(ctx))
		case <-t.C:
		}
		wait = min(wait*2, 100*time.Millisecond)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			// Release even when the caller's ctx is already cancelled.
			c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = unlockScript.Run(c, s.rdb, []string{key}, token).Err()
		})
	}, nil
}

func parseMillis(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(ms), nil
}

// jitter returns a duration in [d/2, d].
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + mrand.N(d/2+1)
}
