package main

import (
	"strings"
	"testing"
)

// FuzzParseQueues: no --queues value makes the worker's parser panic; an
// accepted value names only non-blank queues with weights of at least 1.
func FuzzParseQueues(f *testing.F) {
	for _, s := range []string{"", "critical=6,default=3,low=1", "kyc", "a=0", "a=-1", "=3", "a=1,,b=2", " a = 2 ", "a=99999999999999999999", "a=1,a=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		qs, err := parseQueues(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error text")
			}
			return
		}
		if len(qs) == 0 {
			t.Fatalf("%q accepted with no queue", s)
		}
		for name, w := range qs {
			if strings.TrimSpace(name) == "" || w < 1 {
				t.Fatalf("%q accepted queue %q weight %d", s, name, w)
			}
		}
	})
}
