// Package memsample measures this process's memory while work runs: the
// peak resident set size (VmRSS from /proc) and, optionally, the peak Go
// heap in use, sampled on a ticker. Benchmarks report these; nothing in the
// product uses it.
package memsample

import (
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RSS returns the resident set size of this process in bytes, or 0 where
// /proc is not available.
func RSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			if f := strings.Fields(string(v)); len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// Usage is memory in bytes: RSS, and Heap (runtime.MemStats.HeapInuse) when
// heap sampling was asked for.
type Usage struct {
	RSS, Heap int64
}

// Sampler records peak usage until Stop.
type Sampler struct {
	heap bool
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	peak Usage
}

// Start runs a full GC and returns the usage then and a sampler of the peaks,
// read every interval. Heap sampling (heap true) reads runtime.MemStats,
// which stops the world briefly: leave it off where it would disturb a
// throughput figure.
func Start(every time.Duration, heap bool) (Usage, *Sampler) {
	runtime.GC()
	debug.FreeOSMemory()
	s := &Sampler{heap: heap, stop: make(chan struct{})}
	base := s.read()
	s.peak = base
	s.wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.record(s.read())
			}
		}
	})
	return base, s
}

// Stop ends sampling and returns the peaks.
func (s *Sampler) Stop() Usage {
	close(s.stop)
	s.wg.Wait()
	s.record(s.read())
	return s.peak
}

func (s *Sampler) read() Usage {
	u := Usage{RSS: RSS()}
	if s.heap {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		u.Heap = int64(ms.HeapInuse)
	}
	return u
}

func (s *Sampler) record(u Usage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peak.RSS = max(s.peak.RSS, u.RSS)
	s.peak.Heap = max(s.peak.Heap, u.Heap)
}
