// Package handlers runs vlensq tasks: decode the payload, call Vlens,
// classify the answer, and end the attempt in exactly one way.
//
//   - success: the result is written with the task's ResultWriter and the
//     outcome "succeeded" is published.
//   - transient: the task is retried by asynq after Policy.Delay (500 ms, ×2,
//     cap 8 s, jitter); after Policy.MaxAttempts attempts it is dead-lettered
//     as retries_exhausted.
//   - throttled: the task is retried after the requested wait without
//     spending an attempt (ThrottledError + IsFailure), until Vlens has
//     throttled it for Policy.ThrottleLimit (dead-lettered as
//     throttled_too_long).
//   - auth_expired: handled inside the Vlens client (refresh, replay once).
//   - permanent: a dead-letter record is written, the outcome
//     "dead_lettered" is published, and the task is archived (SkipRetry).
//
// # Exactly one outcome
//
// Delivery is at least once (asynq re-runs a task after a crash or a
// shutdown). Each step is idempotent by task id: once Vlens has answered, the
// answer is recorded on a context a shutdown does not cancel; the answer of a
// call that must not be repeated (a business OTP, a new business request) is
// journalled before anything else, so even a crash before the outcome does
// not send it twice; the dead-letter store keeps one record per task id; the
// outcome publisher writes one outcome per task id, and a re-run that finds it
// ends the same way without doing anything.
//
// A call that must not be repeated is also never sent twice when its answer
// is lost: it is retried only when Vlens provably did not take it, and
// otherwise dead-lettered as outcome_unknown (unknown_outcome.go). The retry
// policy, not asynq's MaxRetry, ends every task, and failures of our own are
// bounded by Policy.InternalAttempts (bounds.go). A run by hand of an
// archived dead-lettered task becomes a dead-letter requeue (rerun.go).
package handlers
