package bench

import (
	"context"
	"testing"
	"time"
)

// BenchmarkProcess processes b.N tasks through each side against the
// in-process sandbox at 0 ms latency (the CPU cost per task: vlensq's
// journal, outcome and result on top of the same HTTP call). Profile with
//
//	go test -run '^$' -bench Process -benchtime 5000x -cpuprofile cpu.out ./internal/bench/
func BenchmarkProcess(b *testing.B) {
	for _, s := range []side{sideBare, sideVlensq} {
		b.Run(string(s), func(b *testing.B) {
			cfg := Config{RedisURL: redisURL(b), Timeout: 5 * time.Minute}.withDefaults()
			e, err := newEnv(context.Background(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer e.close()
			n := max(b.N, 100)
			b.ResetTimer()
			res, err := e.process(context.Background(), runOpts{side: s, tasks: n, concurrency: ConcurrencyDefault})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(res.tasksPerSec, "tasks/s")
		})
	}
}
