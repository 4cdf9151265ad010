package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/vlensq/vlensq/internal/bench"
)

func newBenchCmd(g *globals) *cobra.Command {
	var (
		cfg       bench.Config
		latencies []time.Duration
		only      []string
		asJSON    bool
		strict    bool
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure vlensq against a bare asynq worker, side by side, against an in-process sandbox",
		Long: `bench runs, in this one process, a vlensq worker and a bare asynq worker (same concurrency and
polling intervals, its handler making the same HTTP call to the same in-process sandbox and nothing else)
over identical tasks in real Redis, and prints a table of figures, ratios and the targets they are held to.

Scenarios (--only): ` + strings.Join(bench.Scenarios, ", ") + `.
Throughput runs vlensq with its rate limit off; the ratelimit scenario measures the limiter's cost.
Fairness runs two tenants at Vlens's default limits on one worker: one floods (--flood sizes), the
other trickles, and reports the trickle's wait with and without fair dispatch, the flood's rate against
its limit and Redis commands per task (about 2 minutes with the default floods).
The run writes its own queues (deleted afterwards), outcomes and claim-check blobs to --redis / VLENSQ_REDIS:
point it at a scratch database, e.g. --redis redis://127.0.0.1:6379/15.
The default run takes about four minutes on 2 cores (the fairness scenario alone about two). See docs/performance.md.

Needs: VLENSQ_REDIS (a scratch database); no tenants file (its tenants and the sandbox are built in).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.RedisURL = g.redisURL
			cfg.Latencies = latencies
			for _, s := range only {
				if s = strings.TrimSpace(s); s != "" {
					cfg.Only = append(cfg.Only, s)
				}
			}
			bar := progressbar.NewOptions(-1, progressbar.OptionSetWriter(g.stderr), progressbar.OptionShowCount(),
				progressbar.OptionSetVisibility(isTerminal(g.stderr)), progressbar.OptionClearOnFinish())
			cfg.Progress = func(s bench.Step) {
				bar.ChangeMax(s.Total)
				bar.Describe(s.Name)
				_ = bar.Set(s.Done)
			}
			// OTEL_* settings trace the vlensq side: run once with, once
			// without, to see what tracing costs.
			traces, err := openTracing(cmd.Context())
			if err != nil {
				return err
			}
			if traces.Enabled() {
				cfg.TracerProvider = traces.TracerProvider
				fmt.Fprintln(g.stderr, "bench: tracing on (OTEL_* settings): the vlensq side exports its spans")
			}
			rep, err := bench.Run(cmd.Context(), cfg)
			shutdownTracing(traces, zerolog.Nop())
			_ = bar.Finish()
			if err != nil {
				if bench.IsConfigError(err) {
					return usageErr("%v", err)
				}
				return err
			}
			if asJSON {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else if err := rep.WriteTable(g.stdout); err != nil {
				return err
			}
			if failed := rep.Failed(); strict && len(failed) > 0 {
				return fmt.Errorf("%d target(s) missed", len(failed))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.Tasks, "tasks", bench.TasksDefault, "tasks per throughput run and side")
	f.DurationSliceVar(&latencies, "latency", bench.LatenciesDefault, "sandbox latencies of the throughput runs")
	f.IntVar(&cfg.Concurrency, "concurrency", bench.ConcurrencyDefault, "worker concurrency of both sides in throughput runs")
	f.IntVar(&cfg.Repeat, "repeat", bench.RepeatDefault, "runs per side and measurement (alternating); medians are reported")
	f.IntVar(&cfg.InFlight, "inflight", bench.InFlightDefault, "calls in flight in the inflight scenario")
	f.DurationVar(&cfg.InFlightLatency, "inflight-latency", bench.InFlightLatencyDefault, "sandbox latency of the inflight scenario")
	f.IntVar(&cfg.RetryTasks, "retry-tasks", bench.RetryTasksDefault, "tasks of the retry scenario (two retries each)")
	f.IntVar(&cfg.EnqueueTasks, "enqueue-tasks", bench.EnqueueTasksDefault, "single enqueues per side in the enqueue scenario")
	f.IntVar(&cfg.BatchTasks, "batch-tasks", bench.BatchTasksDefault, "size of the measured EnqueueBatch")
	f.StringSliceVar(&only, "only", nil, "scenarios to run (default all): "+strings.Join(bench.Scenarios, ","))
	f.IntSliceVar(&cfg.FloodSizes, "flood", bench.FloodSizesDefault, "flood sizes of the fairness scenario")
	f.DurationVar(&cfg.FairWindow, "fair-window", bench.FairWindowDefault, "how long the trickling tenant sends per flood (fairness)")
	f.DurationVar(&cfg.FairTrickle, "fair-trickle", bench.FairTrickleDefault, "interval of the trickling tenant's tasks (fairness)")
	f.IntVar(&cfg.FairConcurrency, "fair-concurrency", bench.FairConcurrencyDefault, "worker concurrency of the fairness scenario")
	f.DurationVar(&cfg.FairLatency, "fair-latency", bench.FairLatencyDefault, "sandbox latency of the fairness scenario")
	f.DurationVar(&cfg.Timeout, "timeout", bench.TimeoutDefault, "bound of each single run")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.BoolVar(&strict, "strict", false, "exit 1 when a target is missed")
	return cmd
}
