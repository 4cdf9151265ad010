package reliability

import (
	"os"
	"testing"
)

// full reports whether the full form of the suite runs
// (VLENSQ_RELIABILITY=full): issue 7's sizes and real waits.
func full() bool { return os.Getenv("VLENSQ_RELIABILITY") == "full" }

// size picks the short (CI) or the full figure.
func size(short, long int) int {
	if full() {
		return long
	}
	return short
}

// logf logs a figure for docs/reliability.md: run with -v to see them.
func logf(t *testing.T, format string, a ...any) {
	t.Helper()
	t.Logf("FIGURE "+format, a...)
}
