//go:build !race

package testproc

// Race reports that this binary was built with -race.
const Race = false
