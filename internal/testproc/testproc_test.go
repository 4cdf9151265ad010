package testproc

import (
	"os/exec"
	"strings"
	"sync"
	"testing"
)

func TestBuildOnceRunsTheCommand(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	paths := make([]string, 4)
	for i := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := Build(false)
			if err != nil {
				t.Error(err)
			}
			paths[i] = p
		}()
	}
	wg.Wait()
	for _, p := range paths[1:] {
		if p != paths[0] {
			t.Fatalf("built more than once: %q and %q", paths[0], p)
		}
	}
	out, err := exec.Command(paths[0], "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "vlensq") {
		t.Fatalf("built binary does not run: %v\n%s", err, out)
	}
}

func TestSyncBuffer(t *testing.T) {
	t.Parallel()
	var b SyncBuffer
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = b.Write([]byte("ab")) }()
	}
	wg.Wait()
	if got := b.String(); len(got) != 20 {
		t.Fatalf("String() has %d bytes, want 20", len(got))
	}
	b.Reset()
	if b.String() != "" {
		t.Fatal("Reset left data")
	}
}
