package memsample

import (
	"os"
	"runtime"
	"testing"
	"time"
)

// Memory held while the sampler runs shows in its peaks, RSS and heap.
func TestSamplerSeesAnAllocation(t *testing.T) {
	if RSS() == 0 {
		// CI runs on Linux, where /proc is always there: fail, never skip.
		const msg = "no /proc/self/status on this system: RSS cannot be read"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	base, s := Start(time.Millisecond, true)
	const n = 64 << 20
	buf := make([]byte, n)
	for i := range buf { // touch every page so it is resident
		buf[i] = byte(i)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		p := s.peak
		s.mu.Unlock()
		if p.RSS-base.RSS >= n/2 && p.Heap-base.Heap >= n/2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	peak := s.Stop()
	runtime.KeepAlive(buf)
	if peak.RSS-base.RSS < n/2 || peak.Heap-base.Heap < n/2 {
		t.Errorf("peaks %+v over base %+v miss a %d MB allocation", peak, base, n>>20)
	}
}
