package dashboard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/internal/config"
	"github.com/vlensq/vlensq/internal/metrics"
	"github.com/vlensq/vlensq/vlens"
)

// Defaults of Config.
const (
	// SessionTTLDefault is how long a browser session lasts after /login.
	SessionTTLDefault = 12 * time.Hour
	// MaxBulkDefault is the largest set of records one requeue from the
	// dashboard may touch. Larger sets take `vlensq dlq requeue`, which shows
	// progress and may run for as long as the throttle needs.
	MaxBulkDefault = 1000
	// RequeueRateDefault throttles requeues, in records per second.
	RequeueRateDefault = deadletter.RequeueRateDefault
	// PageSizeDefault is the number of records on a list page.
	PageSizeDefault = 50
	// ScrapeTimeoutDefault bounds one collection of the queue metrics.
	ScrapeTimeoutDefault = 5 * time.Second
	// MinTokenLength is the shortest bearer token accepted.
	MinTokenLength = 16
	// MinSessionKeyLength is the shortest Config.SessionKey accepted.
	MinSessionKeyLength = 32
)

// RequeueFunc enqueues a dead-letter record's original payload again under
// newTaskID (see deadletter.RequeueOptions.Enqueue; app.App.RequeueFunc
// returns one).
type RequeueFunc func(ctx context.Context, rec *deadletter.Record, payload []byte, newTaskID string) error

// Config configures a Dashboard.
type Config struct {
	// Redis is the open connection (config.OpenRedis). Required. The
	// dashboard uses Redis.Client for its own keys and the Inspector, and
	// Redis.ConnOpt for Asynqmon. Close does not close it.
	Redis *config.Redis
	// DLQ is the dead-letter store. Required.
	DLQ *deadletter.Store
	// Requeue puts a dead-letter record back on its queue. Required unless
	// ReadOnly.
	Requeue RequeueFunc
	// Tenants names the configured tenants and gives their rate limits and
	// weights (the tenants file; a *vlens.TenantSet). The tenants page and
	// /api/tenants list every tenant it names, and pausing a tenant it does
	// not name is refused with an error naming it. Default nil: the page
	// lists the tenants that have held tasks or a pause, at the default
	// rates and weight, and any name may be paused. The dashboard needs no
	// Vlens credentials: it reads only the names, limits and weights.
	Tenants vlens.TenantSource
	// Metrics is the shared registry served at /metrics; the dashboard adds
	// its Collector and auth-failure counter to it (and removes them at
	// Close). Default: a new metrics.New().
	Metrics *metrics.Metrics
	// Token is the bearer token (VLENSQ_DASHBOARD_TOKEN), at least
	// MinTokenLength characters. Default: none.
	Token string
	// Users maps user names to bcrypt hashes (VLENSQ_DASHBOARD_USERS, see
	// ParseUsers). Default: none.
	Users map[string]string
	// InsecureNoAuth serves every route without authentication. New refuses
	// a Config without Token or Users unless this is set. Default false.
	InsecureNoAuth bool
	// ReadOnly disables requeue and purge, and Asynqmon's write actions.
	// Default false.
	ReadOnly bool
	// SessionKey signs session cookies and CSRF tokens; at least
	// MinSessionKeyLength bytes. Set the same key on every replica behind a
	// load balancer. Default: random per process (sessions end at restart).
	SessionKey []byte
	// SessionTTL is the lifetime of a browser session. Default
	// SessionTTLDefault (12 h).
	SessionTTL time.Duration
	// RequeueRate throttles requeues, in records per second. Default
	// RequeueRateDefault (20).
	RequeueRate float64
	// MaxBulk is the largest set of records one requeue may touch. Default
	// MaxBulkDefault (1000).
	MaxBulk int
	// PageSize is the number of records on a list page and the default limit
	// of GET /api/dlq. Default PageSizeDefault (50).
	PageSize int
	// ScrapeTimeout bounds one collection of the queue metrics. Default
	// ScrapeTimeoutDefault (5 s).
	ScrapeTimeout time.Duration
	// Logger receives access-control events and failures; secrets and
	// payloads are never logged. Default: disabled.
	Logger *zerolog.Logger
	// LoginFailuresPerIP is how many failed sign-ins (/login) one client
	// address may make per LoginWindow before it gets 429. Default
	// LoginFailuresPerIPDefault (20).
	LoginFailuresPerIP int
	// LoginFailuresPerUser is how many failed sign-ins one user name may
	// receive per LoginWindow, from any address. Default
	// LoginFailuresPerUserDefault (5).
	LoginFailuresPerUser int
	// LoginWindow is the window of the sign-in limits. Default
	// LoginWindowDefault (15 min).
	LoginWindow time.Duration
	// Now is the clock (session expiry, relative filter times). Default
	// time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	c.SessionTTL = cmp.Or(c.SessionTTL, SessionTTLDefault)
	c.RequeueRate = cmp.Or(c.RequeueRate, RequeueRateDefault)
	c.MaxBulk = cmp.Or(c.MaxBulk, MaxBulkDefault)
	c.PageSize = cmp.Or(c.PageSize, PageSizeDefault)
	c.ScrapeTimeout = cmp.Or(c.ScrapeTimeout, ScrapeTimeoutDefault)
	c.LoginFailuresPerIP = cmp.Or(c.LoginFailuresPerIP, LoginFailuresPerIPDefault)
	c.LoginFailuresPerUser = cmp.Or(c.LoginFailuresPerUser, LoginFailuresPerUserDefault)
	c.LoginWindow = cmp.Or(c.LoginWindow, LoginWindowDefault)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		l := zerolog.Nop()
		c.Logger = &l
	}
	return c
}

