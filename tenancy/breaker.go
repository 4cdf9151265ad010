package tenancy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// The circuit breaker. An answer about the tenant's account (a rule with
// Breaker set in the classification table: a bad or inactive ApiKey,
// another tenant's token, no permission, bundle codes 4001, 4002,
// 4004-4007) pauses the tenant: the task that met it is dead-lettered as the
// evidence, its other tasks stay held. After ProbeInterval one held task is
// let through as a probe; success resumes the tenant, the same answer keeps
// it paused and the next probe waits twice as long (up to ProbeMax).
//
// A tenant that has not succeeded for HealthyFor (a new tenant, or one
// whose account may have broken while idle) runs one task at a time until
// one succeeds, so that a broken account costs one call, not one per slot.

// Defaults of BreakerConfig.
const (
	ProbeIntervalDefault = time.Minute
	ProbeMaxDefault      = 30 * time.Minute
	HealthyForDefault    = 10 * time.Minute
)

// Grant kinds: a grant's value is "<due ms>" for an ordinary dispatch,
// "probe:<due ms>" for a breaker probe, "trial:<due ms>" for the one task
// of a tenant on trial.
const (
	GrantProbe = "probe"
	GrantTrial = "trial"
)

// BreakerConfig configures the circuit breaker of States.
type BreakerConfig struct {
	// ProbeInterval is the wait before the first probe of a tripped tenant.
	// Default ProbeIntervalDefault (60 s).
	ProbeInterval time.Duration
	// ProbeMax caps the wait between probes, which doubles after each
	// failed probe. Default ProbeMaxDefault (30 min).
	ProbeMax time.Duration
	// HealthyFor is how long a success keeps a tenant out of trial (one task
	// at a time). Default HealthyForDefault (10 min); negative turns trials
	// off.
	HealthyFor time.Duration
}

const (
	healthyKey     = "vlensq:tenants:healthy" // HASH tenant -> last success (ms)
	probeKeyPrefix = "vlensq:tenants:probe:"  // a probe or trial in flight
	healthyCache   = time.Second
	// healthyWrite is how often one process records a tenant's success.
	healthyWrite = 10 * time.Second
)

// breaker is the part of States that trips and probes.
type breaker struct {
	cfg BreakerConfig

	mu         sync.Mutex
	healthy    map[string]int64 // tenant -> last success (ms), from Redis
	healthyAt  time.Time
	lastWrites map[string]time.Time
}

func (b *breaker) defaults() {
	if b.cfg.ProbeInterval <= 0 {
		b.cfg.ProbeInterval = ProbeIntervalDefault
	}
	if b.cfg.ProbeMax <= 0 {
		b.cfg.ProbeMax = ProbeMaxDefault
	}
	if b.cfg.HealthyFor == 0 {
		b.cfg.HealthyFor = HealthyForDefault
	}
	b.lastWrites = map[string]time.Time{}
}

// Trip pauses tenant for cause unless it is paused already, and reports
// whether this call paused it: two workers meeting the error at once trip
// the breaker once. The caller dead-letters its task when it tripped and
// holds it otherwise; it then calls Tripped with the dead-letter id.
func (s *States) Trip(ctx context.Context, tenant string, cause Cause) (bool, error) {
	now := s.cfg.Now().UTC()
	p := Pause{Tenant: tenant, At: now, By: "breaker", Cause: &cause, NextProbe: now.Add(s.br.cfg.ProbeInterval)}
	b, err := json.Marshal(p)
	if err != nil {
		return false, err
	}
	ok, err := s.rdb.HSetNX(ctx, pausedKey, tenant, b).Result()
	if err != nil {
		return false, fmt.Errorf("tenancy: trip breaker of %s: %w", tenant, err)
	}
	s.forget()
	return ok, nil
}

// Tripped records the dead letter that tripped tenant's breaker and
// announces the pause (log, history, outcome stream).
func (s *States) Tripped(ctx context.Context, tenant, deadLetterID string) {
	p, ok, err := s.Get(ctx, tenant)
	if err == nil && ok && p.Cause != nil {
		p.Cause.DeadLetterID = deadLetterID
		_ = s.store(ctx, p)
	}
	if !ok || p.Cause == nil {
		return
	}
	s.emit(ctx, Event{Event: EventPaused, Tenant: tenant, At: p.At, By: p.By, Cause: p.Cause})
}

// ProbeFailed keeps tenant paused after its probe met the account error
// again, and doubles the wait before the next probe (up to ProbeMax).
func (s *States) ProbeFailed(ctx context.Context, tenant string) error {
	defer s.endProbe(ctx, tenant)
	p, ok, err := s.Get(ctx, tenant)
	if err != nil || !ok || p.Cause == nil {
		return err
	}
	p.Probes++
	wait := s.br.cfg.ProbeInterval << min(p.Probes, 20)
	p.NextProbe = s.cfg.Now().UTC().Add(min(wait, s.br.cfg.ProbeMax))
	return s.store(ctx, p)
}

// ProbeSucceeded resumes tenant after its probe (or trial) succeeded or met
// an error that is not about the account, when the breaker had paused it.
// A pause by hand stays.
func (s *States) ProbeSucceeded(ctx context.Context, tenant string) error {
	defer s.endProbe(ctx, tenant)
	s.Healthy(ctx, tenant)
	p, ok, err := s.Get(ctx, tenant)
	if err != nil || !ok || p.Cause == nil {
		return err
	}
	return s.Resume(ctx, tenant, "breaker: probe succeeded")
}

