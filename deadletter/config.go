package deadletter

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Defaults for Config and for the per-call options.
const (
	// PrefixDefault is the default key prefix. Every key is "{" + prefix + "}:..."
	// so that all keys share one Redis Cluster hash slot.
	PrefixDefault = "vlensq:dlq"
	// RetentionAgeDefault is the default maximum age of a record, counted from
	// its failed_at: zero keeps records whatever their age (retention by count
	// still applies).
	RetentionAgeDefault time.Duration = 0
	// MaxCountDefault is the default maximum number of records kept.
	MaxCountDefault = 1_000_000
	// TrimEveryDefault is how many Add calls (per Store) may pass between two
	// retention runs.
	TrimEveryDefault = 1000
	// TrimIntervalDefault is the longest time between two retention runs
	// triggered by Add.
	TrimIntervalDefault = 5 * time.Second
	// TrimBudgetDefault is the most records one retention run triggered by Add
	// removes, so that Add stays fast; Trim has no budget.
	TrimBudgetDefault = 5000
	// ListLimitDefault is the page size of List when limit is 0.
	ListLimitDefault = 50
	// ListLimitMax is the largest page List returns; larger limits are capped.
	ListLimitMax = 1000
	// RequeueRateDefault is the default requeue rate, in records per second.
	RequeueRateDefault = 20.0
)

// Reasons passed to Config.OnTrim.
const (
	// TrimReasonAge: records older than Config.MaxAge (from failed_at).
	TrimReasonAge = "age"
	// TrimReasonCount: the oldest records beyond Config.MaxCount.
	TrimReasonCount = "count"
)

// Config configures a Store. The zero value is usable.
type Config struct {
	// Prefix is the key prefix. Default PrefixDefault ("vlensq:dlq"). It must
	// not contain '{' or '}': the store wraps it in braces to form the Redis
	// Cluster hash tag shared by all its keys.
	Prefix string
	// MaxAge removes records whose failed_at is older than this. Default
	// RetentionAgeDefault (0: no age limit). Must not be negative.
	MaxAge time.Duration
	// MaxCount keeps at most this many records, removing the oldest first.
	// Default MaxCountDefault (1,000,000) when 0; a negative value means no
	// limit.
	MaxCount int
	// TrimEvery runs retention from Add at most every TrimEvery adds (or every
	// TrimInterval, whichever comes first). Default TrimEveryDefault (1000).
	TrimEvery int
	// TrimInterval runs retention from Add when this much time has passed
	// since the last run. Default TrimIntervalDefault (5 s).
	TrimInterval time.Duration
	// TrimBudget bounds the records removed by one retention run started from
	// Add; the rest goes on the next run (or use Trim). Default
	// TrimBudgetDefault (5000).
	TrimBudget int
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// OnTrim is called whenever retention removes records, with the number
	// removed and the reason (TrimReasonAge or TrimReasonCount). The caller
	// logs and counts it. Default: nothing (Trim still returns the count).
	OnTrim func(n int, reason string)
	// OnTrimError is called when a retention run started from Add fails; Add
	// itself still succeeds. Default: nothing (the next run retries).
	OnTrimError func(err error)
}

func (c Config) withDefaults() Config {
	c.Prefix = cmp.Or(c.Prefix, PrefixDefault)
	c.MaxCount = cmp.Or(c.MaxCount, MaxCountDefault)
	c.TrimEvery = cmp.Or(c.TrimEvery, TrimEveryDefault)
	c.TrimInterval = cmp.Or(c.TrimInterval, TrimIntervalDefault)
	c.TrimBudget = cmp.Or(c.TrimBudget, TrimBudgetDefault)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.OnTrim == nil {
		c.OnTrim = func(int, string) {}
	}
	if c.OnTrimError == nil {
		c.OnTrimError = func(error) {}
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	if strings.ContainsAny(c.Prefix, "{} \t\r\n") {
		errs = append(errs, fmt.Errorf("Prefix %q must not contain braces or white space", c.Prefix))
	}
	if c.MaxAge < 0 {
		errs = append(errs, fmt.Errorf("MaxAge %s must not be negative", c.MaxAge))
	}
	if c.TrimEvery < 0 {
		errs = append(errs, fmt.Errorf("TrimEvery %d must not be negative", c.TrimEvery))
	}
	if c.TrimInterval < 0 {
		errs = append(errs, fmt.Errorf("TrimInterval %s must not be negative", c.TrimInterval))
	}
	if c.TrimBudget < 0 {
		errs = append(errs, fmt.Errorf("TrimBudget %d must not be negative", c.TrimBudget))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("deadletter: invalid config: %w", err)
	}
	return nil
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
