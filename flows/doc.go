// Package flows holds the task types that run several Vlens calls as one
// task. Today that is verify:identity: verify/id/front and verify/id/back
// (in that order; Vlens accepts either), then verify/liveness/multi, all
// with one transaction_id (the producer's, or a UUID generated before the
// first call).
//
// The package defines the steps (Identity), how each step's single-call
// payload is cut from the flow's payload (StepPayload), the step journal in
// Redis that makes a flow resumable (Load, SaveStep, Seed), the resume state
// a dead-lettered flow carries to its requeue (Pack, Unpack) and the one
// result a finished flow publishes (Result). The handler (package handlers)
// runs each step with the same machinery as a single-call task: token
// refresh, classification, transient retries with backoff, throttling.
//
// A step's transient failure makes asynq retry the whole task; the steps
// already journalled are skipped, so no succeeded step is called twice by a
// retry, a crash of the worker or a requeue of the dead letter.
package flows
