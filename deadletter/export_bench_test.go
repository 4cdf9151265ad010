package deadletter

import (
	"context"
	"testing"
	"time"

	"github.com/vlensq/vlensq/internal/memsample"
)

// BenchmarkExport exports every record of the bench store (benchRecords():
// 100k by default) as NDJSON and CSV to a counting writer, and reports the
// peak Go heap in use and the process's peak RSS while it streams, next to
// exporting only a thousand records (tenant-40): both stay flat, whatever
// the count.
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
			base, mem := memsample.Start(5*time.Millisecond, true)
			for b.Loop() {
				var err error
				if n, err = s.Export(ctx, &w, c.filter, c.format); err != nil {
					b.Fatal(err)
				}
			}
			peak := mem.Stop()
			const mb = 1 << 20
			b.ReportMetric(float64(n), "records")
			b.ReportMetric(float64(w.bytes)/float64(b.N)/mb, "MB-out")
			b.ReportMetric(float64(peak.Heap)/mb, "peak-heap-MB")
			b.ReportMetric(float64(peak.Heap-base.Heap)/mb, "heap-growth-MB")
			// The process also holds what loading the fixture left behind
			// (returned to the OS before the start), so RSS growth is the
			// export's own.
			b.ReportMetric(float64(peak.RSS)/mb, "peak-RSS-MB")
			b.ReportMetric(float64(peak.RSS-base.RSS)/mb, "RSS-growth-MB")
			b.ReportMetric(float64(n)/b.Elapsed().Seconds()*float64(b.N), "records/s")
		})
	}
}
