package deadletter

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vlensq/vlensq/internal/redistest"
)

// The list benchmarks load benchN records once per process (default 100k;
// run with -dlq.n=1000000 or VLENSQ_DLQ_BENCH_N=1000000 for the 1M target):
//
//	go test -run '^$' -bench List -benchtime 2000x ./deadletter/ -dlq.n=1000000
//
// Each reports p50 and p99 latency per List call. Targets at 1M records: a
// page of 50 ≤ 5 ms p99, a tenant+code filter ≤ 10 ms p99.
var benchN = flag.Int("dlq.n", 0, "records loaded by the deadletter benchmarks (default $VLENSQ_DLQ_BENCH_N or 100000)")

var bench struct {
	once  sync.Once
	err   error
	rdb   *redis.Client
	store *Store
	n     int
}

func benchRecords() int {
	if *benchN > 0 {
		return *benchN
	}
	if n, err := strconv.Atoi(os.Getenv("VLENSQ_DLQ_BENCH_N")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// benchStore returns a store holding benchRecords() records: 50 tenants
// (skewed: tenant-00 has the most), 30 codes, 9 categories, 12 types, over
// 30 days.
func benchStore(b *testing.B) *Store {
	b.Helper()
	redistest.Client(b, redistest.DBDeadletter) // fails without Redis; flushes once
	bench.once.Do(func() {
		bench.n = benchRecords()
		bench.rdb = redis.NewClient(&redis.Options{Addr: redistest.Addr(), DB: redistest.DBDeadletter, PoolSize: 16})
		bench.store, bench.err = New(bench.rdb, Config{Prefix: "bench", MaxCount: -1, Now: func() time.Time { return t0 }})
		if bench.err != nil {
			return
		}
		start := time.Now()
		bench.err = loadBench(context.Background(), bench.store, bench.rdb, bench.n)
		fmt.Fprintf(os.Stderr, "deadletter bench: loaded %d records in %s\n", bench.n, time.Since(start).Round(time.Millisecond))
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.store
}

func loadBench(ctx context.Context, s *Store, rdb redis.UniversalClient, n int) error {
	const chunk, workers = 1000, 4
	span := 30 * 24 * time.Hour
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, workers)
	)
	for start := 0; start < n; start += chunk {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			r := rand.New(rand.NewPCG(uint64(start), 7))
			recs := make([]*Record, 0, chunk)
			for i := start; i < min(start+chunk, n); i++ {
				rec := newRec(benchTenant(r), "bench-"+strconv.Itoa(i))
				rec.ErrorCode = 3001 + r.IntN(30)
				rec.Category = seedCategories[r.IntN(len(seedCategories))]
				rec.Type = fmt.Sprintf("type:%d", r.IntN(12))
				rec.Class = seedClasses[r.IntN(len(seedClasses))]
				rec.RetriesExhausted = rec.Class == "transient"
				rec.FailedAt = t0.Add(-time.Duration(r.Int64N(int64(span))))
				recs = append(recs, rec)
			}
			if err := addPipelined(ctx, s, rdb, recs); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// benchTenant picks tenant-00..49 with a skew: low numbers are busier.
func benchTenant(r *rand.Rand) string {
	x := r.Float64()
	return fmt.Sprintf("tenant-%02d", int(x*x*50))
}

// runList measures f over b.N List calls and reports latency percentiles.
func runList(b *testing.B, f Filter, cursor string) {
	s := benchStore(b)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	records := 0
	// The loader's garbage (a million records) is not List's to collect.
	runtime.GC()
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		p, err := s.List(ctx, f, ListLimitDefault, cursor)
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		records += len(p.Records)
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1e6 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(records)/float64(len(lat)), "records/op")
}

func BenchmarkListPage(b *testing.B) { runList(b, Filter{}, "") }

func BenchmarkListPageDeep(b *testing.B) {
	// A cursor half-way through the 30 days.
	mid := t0.Add(-15 * 24 * time.Hour).UnixMilli()
	runList(b, Filter{}, strconv.FormatInt(mid, 10)+":ZZZZZZZZZZZZZZZZZZZZZZZZZZ")
}

func BenchmarkListTenant(b *testing.B) { runList(b, Filter{Tenant: "tenant-10"}, "") }

func BenchmarkListTenantCode(b *testing.B) {
	runList(b, Filter{Tenant: "tenant-10", Code: 3011, HasCode: true}, "")
}

func BenchmarkListTenantCodeCategory(b *testing.B) {
	runList(b, Filter{Tenant: "tenant-10", Code: 3011, HasCode: true, Category: "server"}, "")
}

func BenchmarkListQuietTenantCode(b *testing.B) {
	runList(b, Filter{Tenant: "tenant-49", Code: 3011, HasCode: true}, "")
}

func BenchmarkListLastDay(b *testing.B) {
	runList(b, Filter{Type: "type:3", Since: t0.Add(-24 * time.Hour)}, "")
}

func BenchmarkCountTenantCode(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.Count(ctx, Filter{Tenant: "tenant-10", Code: 3011, HasCode: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMain frees the benchmark data (up to a million records) when the
// benchmarks loaded it.
func TestMain(m *testing.M) {
	code := m.Run()
	if bench.rdb != nil {
		_ = bench.rdb.FlushDB(context.Background()).Err()
		_ = bench.rdb.Close()
	}
	os.Exit(code)
}

func BenchmarkListTypeCode(b *testing.B) {
	runList(b, Filter{Type: "type:3", Code: 3011, HasCode: true}, "")
}

func BenchmarkListTenantCategoryClass(b *testing.B) {
	runList(b, Filter{Tenant: "tenant-10", Category: "server", Class: "permanent"}, "")
}
