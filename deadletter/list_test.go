package deadletter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/redis/go-redis/v9"
)

var (
	seedTenants    = []string{"alpha", "beta", "gamma"}
	seedCodes      = []int{0, 3011, 4003, 5000}
	seedCategories = []string{"identity_verification", "server", "network", "account"}
	seedTypes      = []string{"verify:id_front", "ocr:aml", "business:create"}
	seedClasses    = []string{"permanent", "transient"}
)

// seed adds n records with varied fields and failure times (many sharing a
// millisecond) and returns them.
func (b *testBundle) seed(t *testing.T, n int, r *rand.Rand) []*Record {
	t.Helper()
	recs := make([]*Record, 0, n)
	at := t0.Add(-time.Hour)
	for i := range n {
		rec := newRec(seedTenants[r.IntN(len(seedTenants))], fmt.Sprintf("seed-%d", i))
		rec.ErrorCode = seedCodes[r.IntN(len(seedCodes))]
		rec.Category = seedCategories[r.IntN(len(seedCategories))]
		rec.Type = seedTypes[r.IntN(len(seedTypes))]
		rec.Class = seedClasses[r.IntN(len(seedClasses))]
		rec.RetriesExhausted = r.IntN(3) == 0
		if r.IntN(3) != 0 { // a third of the records share the previous millisecond
			at = at.Add(time.Duration(1+r.IntN(5000)) * time.Millisecond)
		}
		rec.FailedAt = at
		b.mustAdd(t, rec, "payload")
		recs = append(recs, rec)
	}
	return recs
}

// oracle returns the ids of recs matching f, newest first.
func oracle(recs []*Record, f Filter) []string {
	var m []*Record
	for _, r := range recs {
		if f.Match(r) {
			m = append(m, r)
		}
	}
	slices.SortFunc(m, func(a, b *Record) int {
		if c := b.FailedAt.UnixMilli() - a.FailedAt.UnixMilli(); c != 0 {
			if c < 0 {
				return -1
			}
			return 1
		}
		return strings.Compare(b.ID, a.ID)
	})
	ids := make([]string, len(m))
	for i, r := range m {
		ids[i] = r.ID
	}
	return ids
}

// listAll follows the cursor to the end with the given page size.
func (b *testBundle) listAll(t *testing.T, f Filter, limit int) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatal("pagination does not end")
		}
		p, err := b.store.List(b.ctx, f, limit, cursor)
		if err != nil {
			t.Fatalf("List(%+v, cursor %q): %v", f, cursor, err)
		}
		if len(p.Records) > limit {
			t.Fatalf("page of %d records, limit %d", len(p.Records), limit)
		}
		for _, r := range p.Records {
			ids = append(ids, r.ID)
		}
		if p.NextCursor == "" {
			return ids
		}
		if len(p.Records) < limit {
			t.Fatalf("short page (%d of %d) with a next cursor", len(p.Records), limit)
		}
		cursor = p.NextCursor
	}
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := rand.New(rand.NewPCG(1, 2))
	recs := b.seed(t, 300, r)
	yes, no := true, false
	first, last := recs[0].FailedAt, recs[len(recs)-1].FailedAt
	mid := first.Add(last.Sub(first) / 2)

	named := []struct {
		desc string
		f    Filter
	}{
		{"none", Filter{}},
		{"tenant", Filter{Tenant: "alpha"}},
		{"code", Filter{Code: 3011, HasCode: true}},
		{"code 0", Filter{Code: 0, HasCode: true}},
		{"category", Filter{Category: "server"}},
		{"type", Filter{Type: "ocr:aml"}},
		{"class", Filter{Class: "transient"}},
		{"retries exhausted", Filter{RetriesExhausted: &yes}},
		{"not retries exhausted", Filter{RetriesExhausted: &no}},
		{"since", Filter{Since: mid}},
		{"until", Filter{Until: mid}},
		{"since and until", Filter{Since: first.Add(time.Minute), Until: mid}},
		{"tenant and code", Filter{Tenant: "beta", Code: 5000, HasCode: true}},
		{"tenant code category type class", Filter{Tenant: "gamma", Code: 3011, HasCode: true, Category: "network", Type: "verify:id_front", Class: "permanent"}},
		{"tenant and not exhausted and since", Filter{Tenant: "alpha", RetriesExhausted: &no, Since: mid}},
		{"unknown tenant", Filter{Tenant: "nobody"}},
		{"unknown code with tenant", Filter{Tenant: "alpha", Code: 9999, HasCode: true}},
		{"empty range", Filter{Since: mid, Until: mid}},
	}
	for _, tt := range named {
		t.Run(tt.desc, func(t *testing.T) {
			want := oracle(recs, tt.f)
			got := b.listAll(t, tt.f, 7)
			if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("List (-want +got):\n%s", d)
			}
			n, err := b.store.Count(b.ctx, tt.f)
			if err != nil || n != int64(len(want)) {
				t.Errorf("Count = %d, %v; want %d", n, err, len(want))
			}
		})
	}
	if len(oracle(recs, named[13].f)) == 0 && len(oracle(recs, named[12].f)) == 0 {
		t.Fatal("seed too sparse: the combined filters match nothing")
	}

	// Random combinations of every field, against the oracle.
	for i := range 150 {
		var f Filter
		if r.IntN(2) == 0 {
			f.Tenant = seedTenants[r.IntN(len(seedTenants))]
		}
		if r.IntN(3) == 0 {
			f.Code, f.HasCode = seedCodes[r.IntN(len(seedCodes))], true
		}
		if r.IntN(3) == 0 {
			f.Category = seedCategories[r.IntN(len(seedCategories))]
		}
		if r.IntN(3) == 0 {
			f.Type = seedTypes[r.IntN(len(seedTypes))]
		}
		if r.IntN(3) == 0 {
			f.Class = seedClasses[r.IntN(len(seedClasses))]
		}
		if r.IntN(4) == 0 {
			v := r.IntN(2) == 0
			f.RetriesExhausted = &v
		}
		if r.IntN(3) == 0 {
			f.Since = recs[r.IntN(len(recs))].FailedAt
		}
		if r.IntN(3) == 0 {
			f.Until = recs[r.IntN(len(recs))].FailedAt.Add(time.Millisecond)
		}
		want := oracle(recs, f)
		got := b.listAll(t, f, 1+r.IntN(40))
		if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("random filter %d %+v: List (-want +got):\n%s", i, f, d)
		}
		if n, err := b.store.Count(b.ctx, f); err != nil || n != int64(len(want)) {
			t.Fatalf("random filter %d %+v: Count = %d, %v; want %d", i, f, n, err, len(want))
		}
	}
}

