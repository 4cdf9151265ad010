package deadletter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// trimBatch is the number of records removed per round trip by retention.
const trimBatch = 500

// claimStale is how long a record may stay claimed for trimming before
// another trimmer takes over (the first one presumably died).
const claimStale = time.Minute

// Trim applies retention now: first by age (records whose failed_at is older
// than Config.MaxAge), then by count (the oldest records beyond
// Config.MaxCount). It removes records, payloads and all index entries,
// calls Config.OnTrim for each reason that removed something, and returns the
// total removed. Add runs the same retention, bounded, every
// Config.TrimEvery adds or Config.TrimInterval.
func (s *Store) Trim(ctx context.Context) (int, error) {
	return s.trim(ctx, -1)
}

// maybeTrim runs bounded retention from Add when it is due and no other run
// of this Store is in progress.
func (s *Store) maybeTrim(ctx context.Context) {
	now := s.cfg.Now()
	due := s.adds.Load()%int64(s.cfg.TrimEvery) == 0 ||
		now.Sub(time.Unix(0, s.lastTrim.Load())) >= s.cfg.TrimInterval
	if !due || !s.trimming.CompareAndSwap(false, true) {
		return
	}
	defer s.trimming.Store(false)
	s.lastTrim.Store(now.UnixNano())
	if _, err := s.trim(ctx, s.cfg.TrimBudget); err != nil {
		s.cfg.OnTrimError(err)
	}
}

// trim removes up to budget records (no bound when budget < 0).
func (s *Store) trim(ctx context.Context, budget int) (int, error) {
	left := func(done int) int {
		if budget < 0 {
			return trimBatch
		}
		return min(trimBatch, budget-done)
	}
	total := 0

	// Records claimed by a trimmer that died.
	stale, err := s.rdb.ZRangeByScore(ctx, s.k.trimming(), &redis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(s.cfg.Now().Add(-claimStale).UnixMilli(), 10), Count: trimBatch,
	}).Result()
	if err != nil {
		return 0, fmt.Errorf("deadletter: trim: %w", err)
	}
	if len(stale) > 0 {
		n, err := s.removeIDs(ctx, stale)
		if n > 0 {
			s.cfg.OnTrim(n, TrimReasonCount)
		}
		total += n
		if err != nil {
			return total, fmt.Errorf("deadletter: trim: %w", err)
		}
	}

	if s.cfg.MaxAge > 0 {
		cutoff := strconv.FormatInt(s.cfg.Now().Add(-s.cfg.MaxAge).UnixMilli(), 10)
		n := 0
		for {
			want := left(total + n)
			if want <= 0 {
				break
			}
			ids, err := s.rdb.ZRangeByScore(ctx, s.k.all(), &redis.ZRangeBy{Min: "-inf", Max: "(" + cutoff, Count: int64(want)}).Result()
			if err == nil && len(ids) > 0 {
				var m int
				m, err = s.removeIDs(ctx, ids)
				n += m
			}
			if err != nil {
				s.reportTrim(n, TrimReasonAge)
				return total + n, fmt.Errorf("deadletter: trim by age: %w", err)
			}
			if len(ids) < want {
				break
			}
		}
		s.reportTrim(n, TrimReasonAge)
		total += n
	}

	if s.cfg.MaxCount > 0 {
		n := 0
		for {
			want := left(total + n)
			if want <= 0 {
				break
			}
			ids, err := s.claimOldest(ctx, want)
			if err == nil && len(ids) > 0 {
				var m int
				m, err = s.removeIDs(ctx, ids)
				n += m
			}
			if err != nil {
				s.reportTrim(n, TrimReasonCount)
				return total + n, fmt.Errorf("deadletter: trim by count: %w", err)
			}
			if len(ids) < want {
				break
			}
		}
		s.reportTrim(n, TrimReasonCount)
		total += n
	}
	return total, nil
}

// claimOldest atomically takes up to n of the oldest records beyond
// MaxCount out of the "all" index (see claimScript).
func (s *Store) claimOldest(ctx context.Context, n int) ([]string, error) {
	res, err := claimScript.Run(ctx, s.rdb, []string{s.k.all(), s.k.trimming()},
		s.cfg.MaxCount, n, s.cfg.Now().UnixMilli()).StringSlice()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return res, err
}

func (s *Store) reportTrim(n int, reason string) {
	if n > 0 {
		s.cfg.OnTrim(n, reason)
	}
}
