// Package reliability is vlensq's reliability evidence (issue 7): the checks
// behind docs/reliability.md, that a task is never lost and never ends twice.
//
// # Chaos
//
// RunChaos enqueues OCR tasks against an in-process fake Vlens that injects
// random faults (latency, 5xx, resets, HTML and truncated bodies, empty
// bodies, 401, 429, 4003), runs a worker until every task is terminal, and
// checks each task's outcome against the faults the fake recorded for that
// task's requests (correlated by X-Request-Id). `vlensq bench --chaos` and
// the package tests call it.
//
// # Tests
//
// The package's tests run the rest of the suite against real processes (a
// `vlensq` binary built once per test run): workers killed with SIGKILL,
// SIGTERM during calls, a Redis server restarted under load or stopped, canary
// secrets looked for in every output, and a table of bad inputs. By default
// they run a short form sized for CI; VLENSQ_RELIABILITY=full runs the sizes
// of issue 7 (10,000 tasks and 10 kills, 5,000 chaos tasks, real 61 s crash
// recovery), which takes tens of minutes.
package reliability