// ErrNoAuth is returned (wrapped) by New when no credential is configured
// and InsecureNoAuth is not set.
var ErrNoAuth = errors.New("no authentication configured: set VLENSQ_DASHBOARD_TOKEN or VLENSQ_DASHBOARD_USERS, or pass --insecure-no-auth to serve without authentication")

func (c Config) validate() error {
	var errs []error
	if c.Redis == nil || c.Redis.Client == nil || c.Redis.ConnOpt == nil {
		errs = append(errs, errors.New("Redis is required (an open config.Redis)"))
	}
	if c.DLQ == nil {
		errs = append(errs, errors.New("DLQ (the dead-letter store) is required"))
	}
	if c.Requeue == nil && !c.ReadOnly {
		errs = append(errs, errors.New("Requeue is required unless ReadOnly"))
	}
	if c.Token == "" && len(c.Users) == 0 && !c.InsecureNoAuth {
		errs = append(errs, ErrNoAuth)
	}
	if c.Token != "" && len(c.Token) < MinTokenLength {
		errs = append(errs, fmt.Errorf("Token (VLENSQ_DASHBOARD_TOKEN) must be at least %d characters, got %d", MinTokenLength, len(c.Token)))
	}
	for user, hash := range c.Users {
		if err := checkUser(user, hash); err != nil {
			errs = append(errs, err)
		}
	}
	if c.SessionKey != nil && len(c.SessionKey) < MinSessionKeyLength {
		errs = append(errs, fmt.Errorf("SessionKey must be at least %d bytes, got %d", MinSessionKeyLength, len(c.SessionKey)))
	}
	if c.SessionTTL < 0 {
		errs = append(errs, fmt.Errorf("SessionTTL %s must not be negative", c.SessionTTL))
	}
	if c.RequeueRate < 0 {
		errs = append(errs, fmt.Errorf("RequeueRate %g must not be negative", c.RequeueRate))
	}
	if c.MaxBulk < 0 {
		errs = append(errs, fmt.Errorf("MaxBulk %d must not be negative", c.MaxBulk))
	}
	if c.PageSize < 0 || c.PageSize > deadletter.ListLimitMax {
		errs = append(errs, fmt.Errorf("PageSize %d must be between 1 and %d", c.PageSize, deadletter.ListLimitMax))
	}
	if c.LoginFailuresPerIP < 0 {
		errs = append(errs, fmt.Errorf("LoginFailuresPerIP %d must not be negative", c.LoginFailuresPerIP))
	}
	if c.LoginFailuresPerUser < 0 {
		errs = append(errs, fmt.Errorf("LoginFailuresPerUser %d must not be negative", c.LoginFailuresPerUser))
	}
	if c.LoginWindow < 0 {
		errs = append(errs, fmt.Errorf("LoginWindow %s must not be negative", c.LoginWindow))
	}
	if c.ScrapeTimeout < 0 {
		errs = append(errs, fmt.Errorf("ScrapeTimeout %s must not be negative", c.ScrapeTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("dashboard: invalid config: %w", err)
	}
	return nil
}

// checkUser validates one entry of Config.Users. Errors name the user and
// never echo the hash.
func checkUser(user, hash string) error {
	if !validUserName(user) {
		return fmt.Errorf("user %q: a name is 1-64 characters without ':', ',' or white space", user)
	}
	if _, err := bcrypt.Cost([]byte(hash)); err != nil {
		return fmt.Errorf("user %q: the password hash is not a bcrypt hash (make one with `htpasswd -nbB user password` or bcrypt.GenerateFromPassword)", user)
	}
	return nil
}
