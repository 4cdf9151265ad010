// Package bench measures vlensq side by side with bare asynq, in one process
// and one run, against real Redis and an in-process sandbox (vlenstest).
//
// # What is compared
//
// The vlensq side is a full worker (internal/app: classification, journal,
// outcome stream, result, dead-lettering) started exactly as `vlensq worker`
// starts it, with the rate limit off for throughput runs (the rate-limited
// path is measured on its own). The bare side is an asynq.Server with the
// same Concurrency and the same polling intervals whose handler makes the
// same HTTP request (same body, same headers, same tenant token) to the same
// sandbox and does nothing else. Both sides process identical tasks, enqueued
// through the same tasks.Client.
//
// # Scenarios
//
//   - throughput: tasks/s per sandbox latency, vlensq vs bare, median of
//     Repeat alternating runs;
//   - ratelimit: the same with the distributed per-tenant limiter on (a
//     limit high enough never to throttle), so its cost shows;
//   - inflight: InFlight calls at once at InFlightLatency, with peak RSS;
//   - enqueue: tasks.Client.Enqueue vs asynq.Client.Enqueue, one goroutine,
//     and EnqueueBatch tasks/s;
//   - retry: how late transient retries run against the policy delay;
//   - claimcheck: asynq payload bytes of a liveness task with three 500 KB
//     frames.
//
// Dead-letter list latency at 1M records and export memory are `go test
// -bench` benchmarks in package deadletter, not part of Run (loading a
// million records takes minutes). See docs/performance.md.
package bench
