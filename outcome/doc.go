// Package outcome tells producers how each task ended.
//
// Every task ends exactly once, as succeeded or dead_lettered. The outcome is
// appended to the Redis stream vlensq:outcomes (capped with an approximate
// MAXLEN) and, when the payload names a callback_url, POSTed there by a
// separate asynq task (type outcome:callback), so slow or failing callback
// endpoints are retried with backoff and never hold a worker slot.
//
// Publishing is idempotent per task id: a marker key written in the same
// script as the XADD makes a second publish of the same task a no-op, so a
// worker that dies after publishing and before acking the task does not
// produce a second outcome when asynq runs the task again.
//
// Stream entry fields: task_id, type, tenant, queue, status, class, category,
// code, dead_letter_id, transaction_id, client_transaction_id, result (JSON),
// at (RFC 3339 UTC). Read it with XREAD or a consumer group.
package outcome
