//go:build race

package scaleout_test

// raceEnabled makes the worker binary build with -race too, so it shares the
// build cache of the test binary instead of compiling everything again.
const raceEnabled = true
