// Package tenancy shares one worker fleet fairly between Vlens tenants.
//
// # Holding and dispatching
//
// A task does not go straight to asynq's pending list, where a burst of one
// tenant would sit in front of every other tenant's work. The producer
// ([Scheduler.Hold], called by tasks.Client) records the task id in a
// per-tenant hold set and enqueues the task itself with asynq as a scheduled
// task parked at [ParkAt] (year 2100), so it stays visible and inspectable in
// Asynqmon ("Scheduled") but asynq never runs it on its own.
//
// Every worker runs a dispatcher ([Scheduler.Run]). When its process has free
// slots, it takes tenants that have ready work, in round-robin order of when
// they were last served, asks each tenant's Vlens rate limit for up to its
// weighted share of the free slots (go-redis/redis_rate, the same budget the
// Vlens client uses), and moves that many of the tenant's oldest ready tasks
// from the parked set to asynq's pending list in one Lua script, exactly as
// asynq's own forwarder moves due tasks. A tenant over its limit is not looked
// at again until its limit allows a call; it holds no slot and makes no task
// cycle through Redis. Under overload, free slots are split between the
// tenants with work in proportion to their weight.
//
// The dispatch marks the task with a grant (a field of asynq's task hash).
// The handler consumes the grant; a task that reaches it without one (a
// retry, a task asynq released because an operator pressed "Run", a task
// enqueued by a plain asynq client) goes back to its tenant's hold set and
// is parked again, without spending an attempt. Retries and throttled tasks
// are held the same way, with the time they are due.
//
// # Keys
//
// Per asynq queue q, sharing asynq's hash tag {q} so that the scripts touch
// one Redis Cluster slot:
//
//	vlensq:{q}:fair:h:<tenant>   ZSET  held task ids, score = due time (ms)
//	vlensq:{q}:fair:due          ZSET  tenants with held work, score = when to look at them next (ms)
//
// Pausing a tenant (by hand or by the circuit breaker) keeps its tasks held;
// see [States].
package tenancy