func TestListPaginationEqualTimestamps(t *testing.T) {
	t.Parallel()
	b := setup(t)
	at := t0.Add(-time.Minute)
	orig := map[string]bool{}
	for i := range 137 {
		rec := newRec("tie", fmt.Sprintf("tie-%d", i))
		rec.FailedAt = at // all in one millisecond
		orig[b.mustAdd(t, rec, "")] = true
	}
	for i := range 20 { // older records after the tie
		rec := newRec("tie", fmt.Sprintf("older-%d", i))
		rec.FailedAt = at.Add(-time.Duration(i+1) * time.Millisecond)
		orig[b.mustAdd(t, rec, "")] = true
	}

	seen := map[string]int{}
	cursor := ""
	added := 0
	for {
		p, err := b.store.List(b.ctx, Filter{Tenant: "tie"}, 10, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Records {
			seen[r.ID]++
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
		// Concurrent inserts between pages: one newer, one in the same
		// millisecond as the tie (it may or may not show up, but must not
		// cause duplicates or gaps).
		for _, when := range []time.Time{t0, at} {
			rec := newRec("tie", fmt.Sprintf("late-%d", added))
			rec.FailedAt = when
			b.mustAdd(t, rec, "")
			added++
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("record %s listed %d times", id, n)
		}
	}
	for id := range orig {
		if seen[id] == 0 {
			t.Errorf("record %s was skipped", id)
		}
	}
	if added == 0 {
		t.Fatal("no page boundary was crossed")
	}
}

func TestListOrderAndPageShape(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var ids []string
	for i := range 5 {
		rec := newRec("order", fmt.Sprintf("o-%d", i))
		rec.FailedAt = t0.Add(time.Duration(i) * time.Second)
		ids = append(ids, b.mustAdd(t, rec, ""))
	}
	p, err := b.store.List(b.ctx, Filter{}, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(ids)
	got := make([]string, len(p.Records))
	for i, r := range p.Records {
		got[i] = r.ID
	}
	if d := cmp.Diff(ids, got); d != "" || p.NextCursor != "" {
		t.Errorf("List newest first (-want +got):\n%s\nnext cursor %q, want none", d, p.NextCursor)
	}
	p, _ = b.store.List(b.ctx, Filter{}, 5, "")
	if p.NextCursor != "" {
		t.Errorf("a page that holds every record has next cursor %q", p.NextCursor)
	}
	p, _ = b.store.List(b.ctx, Filter{}, 4, "")
	if p.NextCursor == "" || len(p.Records) != 4 {
		t.Errorf("page of 4 of 5: %d records, cursor %q", len(p.Records), p.NextCursor)
	}
}

func TestListRejectsBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tt := range []struct {
		limit  int
		cursor string
		field  string
	}{
		{-1, "", "limit"},
		{10, "garbage", "cursor"},
		{10, "abc:01H", "cursor"},
		{10, "123:", "cursor"},
	} {
		_, err := b.store.List(b.ctx, Filter{}, tt.limit, tt.cursor)
		var ie *InputError
		if !errors.As(err, &ie) || ie.Field != tt.field {
			t.Errorf("List(limit %d, cursor %q) = %v, want an *InputError for %s", tt.limit, tt.cursor, err, tt.field)
		}
	}
}

func TestListCapsLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.bulkAdd(t, ListLimitMax+5, func(i int, rec *Record) { rec.Tenant = "cap" })
	p, err := b.store.List(b.ctx, Filter{}, 50_000, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != ListLimitMax || p.NextCursor == "" {
		t.Errorf("List(limit 50000) = %d records, cursor %q; want %d and a cursor", len(p.Records), p.NextCursor, ListLimitMax)
	}
}

// cmdCounter counts MGETs and their sizes through a go-redis hook.
type cmdCounter struct {
	mu       sync.Mutex
	mgets    int
	maxMGet  int
	mgetKeys int
}

func (c *cmdCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *cmdCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "mget" {
			c.mu.Lock()
			n := len(cmd.Args()) - 1
			c.mgets++
			c.mgetKeys += n
			c.maxMGet = max(c.maxMGet, n)
			c.mu.Unlock()
		}
		return next(ctx, cmd)
	}
}
func (c *cmdCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func TestEachPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 2*EachPageSize + 17
	b.bulkAdd(t, n, func(i int, rec *Record) { rec.Tenant = "each" })
	counter := &cmdCounter{}
	rdb := b.rdb.Options()
	client := redis.NewClient(rdb)
	t.Cleanup(func() { _ = client.Close() })
	client.AddHook(counter)
	s, err := New(client, Config{Prefix: b.prefix})
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	var prev *Record
	err = s.Each(b.ctx, Filter{Tenant: "each"}, func(r *Record) error {
		if prev != nil && r.FailedAt.After(prev.FailedAt) {
			return fmt.Errorf("Each out of order: %s after %s", r.FailedAt, prev.FailedAt)
		}
		prev = r
		seen++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != n {
		t.Errorf("Each visited %d records, want %d", seen, n)
	}
	if counter.maxMGet > EachPageSize || counter.mgets < n/EachPageSize {
		t.Errorf("Each read %d records in %d MGETs of at most %d keys; want pages of at most %d", counter.mgetKeys, counter.mgets, counter.maxMGet, EachPageSize)
	}
	stop := errors.New("stop")
	calls := 0
	err = s.Each(b.ctx, Filter{Tenant: "each"}, func(*Record) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("Each with failing fn = %v after %d calls; want the fn's error after 1", err, calls)
	}
}

// bulkAdd adds n records quickly (pipelines of the add script), one
// millisecond apart, ending at t0.
func (b *testBundle) bulkAdd(t testing.TB, n int, mod func(i int, rec *Record)) {
	t.Helper()
	const chunk = 1000
	for start := 0; start < n; start += chunk {
		recs := make([]*Record, 0, chunk)
		for i := start; i < min(start+chunk, n); i++ {
			rec := newRec("bulk", fmt.Sprintf("bulk-%d", i))
			rec.FailedAt = t0.Add(-time.Duration(n-i) * time.Millisecond)
			if mod != nil {
				mod(i, rec)
			}
			recs = append(recs, rec)
		}
		if err := addPipelined(b.ctx, b.store, b.rdb, recs); err != nil {
			t.Fatal(err)
		}
	}
}

// addPipelined adds recs with one pipeline of the add script (no retention).
func addPipelined(ctx context.Context, s *Store, rdb redis.UniversalClient, recs []*Record) error {
	if err := addScript.Load(ctx, rdb).Err(); err != nil {
		return err
	}
	pipe := rdb.Pipeline()
	for _, rec := range recs {
		if err := rec.normalize(t0); err != nil {
			return err
		}
		rec.ID = newID(rec.FailedAt)
		body, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		keys, vals := s.recordKeys(rec)
		exhausted := "0"
		if rec.RetriesExhausted {
			exhausted = "1"
		}
		addScript.EvalSha(ctx, pipe, keys, append([]any{rec.ID, body, "payload", score(rec.FailedAt), exhausted}, vals...)...)
	}
	_, err := pipe.Exec(ctx)
	return err
}
