package bench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// BenchmarkProcess processes b.N tasks through each side against the
// in-process sandbox at 0 ms latency (the CPU cost per task: vlensq's
// journal, outcome and result on top of the same HTTP call). Profile with
//
//	go test -run '^$' -bench Process -benchtime 5000x -cpuprofile cpu.out ./internal/bench/
//
// vlensq-traced is vlensq with tracing on, every span sampled and exported
// (in batches, OTLP over HTTP) to a local endpoint that drops them: the cost
// of tracing itself.
func BenchmarkProcess(b *testing.B) {
	for _, name := range []string{string(sideBare), string(sideVlensq), "vlensq-traced"} {
		b.Run(name, func(b *testing.B) {
			cfg := Config{RedisURL: redisURL(b), Timeout: 5 * time.Minute}.withDefaults()
			s := side(name)
			if name == "vlensq-traced" {
				sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					_, _ = io.Copy(io.Discard, r.Body)
					w.Header().Set("Content-Type", "application/x-protobuf")
				}))
				defer sink.Close()
				exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(sink.URL+"/v1/traces"))
				if err != nil {
					b.Fatal(err)
				}
				tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
				defer func() { _ = tp.Shutdown(context.Background()) }()
				cfg.TracerProvider, s = tp, sideVlensq
			}
			e, err := newEnv(context.Background(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer e.close()
			n := max(b.N, 100)
			b.ResetTimer()
			cpu0 := cpuTime()
			res, err := e.process(context.Background(), runOpts{side: s, tasks: n, concurrency: ConcurrencyDefault})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(res.tasksPerSec, "tasks/s")
			// CPU time (user + system) of the whole process per task,
			// enqueue included: steadier than the wall clock on a shared
			// machine.
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(n), "cpu-µs/task")
		})
	}
}

// cpuTime is the CPU time (user + system) the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
