package dashboard

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Authentication methods of a principal.
const (
	methodToken   = "token"
	methodBasic   = "basic"
	methodSession = "session"
	methodNone    = "none"
)

// principal is who made a request.
type principal struct {
	// user is the user name, "token" for the bearer token, or "anonymous"
	// with --insecure-no-auth.
	user   string
	method string
	// session is set when the request was authenticated by cookie.
	session *session
}

type principalKey struct{}

func principalOf(ctx context.Context) *principal {
	p, _ := ctx.Value(principalKey{}).(*principal)
	return p
}

var (
	errNoCredentials  = errors.New("no credentials")
	errBadCredentials = errors.New("bad credentials")
)

// authenticate finds the principal of r: an Authorization header (bearer
// token or basic user) wins over the session cookie. A wrong Authorization
// header fails even when a good cookie is present. With InsecureNoAuth,
// good credentials still name the user and anything else is "anonymous".
func (d *Dashboard) authenticate(r *http.Request) (*principal, error) {
	p, err := d.credentials(r)
	if err != nil && d.cfg.InsecureNoAuth {
		return &principal{user: "anonymous", method: methodNone}, nil
	}
	return p, err
}

func (d *Dashboard) credentials(r *http.Request) (*principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, cred, _ := strings.Cut(h, " ")
		switch strings.ToLower(scheme) {
		case "bearer":
			if d.tokenOK(strings.TrimSpace(cred)) {
				return &principal{user: "token", method: methodToken}, nil
			}
		case "basic":
			if user, pass, ok := r.BasicAuth(); ok && d.userOK(user, pass) {
				return &principal{user: user, method: methodBasic}, nil
			}
		}
		return nil, errBadCredentials
	}
	if c, err := r.Cookie(sessionCookieName); err == nil && c.Value != "" {
		s, err := d.checkSession(r.Context(), c.Value)
		if err != nil {
			return nil, err
		}
		return &principal{user: s.User, method: methodSession, session: s}, nil
	}
	return nil, errNoCredentials
}

// tokenOK compares a presented bearer token with Config.Token in constant
// time. Both are hashed first so that the comparison does not even reveal
// the token's length.
func (d *Dashboard) tokenOK(got string) bool {
	if d.cfg.Token == "" || got == "" {
		return false
	}
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(d.cfg.Token))
	return d.compare(g[:], w[:]) == 1
}

// userOK checks a user's password against its bcrypt hash. An unknown user
// costs a comparison against a dummy hash of the same cost, so response
// times do not reveal which user names exist. Successful checks are
// remembered for basicCacheTTL so that API clients using basic credentials
// do not pay bcrypt on every request.
func (d *Dashboard) userOK(user, pass string) bool {
	hash, known := d.cfg.Users[user]
	if !known {
		_ = bcrypt.CompareHashAndPassword(d.dummyHash(), []byte(pass))
		return false
	}
	key := sha256.Sum256([]byte(user + "\x00" + pass + "\x00" + hash))
	if d.basicCache.ok(key, d.cfg.Now()) {
		return true
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(pass)) != nil {
		return false
	}
	d.basicCache.put(key, d.cfg.Now())
	return true
}

// dummyHash is a bcrypt hash of a random password at the cost of the first
// configured user, made on first use.
func (d *Dashboard) dummyHash() []byte {
	d.dummyOnce.Do(func() {
		cost := bcrypt.DefaultCost
		for _, h := range d.cfg.Users {
			if c, err := bcrypt.Cost([]byte(h)); err == nil {
				cost = c
			}
			break
		}
		d.dummy, _ = bcrypt.GenerateFromPassword([]byte(randomID(24)), cost)
	})
	return d.dummy
}

const (
	basicCacheTTL = time.Minute
	basicCacheMax = 1024
)

// verifiedCache remembers successful password checks, keyed by a hash of
// user, password and stored hash (a changed password misses the cache).
type verifiedCache struct {
	mu sync.Mutex
	m  map[[32]byte]time.Time
}

func (c *verifiedCache) ok(key [32]byte, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	exp, found := c.m[key]
	return found && now.Before(exp)
}

func (c *verifiedCache) put(key [32]byte, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= basicCacheMax {
		c.m = map[[32]byte]time.Time{}
	}
	c.m[key] = now.Add(basicCacheTTL)
}

// requireAuth runs next with the request's principal in the context, or
// refuses the request: a browser page request without credentials is sent
// to /login, anything else gets 401.
func (d *Dashboard) requireAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := d.authenticate(r)
		if err != nil {
			d.refuse(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

func (d *Dashboard) refuse(w http.ResponseWriter, r *http.Request, err error) {
	redirect := wantsPage(r)
	switch {
	case errors.Is(err, errNoCredentials):
	case errors.Is(err, errBadCredentials):
		// Explicit credentials that fail: the client is a program; never
		// answer with the login page.
		redirect = false
		scheme := strings.ToLower(strings.SplitN(r.Header.Get("Authorization"), " ", 2)[0])
		if scheme != "bearer" && scheme != methodBasic {
			scheme = "other"
		}
		d.authFailures.WithLabelValues(scheme).Inc()
		d.log.Warn().Str("method", scheme).Str("path", r.URL.Path).Str("remote", r.RemoteAddr).
			Msg("dashboard: bad credentials")
	default:
		d.authFailures.WithLabelValues(methodSession).Inc()
		ev := d.log.Info()
		if !isSessionRefusal(err) {
			ev = d.log.Error() // Redis failed while checking the session
		}
		ev.Err(err).Str("path", r.URL.Path).Str("remote", r.RemoteAddr).Msg("dashboard: session refused")
		clearCookie(w, r, sessionCookieName)
	}
	if redirect {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="vlensq dashboard"`)
	writeError(w, http.StatusUnauthorized, "authentication required: send Authorization: Bearer <token> or basic credentials, or sign in at /login")
}

func isSessionRefusal(err error) bool {
	for _, e := range []error{errSessionMalformed, errSessionSignature, errSessionExpired, errSessionStale, errSessionRevoked} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// wantsPage reports whether r is a browser navigation to a page (as opposed
// to an API or asset request), which is better answered by the login page
// than by a bare 401.
func wantsPage(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/monitoring/api/") || r.URL.Path == "/metrics" {
		return false
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// safeNext returns the local path to go to after login: next when it is a
// path on this site, else /dlq/.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n") || strings.HasPrefix(next, "/login") {
		return "/dlq/"
	}
	return next
}
