package tenancy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Keys of the tenant states; not per queue (a pause holds a tenant's tasks
// in every queue).
const (
	pausedKey = "vlensq:tenants:paused"
	eventsKey = "vlensq:tenants:events"
	// EventsKept bounds the pause and resume history kept in Redis.
	EventsKept = 1000
)

// pausedCacheTTL is how long a dispatcher reuses the set of paused tenants.
const pausedCacheTTL = 250 * time.Millisecond

// ErrUnknownTenant reports a pause or resume of a tenant the registry does
// not know.
var ErrUnknownTenant = errors.New("unknown tenant")

// ErrNotPaused reports a resume of a tenant that is running.
var ErrNotPaused = errors.New("tenant is not paused")

// Cause is why the circuit breaker paused a tenant: the account-level error
// Vlens answered.
type Cause struct {
	Code         int    `json:"code,omitempty"`
	HTTPStatus   int    `json:"http_status,omitempty"`
	Message      string `json:"message,omitempty"`
	Category     string `json:"category"`
	DeadLetterID string `json:"dead_letter_id,omitempty"`
	Type         string `json:"type,omitempty"`
}

// Pause is a paused tenant's state.
type Pause struct {
	Tenant string    `json:"tenant"`
	At     time.Time `json:"at"`
	// By is who paused it: "breaker" for the circuit breaker, otherwise the
	// operator's name as given.
	By     string `json:"by"`
	Reason string `json:"reason,omitempty"`
	// Cause is set when the circuit breaker paused the tenant.
	Cause *Cause `json:"cause,omitempty"`
	// Probes counts failed probes since the pause; NextProbe is when the
	// next one may run (breaker pauses only).
	Probes    int       `json:"probes,omitempty"`
	NextProbe time.Time `json:"next_probe,omitzero"`
}

// Event is one pause or resume, kept in the tenant history and published on
// the outcome stream.
type Event struct {
	Event  string    `json:"event"` // tenant_paused, tenant_resumed
	Tenant string    `json:"tenant"`
	At     time.Time `json:"at"`
	By     string    `json:"by,omitempty"`
	Reason string    `json:"reason,omitempty"`
	Cause  *Cause    `json:"cause,omitempty"`
}

// Event names.
const (
	EventPaused  = "tenant_paused"
	EventResumed = "tenant_resumed"
)

// StatesConfig configures States.
type StatesConfig struct {
	// Redis holds the states. Required.
	Redis redis.UniversalClient
	// Known reports whether a tenant exists; pausing an unknown tenant is an
	// error naming it. Nil accepts any name.
	Known func(ctx context.Context, tenant string) (bool, error)
	// OnEvent runs after each pause and resume is stored (the worker
	// publishes it on the outcome stream). Optional.
	OnEvent func(ctx context.Context, e Event)
	// Breaker configures the circuit breaker's probes and trials.
	Breaker BreakerConfig
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// States stores which tenants are paused, by hand or by the circuit
// breaker, and why. Pauses live in Redis, so they hold across worker
// restarts and for every worker.
type States struct {
	cfg StatesConfig
	rdb redis.UniversalClient

	mu       sync.Mutex
	cached   map[string]Pause
	cachedAt time.Time

	br breaker
}

// NewStates returns the tenant states stored in cfg.Redis.
func NewStates(cfg StatesConfig) (*States, error) {
	if cfg.Redis == nil {
		return nil, errors.New("tenancy: StatesConfig.Redis is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &States{cfg: cfg, rdb: cfg.Redis, br: breaker{cfg: cfg.Breaker}}
	s.br.defaults()
	return s, nil
}

// Pause pauses tenant by hand: its tasks stay held (no Vlens call, no
// attempt spent, no dead letter) until Resume; new tasks are still
// accepted. Pausing a paused tenant updates who and why.
func (s *States) Pause(ctx context.Context, tenant, by, reason string) (Pause, error) {
	if err := s.known(ctx, tenant); err != nil {
		return Pause{}, err
	}
	p := Pause{Tenant: tenant, At: s.cfg.Now().UTC(), By: by, Reason: reason}
	if err := s.store(ctx, p); err != nil {
		return Pause{}, err
	}
	s.emit(ctx, Event{Event: EventPaused, Tenant: tenant, At: p.At, By: by, Reason: reason})
	return p, nil
}

// Resume lets a paused tenant's tasks run again, at the tenant's normal rate
// and fair share. It returns ErrNotPaused when the tenant was running.
func (s *States) Resume(ctx context.Context, tenant, by string) error {
	if err := s.known(ctx, tenant); err != nil {
		return err
	}
	n, err := s.rdb.HDel(ctx, pausedKey, tenant).Result()
	if err != nil {
		return fmt.Errorf("tenancy: resume %s: %w", tenant, err)
	}
	s.forget()
	if n == 0 {
		return fmt.Errorf("tenancy: %s: %w", tenant, ErrNotPaused)
	}
	s.emit(ctx, Event{Event: EventResumed, Tenant: tenant, At: s.cfg.Now().UTC(), By: by})
	return nil
}

// Paused returns every paused tenant's state, read from Redis.
func (s *States) Paused(ctx context.Context) (map[string]Pause, error) {
	m, err := s.rdb.HGetAll(ctx, pausedKey).Result()
	if err != nil {
		return nil, fmt.Errorf("tenancy: read paused tenants: %w", err)
	}
	out := make(map[string]Pause, len(m))
	for name, v := range m {
		var p Pause
		if err := json.Unmarshal([]byte(v), &p); err != nil {
			return nil, fmt.Errorf("tenancy: paused state of %s: %w", name, err)
		}
		out[name] = p
	}
	return out, nil
}

// Get returns tenant's pause, if it is paused.
func (s *States) Get(ctx context.Context, tenant string) (Pause, bool, error) {
	v, err := s.rdb.HGet(ctx, pausedKey, tenant).Result()
	if errors.Is(err, redis.Nil) {
		return Pause{}, false, nil
	}
	if err != nil {
		return Pause{}, false, fmt.Errorf("tenancy: read state of %s: %w", tenant, err)
	}
	var p Pause
	if err := json.Unmarshal([]byte(v), &p); err != nil {
		return Pause{}, false, fmt.Errorf("tenancy: paused state of %s: %w", tenant, err)
	}
	return p, true, nil
}

// Events returns the most recent pauses and resumes, newest first.
func (s *States) Events(ctx context.Context, n int) ([]Event, error) {
	vs, err := s.rdb.LRange(ctx, eventsKey, 0, int64(n)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("tenancy: read tenant events: %w", err)
	}
	out := make([]Event, 0, len(vs))
	for _, v := range vs {
		var e Event
		if json.Unmarshal([]byte(v), &e) == nil {
			out = append(out, e)
		}
	}
	return out, nil
}

// cachedPaused is Paused, reused for pausedCacheTTL: the dispatcher asks
// every round.
func (s *States) cachedPaused(ctx context.Context) (map[string]Pause, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if s.cached != nil && now.Sub(s.cachedAt) < pausedCacheTTL {
		return s.cached, nil
	}
	m, err := s.Paused(ctx)
	if err != nil {
		return nil, err
	}
	s.cached, s.cachedAt = m, now
	return m, nil
}

func (s *States) forget() {
	s.mu.Lock()
	s.cached = nil
	s.mu.Unlock()
}

func (s *States) store(ctx context.Context, p Pause) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if err := s.rdb.HSet(ctx, pausedKey, p.Tenant, b).Err(); err != nil {
		return fmt.Errorf("tenancy: pause %s: %w", p.Tenant, err)
	}
	s.forget()
	return nil
}

func (s *States) known(ctx context.Context, tenant string) error {
	if tenant == "" {
		return fmt.Errorf("tenancy: tenant: is required")
	}
	if s.cfg.Known == nil {
		return nil
	}
	ok, err := s.cfg.Known(ctx, tenant)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("tenancy: tenant %q: %w", tenant, ErrUnknownTenant)
	}
	return nil
}

// emit records e in the history and hands it to OnEvent. A failure to
// record is not the caller's failure: the state itself is stored.
func (s *States) emit(ctx context.Context, e Event) {
	if b, err := json.Marshal(e); err == nil {
		pipe := s.rdb.Pipeline()
		pipe.LPush(ctx, eventsKey, b)
		pipe.LTrim(ctx, eventsKey, 0, EventsKept-1)
		_, _ = pipe.Exec(ctx)
	}
	if s.cfg.OnEvent != nil {
		s.cfg.OnEvent(ctx, e)
	}
}

// pausedNow is the dispatcher's view of the paused tenants.
func (s *Scheduler) pausedNow(ctx context.Context) (map[string]Pause, error) {
	if s.cfg.States == nil {
		return nil, nil
	}
	return s.cfg.States.cachedPaused(ctx)
}
