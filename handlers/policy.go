package handlers

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/vlensq/vlensq/tenancy"
)

// Defaults of Policy: the Vlens errors page's strategy (500 ms → 1 s → 2 s →
// 4 s, max 3 attempts, cap 8 s).
const (
	BaseDelayDefault    = 500 * time.Millisecond
	MaxDelayDefault     = 8 * time.Second
	MultiplierDefault   = 2.0
	JitterDefault       = 0.2
	MaxAttemptsDefault  = 3
	ThrottleMinDefault  = time.Second
	ThrottleMaxDefault  = 10 * time.Minute
	ThrottleJitterRatio = 0.1
	// InternalAttemptsDefault bounds the attempts of a task failing for
	// reasons of our own (see Policy.InternalAttempts).
	InternalAttemptsDefault = 10
	// ThrottleLimitDefault bounds the time Vlens may keep throttling a task
	// (see Policy.ThrottleLimit).
	ThrottleLimitDefault = time.Hour
)

// Policy is the retry policy of transient and throttled failures.
type Policy struct {
	// BaseDelay is the delay before the first retry. Default BaseDelayDefault.
	BaseDelay time.Duration
	// Multiplier grows the delay per retry. Default MultiplierDefault.
	Multiplier float64
	// MaxDelay caps the delay. Default MaxDelayDefault.
	MaxDelay time.Duration
	// Jitter takes up to this fraction off each delay, at random, so that
	// tasks failing together do not retry together. Default JitterDefault;
	// a negative value disables jitter.
	Jitter float64
	// MaxAttempts bounds the attempts of a task failing transiently,
	// including the first; the last failure dead-letters the task as
	// retries_exhausted. Default MaxAttemptsDefault.
	MaxAttempts int
	// ThrottleMin and ThrottleMax bound the wait of a throttled task (429,
	// 4003, local rate limit) when Vlens gives no usable Retry-After.
	// Throttled waits never use up attempts. Defaults ThrottleMinDefault,
	// ThrottleMaxDefault.
	ThrottleMin, ThrottleMax time.Duration
	// InternalAttempts bounds the attempts of a task that fails for a reason
	// of our own rather than a Vlens verdict (Redis, the blob store, a
	// dead-letter or outcome write), including the first; the last such
	// failure dead-letters the task (category internal, retries_exhausted).
	// Default InternalAttemptsDefault (10). Whatever it says, a task that
	// reaches asynq's own budget (MaxRetry) is dead-lettered, never archived
	// without a record.
	InternalAttempts int
	// ThrottleLimit bounds how long Vlens may keep throttling a task (429,
	// 4003), counted from its first throttled answer; the next throttled
	// answer after it dead-letters the task as throttled_too_long. Waits for
	// the local rate limit do not count (they are our own backlog). Default
	// ThrottleLimitDefault (1 h).
	ThrottleLimit time.Duration
}

func (p Policy) withDefaults() Policy {
	if p.BaseDelay <= 0 {
		p.BaseDelay = BaseDelayDefault
	}
	if p.Multiplier < 1 {
		p.Multiplier = MultiplierDefault
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = MaxDelayDefault
	}
	if p.Jitter == 0 {
		p.Jitter = JitterDefault
	}
	if p.Jitter < 0 {
		p.Jitter = 0
	}
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = MaxAttemptsDefault
	}
	if p.ThrottleMin <= 0 {
		p.ThrottleMin = ThrottleMinDefault
	}
	if p.ThrottleMax <= 0 {
		p.ThrottleMax = ThrottleMaxDefault
	}
	if p.InternalAttempts <= 0 {
		p.InternalAttempts = InternalAttemptsDefault
	}
	if p.ThrottleLimit <= 0 {
		p.ThrottleLimit = ThrottleLimitDefault
	}
	return p
}

func (p Policy) validate() error {
	if p.Jitter >= 1 {
		return fmt.Errorf("retry policy: jitter must be below 1, got %v", p.Jitter)
	}
	if p.MaxDelay < p.BaseDelay {
		return fmt.Errorf("retry policy: max delay %v is below the base delay %v", p.MaxDelay, p.BaseDelay)
	}
	if p.ThrottleMax < p.ThrottleMin {
		return fmt.Errorf("retry policy: throttle max %v is below throttle min %v", p.ThrottleMax, p.ThrottleMin)
	}
	return nil
}

// Backoff is the nominal delay before retry n+1 (n failed attempts so far, 0
// for the first failure), without jitter: BaseDelay·Multiplier^n, capped.
func (p Policy) Backoff(n int) time.Duration {
	d := float64(p.BaseDelay)
	for range n {
		d *= p.Multiplier
		if d >= float64(p.MaxDelay) {
			return p.MaxDelay
		}
	}
	return min(time.Duration(d), p.MaxDelay)
}

// jittered takes a random fraction (up to Jitter) off d.
func (p Policy) jittered(d time.Duration, r float64) time.Duration {
	return d - time.Duration(float64(d)*p.Jitter*r)
}

// Delay is the delay asynq waits before running a failed task again: the
// backoff for transient failures, the requested wait for throttled ones.
// It is the RetryDelayFunc of the worker (see ServerConfig).
func (p Policy) Delay(n int, err error) time.Duration {
	var re *RetryError
	if errors.As(err, &re) {
		if re.held {
			return tenancy.ParkDelay(time.Now())
		}
		return re.Delay
	}
	var he *HeldError
	if errors.As(err, &he) {
		return tenancy.ParkDelay(time.Now())
	}
	var te *ThrottledError
	if errors.As(err, &te) {
		if te.held {
			return tenancy.ParkDelay(time.Now())
		}
		if te.exact {
			return te.Wait
		}
		return p.ThrottleWait(te.Wait)
	}
	return p.TransientDelay(n)
}

// TransientDelay is the jittered delay before retry n+1 of a transient
// failure (n failed attempts so far).
func (p Policy) TransientDelay(n int) time.Duration {
	return p.jittered(p.Backoff(n), rand.Float64())
}

// ThrottleWait bounds a requested wait to [ThrottleMin, ThrottleMax] and
// spreads it a little, so throttled tasks do not return in a burst.
func (p Policy) ThrottleWait(w time.Duration) time.Duration {
	w = min(max(w, p.ThrottleMin), p.ThrottleMax)
	return w + time.Duration(float64(w)*ThrottleJitterRatio*rand.Float64())
}

// RetryError asks asynq to run the task again after Delay; the attempt
// counts (see IsFailure).
type RetryError struct {
	Delay time.Duration
	Err   error
	// held marks a task already back in its tenant's hold set, due after
	// Delay: asynq parks it and the fair dispatcher releases it.
	held bool
}

func (e *RetryError) Error() string {
	return fmt.Sprintf("retry in %v: %v", e.Delay.Round(time.Millisecond), e.Err)
}

func (e *RetryError) Unwrap() error { return e.Err }

// ThrottledError asks asynq to run the task again after Wait without spending
// one of its attempts (see IsFailure).
type ThrottledError struct {
	Wait time.Duration
	Err  error
	// exact marks a Wait already bounded and spread by the handler.
	exact bool
	// held: see RetryError.
	held bool
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("throttled, retry in %v: %v", e.Wait.Round(time.Millisecond), e.Err)
}

func (e *ThrottledError) Unwrap() error { return e.Err }

// IsFailure tells asynq which errors spend an attempt: all but throttling
// and waiting for the tenant's turn.
func IsFailure(err error) bool {
	var te *ThrottledError
	var he *HeldError
	return !errors.As(err, &te) && !errors.As(err, &he)
}
