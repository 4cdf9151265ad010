package bench

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rssBytes returns the resident set size of this process (VmRSS), or 0
// where /proc is not available.
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := strings.Fields(string(v))
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// rssSampler records the peak RSS while it runs.
type rssSampler struct {
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	peak int64
}

// startRSS returns the RSS after a full GC and a sampler of its peak.
func startRSS(every time.Duration) (int64, *rssSampler) {
	runtime.GC()
	debug.FreeOSMemory()
	base := rssBytes()
	s := &rssSampler{stop: make(chan struct{}), peak: base}
	s.wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				if v := rssBytes(); v > 0 {
					s.mu.Lock()
					s.peak = max(s.peak, v)
					s.mu.Unlock()
				}
			}
		}
	})
	return base, s
}

// Stop ends sampling and returns the peak RSS.
func (s *rssSampler) Stop() int64 {
	close(s.stop)
	s.wg.Wait()
	if v := rssBytes(); v > s.peak {
		s.peak = v
	}
	return s.peak
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "cpu unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "cpu unknown"
}
