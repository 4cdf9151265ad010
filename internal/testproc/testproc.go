// Package testproc helps tests that run the vlensq command as a subprocess:
// it builds the binary once per test binary, and gives a buffer that a
// process writes while the test reads it.
package testproc

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

type build struct {
	once sync.Once
	path string
	err  error
}

// builds holds one build per variant (plain, -race).
var builds [2]build

// Build compiles cmd/vlensq once per test binary and variant, into a
// temporary directory, and returns the path. With race it is built with
// -race (it then shares the race build cache of a -race test binary).
func Build(race bool) (string, error) {
	i := 0
	if race {
		i = 1
	}
	b := &builds[i]
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "vlensq-bin-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, "vlensq")
		args := []string{"build", "-o", b.path}
		if race {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "github.com/vlensq/vlensq/cmd/vlensq")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build ./cmd/vlensq: %v\n%s", err, out)
		}
	})
	return b.path, b.err
}

// SyncBuffer is an io.Writer that a process (or a goroutine) writes while a
// test reads it.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Reset empties the buffer.
func (b *SyncBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}