// ProbeEnded releases a probe or trial that ended with no verdict on the
// account (a transient failure): the next one may run after the lease.
func (s *States) ProbeEnded(ctx context.Context, tenant string) { s.endProbe(ctx, tenant) }

func (s *States) endProbe(ctx context.Context, tenant string) {
	_ = s.rdb.Del(ctx, probeKeyPrefix+tenant).Err()
}

// Healthy records that tenant's account answered a call (a success or a
// task-level error): it is out of trial for HealthyFor. One process writes
// it at most every ten seconds per tenant.
func (s *States) Healthy(ctx context.Context, tenant string) {
	if s.br.cfg.HealthyFor < 0 {
		return
	}
	now := s.cfg.Now()
	s.br.mu.Lock()
	if s.br.healthy != nil {
		// This process's dispatcher sees it at once; others within a second.
		s.br.healthy[tenant] = now.UnixMilli()
	}
	last := s.br.lastWrites[tenant]
	if now.Sub(last) < healthyWrite {
		s.br.mu.Unlock()
		return
	}
	s.br.lastWrites[tenant] = now
	s.br.mu.Unlock()
	_ = s.rdb.HSet(ctx, healthyKey, tenant, now.UnixMilli()).Err()
}

// onTrial reports whether tenant has not succeeded within HealthyFor, from
// a view at most a second old.
func (s *States) onTrial(ctx context.Context, tenant string) (bool, error) {
	if s.br.cfg.HealthyFor < 0 {
		return false, nil
	}
	s.br.mu.Lock()
	defer s.br.mu.Unlock()
	now := s.cfg.Now()
	if s.br.healthy == nil || now.Sub(s.br.healthyAt) > healthyCache {
		m, err := s.rdb.HGetAll(ctx, healthyKey).Result()
		if err != nil {
			return false, fmt.Errorf("tenancy: read healthy tenants: %w", err)
		}
		s.br.healthy = make(map[string]int64, len(m))
		for k, v := range m {
			ms, _ := strconv.ParseInt(v, 10, 64)
			s.br.healthy[k] = ms
		}
		s.br.healthyAt = now
	}
	last, ok := s.br.healthy[tenant]
	return !ok || now.Sub(time.UnixMilli(last)) > s.br.cfg.HealthyFor, nil
}

// claimProbe takes tenant's single probe-or-trial slot for lease; false
// when one is in flight.
func (s *States) claimProbe(ctx context.Context, tenant string, lease time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, probeKeyPrefix+tenant, s.cfg.Now().UnixMilli(), lease).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return false, fmt.Errorf("tenancy: claim probe of %s: %w", tenant, err)
	}
	return ok, nil
}

// ProbeLease is how long a probe or trial task keeps its tenant's slot
// without a heartbeat (KeepProbe renews it every third of that): when its
// worker dies, the next probe or trial may run after it, well before asynq
// recovers the task itself (about a minute).
const ProbeLease = 30 * time.Second

// KeepProbe renews tenant's probe-or-trial slot while the task that holds
// it runs; call the returned function when the attempt ends.
func (s *States) KeepProbe(ctx context.Context, tenant string) (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(ProbeLease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_ = s.rdb.SetXX(ctx, probeKeyPrefix+tenant, s.cfg.Now().UnixMilli(), ProbeLease).Err()
			}
		}
	}()
	return func() { cancel(); <-done }
}

// servePaused leaves a paused tenant's tasks held, except the breaker's
// probe when it is due: one task, dispatched with a probe grant.
func (s *Scheduler) servePaused(ctx context.Context, q string, t due, p Pause, now time.Time) error {
	if p.Cause == nil || p.NextProbe.After(now) {
		next := now.Add(pausedRecheck)
		if p.Cause != nil && p.NextProbe.Before(next) {
			next = p.NextProbe
		}
		return s.putAside(ctx, q, t.tenant, next)
	}
	ok, err := s.cfg.States.claimProbe(ctx, t.tenant, ProbeLease)
	if err != nil || !ok {
		if err == nil {
			err = s.putAside(ctx, q, t.tenant, now.Add(pausedRecheck))
		}
		return err
	}
	n, err := s.dispatch(ctx, q, t.tenant, 1, GrantProbe, false, now)
	if err == nil && n == 0 {
		s.cfg.States.endProbe(ctx, t.tenant)
	}
	return err
}

// trialWant limits a tenant on trial to one task in flight: 1 when it may
// start one now (the trial slot was free), 0 otherwise; want for a healthy
// tenant. The grant marks the trial.
func (s *Scheduler) trialWant(ctx context.Context, tenant string, want int) (int, string, error) {
	if s.cfg.States == nil {
		return want, "", nil
	}
	trial, err := s.cfg.States.onTrial(ctx, tenant)
	if err != nil || !trial {
		return want, "", err
	}
	ok, err := s.cfg.States.claimProbe(ctx, tenant, ProbeLease)
	if err != nil || !ok {
		return 0, "", err
	}
	return 1, GrantTrial, nil
}

// GrantKind returns the kind of a grant ("", GrantProbe, GrantTrial) and
// the due time it carries.
func GrantKind(v string) (string, time.Time) {
	kind, rest, ok := strings.Cut(v, ":")
	if !ok {
		kind, rest = "", v
	}
	due, _ := grantOf(rest)
	return kind, due
}
