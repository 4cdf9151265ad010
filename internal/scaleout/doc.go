// Package scaleout holds the tests that run vlensq on the engines users
// scale out to: a real 3-master Redis Cluster and a Redis Sentinel group
// (started from redis-server processes by internal/cluster), and several
// `vlensq worker` processes sharing queues and a per-tenant rate limit.
//
// It has no code of its own; the tests are the product:
//
//   - TestPipelineOnRedisCluster: producer client, claim-check blobs,
//     sessions and token refresh, rate limiter, worker, retries, dead-letter
//     store (add, list, requeue, purge), outcome stream and the dashboard
//     (readyz, dead-letter API, metrics, Asynqmon), all through one
//     redis-cluster:// URL, with keys checked to sit where their hash tags
//     put them.
//   - TestSentinelFailoverLosesNoTask: the master is killed (SIGKILL) while
//     tasks are being enqueued and processed; every task the producer was
//     told is enqueued ends in exactly one outcome.
//   - TestWorkerProcessesShareTenantRateLimit: three `vlensq worker`
//     processes with --queues critical=6,default=3,low=1 drain one tenant's
//     tasks; every process does part of the work and the aggregate call rate
//     reaching the fake Vlens stays within the tenant's limit + 10 %.
package scaleout
