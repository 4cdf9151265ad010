package deadletter

import (
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestTrimByAge(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) { c.MaxAge = 24 * time.Hour; c.TrimEvery = 1 << 30; c.TrimInterval = time.Hour })
	var recent string
	for i := range 10 {
		rec := newRec("age", fmt.Sprintf("a-%d", i))
		rec.FailedAt = t0.Add(-time.Duration(i) * 6 * time.Hour) // 0h, 6h, ... 54h old
		id := b.mustAdd(t, rec, "p")
		if i == 4 {
			recent = id // exactly 24h old: kept
		}
	}
	// The first Add ran retention; nothing was old then but later records
	// were added old. Trim now.
	n, err := b.store.Trim(b.ctx)
	if err != nil || n != 5 { // 30h .. 54h
		t.Fatalf("Trim = %d, %v; want 5", n, err)
	}
	if got := b.trims.total(TrimReasonAge); got != 5 {
		t.Errorf("OnTrim age total = %d, want 5 (calls %v)", got, b.trims.calls)
	}
	if _, err := b.store.Get(b.ctx, recent); err != nil {
		t.Errorf("record exactly MaxAge old was trimmed: %v", err)
	}
	st, _ := b.store.Stats(b.ctx)
	if st.Total != 5 || st.ByTenant["age"] != 5 || st.Oldest != t0.Add(-24*time.Hour) {
		t.Errorf("stats after trim: %+v", st)
	}
	// Age counts from failed_at: advancing the clock ages records.
	b.clock.Advance(7 * time.Hour)
	if n, _ := b.store.Trim(b.ctx); n != 2 { // were 18h and 24h old
		t.Errorf("Trim after 7h = %d, want 2", n)
	}
	if n, _ := b.store.Trim(b.ctx); n != 0 || len(b.trims.calls) != 2 {
		t.Errorf("idle Trim = %d, OnTrim calls %v; want 0 and no new call", n, b.trims.calls)
	}
}

func TestTrimByCount(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) { c.MaxCount = 10; c.TrimEvery = 1 << 30; c.TrimInterval = time.Hour })
	ids := make([]string, 25)
	for i := range ids {
		rec := newRec("count", fmt.Sprintf("c-%d", i))
		rec.FailedAt = t0.Add(time.Duration(i) * time.Second)
		ids[i] = b.mustAdd(t, rec, "p")
	}
	n, err := b.store.Trim(b.ctx)
	if err != nil || n != 15 {
		t.Fatalf("Trim = %d, %v; want 15", n, err)
	}
	if got := b.trims.total(TrimReasonCount); got != 15 {
		t.Errorf("OnTrim count total = %d, want 15 (calls %v)", got, b.trims.calls)
	}
	for i, id := range ids {
		_, err := b.store.Get(b.ctx, id)
		if kept := err == nil; kept != (i >= 15) {
			t.Errorf("record %d (oldest first) kept=%v", i, kept)
		}
	}
	if c, _ := b.store.Count(b.ctx, Filter{Tenant: "count"}); c != 10 {
		t.Errorf("tenant index holds %d, want 10", c)
	}
	if k, _ := b.rdb.ZCard(b.ctx, b.store.k.trimming()).Result(); k != 0 {
		t.Errorf("%d ids left in the trimming set", k)
	}
}

func TestAddAppliesRetention(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) { c.MaxCount = 5; c.TrimEvery = 4; c.TrimInterval = time.Hour })
	for i := range 12 {
		rec := newRec("auto", fmt.Sprintf("auto-%d", i))
		rec.FailedAt = t0.Add(time.Duration(i) * time.Second)
		b.mustAdd(t, rec, "p")
	}
	// Retention ran on Add 1 (first run), 4, 8 and 12: 12 records kept at 5.
	if c, _ := b.store.Count(b.ctx, Filter{}); c != 5 {
		t.Errorf("%d records after 12 adds with MaxCount 5 and TrimEvery 4, want 5", c)
	}
	if got := b.trims.total(TrimReasonCount); got != 7 {
		t.Errorf("OnTrim reported %d, want 7 (calls %v)", got, b.trims.calls)
	}

	// Time also triggers it.
	b2 := setup(t, func(c *Config) { c.MaxCount = 2; c.TrimEvery = 1 << 30; c.TrimInterval = time.Minute })
	for i := range 4 {
		b2.mustAdd(t, newRec("auto2", fmt.Sprintf("t-%d", i)), "p")
	}
	if c, _ := b2.store.Count(b2.ctx, Filter{}); c != 4 {
		t.Fatalf("%d records, want 4 before the interval passes", c)
	}
	b2.clock.Advance(time.Minute)
	b2.mustAdd(t, newRec("auto2", "t-late"), "p")
	if c, _ := b2.store.Count(b2.ctx, Filter{}); c != 2 {
		t.Errorf("%d records after the interval, want 2", c)
	}
}

func TestAddRetentionBudget(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) { c.MaxCount = 1; c.TrimEvery = 1 << 30; c.TrimInterval = time.Hour; c.TrimBudget = 3 })
	b.bulkAdd(t, 20, nil)
	b.clock.Advance(2 * time.Hour)
	b.mustAdd(t, newRec("budget", "b-1"), "")
	if c, _ := b.store.Count(b.ctx, Filter{}); c != 21-3 {
		t.Errorf("%d records after a bounded run, want %d", c, 21-3)
	}
	if n, _ := b.store.Trim(b.ctx); n != 17 {
		t.Errorf("Trim = %d, want the remaining 17", n)
	}
}

func TestTrimRecoversStaleClaims(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) { c.MaxCount = -1 })
	id := b.mustAdd(t, newRec("stale", "s-1"), "p")
	// A trimmer claimed the record and died.
	b.rdb.ZRem(b.ctx, b.store.k.all(), id)
	b.rdb.ZAdd(b.ctx, b.store.k.trimming(), redis.Z{Score: float64(t0.UnixMilli()), Member: id})
	if n, _ := b.store.Trim(b.ctx); n != 0 {
		t.Fatalf("Trim took a fresh claim: %d", n)
	}
	b.clock.Advance(2 * claimStale)
	if n, err := b.store.Trim(b.ctx); err != nil || n != 1 {
		t.Fatalf("Trim = %d, %v; want the stale claim removed", n, err)
	}
	if k := b.keyCount(t); k != 0 {
		t.Errorf("%d keys left", k)
	}
}

func TestUnlimitedCount(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) { c.MaxCount = -1; c.TrimEvery = 1 })
	b.bulkAdd(t, 50, nil)
	b.mustAdd(t, newRec("u", "u-1"), "")
	if c, _ := b.store.Count(b.ctx, Filter{}); c != 51 {
		t.Errorf("%d records with MaxCount -1, want all 51", c)
	}
}
