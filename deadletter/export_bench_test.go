package deadletter

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"
)

// BenchmarkExport exports every record of the bench store (benchRecords():
// 100k by default) as NDJSON and CSV to a counting writer, and reports the
// peak Go heap in use while it streams, next to the heap exporting only a
// few thousand records (tenant-40): both stay flat, whatever the count.
//
//	go test -run '^$' -bench Export -benchtime 1x ./deadletter/
func BenchmarkExport(b *testing.B) {
	for _, c := range []struct {
		name   string
		filter Filter
		format string
	}{
		{"all/ndjson", Filter{}, FormatNDJSON},
		{"all/csv", Filter{}, FormatCSV},
		{"tenant-40/ndjson", Filter{Tenant: "tenant-40"}, FormatNDJSON},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := benchStore(b)
			ctx := context.Background()
			var n int
			var w countingWriter
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			base := ms.HeapInuse
			peak := sampleHeap(func() {
				for b.Loop() {
					var err error
					if n, err = s.Export(ctx, &w, c.filter, c.format); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.ReportMetric(float64(n), "records")
			b.ReportMetric(float64(w.bytes)/float64(b.N)/(1<<20), "MB-out")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(int64(peak)-int64(base))/(1<<20), "heap-growth-MB")
			b.ReportMetric(float64(n)/b.Elapsed().Seconds()*float64(b.N), "records/s")
		})
	}
}

// sampleHeap runs f and returns the peak HeapInuse seen every 5 ms.
func sampleHeap(f func()) uint64 {
	var (
		mu   sync.Mutex
		peak uint64
		stop = make(chan struct{})
		wg   sync.WaitGroup
	)
	read := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		mu.Lock()
		peak = max(peak, ms.HeapInuse)
		mu.Unlock()
	}
	wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				read()
			}
		}
	})
	f()
	close(stop)
	wg.Wait()
	read()
	return peak
}
