package scaleout_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vlensq/vlensq/internal/cluster"
	"github.com/vlensq/vlensq/internal/testproc"
	"github.com/vlensq/vlensq/outcome"
	"github.com/vlensq/vlensq/tasks"
	"github.com/vlensq/vlensq/vlens"
)

// vlensqBinary builds cmd/vlensq once per test binary, with -race when the
// test binary has it (it then shares the race build cache).
func vlensqBinary(t *testing.T) string {
	t.Helper()
	bin, err := testproc.Build(testproc.Race)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

type workerProc struct {
	cmd     *exec.Cmd
	metrics string
	stderr  *bytes.Buffer
}

// startWorkerProc runs `vlensq worker` with args, its metrics server on a free
// port, and waits until /readyz answers 200.
func startWorkerProc(t *testing.T, bin string, env []string, args ...string) *workerProc {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	w := &workerProc{metrics: "http://" + addr, stderr: &bytes.Buffer{}}
	w.cmd = exec.Command(bin, append([]string{"worker", "--metrics", addr, "--log-format", "json", "--log-level", "warn"}, args...)...)
	w.cmd.Env = append(os.Environ(), env...)
	w.cmd.Stderr = &syncWriter{w: w.stderr}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = w.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = w.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = w.cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if res, err := http.Get(w.metrics + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return w
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker never ready on %s; stderr:\n%s", addr, w.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// processed sums the successful attempts in vlensq_tasks_processed_total on
// the worker's /metrics (throttled attempts are counted there too).
func (w *workerProc) processed(t *testing.T) float64 {
	t.Helper()
	res, err := http.Get(w.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var sum float64
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "vlensq_tasks_processed_total{") && strings.Contains(line, `class="success"`) {
			if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
				sum += v
			}
		}
	}
	return sum
}

// Three `vlensq worker` processes on a Redis Cluster drain one tenant's tasks
// from three priority queues. Every process does part of the work, the
// critical queue is served before the low one, and the calls reaching Vlens
// stay within the tenant's rate limit (+10 %): the limiter lives in Redis,
// not in a process.
func TestWorkerProcessesShareTenantRateLimit(t *testing.T) {
	t.Parallel()
	bin := vlensqBinary(t)
	c := cluster.StartCluster(t, cluster.Config{})
	const rate, perQueue = 20, 40
	b := newBundle(t, c.URL(), bundleOpts{ratePerSecond: rate, faults: "latency=10ms-30ms"})

	tenants, _ := json.Marshal([]vlens.Tenant{b.tenant})
	tenantsFile := filepath.Join(t.TempDir(), "tenants.json")
	if err := os.WriteFile(tenantsFile, tenants, 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"VLENSQ_REDIS=" + c.URL(), "VLENS_BASE_URL=" + b.fake.URL, "VLENSQ_TENANTS=" + tenantsFile}
	var workers []*workerProc
	for range 3 {
		workers = append(workers, startWorkerProc(t, bin, env, "--queues", "critical=6,default=3,low=1", "--concurrency", "8",
			"--retry-base", "50ms", "--retry-max", "500ms"))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key := fmt.Sprintf("%s-%d", b.tenant.Name, seq.Add(1))
	var ids []string
	queueOf := map[string]string{}
	for i := range perQueue {
		for _, q := range []string{"low", "default", "critical"} {
			id := fmt.Sprintf("mp-%s-%s-%03d", key, q, i)
			if _, err := b.enqueue(ctx, tasks.TypeOCRIDFront, b.ocrPayload(""), q, id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
			queueOf[id] = q
		}
	}
	got := b.waitOutcomes(t, ids, 25*time.Second)

	finish := map[string][]time.Time{}
	for _, id := range ids {
		if len(got[id]) != 1 || got[id][0].Status != outcome.StatusSucceeded {
			t.Fatalf("task %s: outcomes %+v, want one success", id, got[id])
		}
		finish[queueOf[id]] = append(finish[queueOf[id]], got[id][0].At)
	}
	if mc, ml := median(finish["critical"]), median(finish["low"]); !mc.Before(ml) {
		t.Errorf("critical tasks finished later than low ones (median %v vs %v): priorities not applied", mc.Format(time.StampMilli), ml.Format(time.StampMilli))
	}

	var total float64
	for i, w := range workers {
		n := w.processed(t)
		if n == 0 {
			t.Errorf("worker %d processed no task; stderr:\n%s", i, w.stderr)
		}
		total += n
		t.Logf("worker %d processed %.0f tasks", i, n)
	}
	if int(total) != len(ids) {
		t.Errorf("workers processed %.0f tasks, want %d", total, len(ids))
	}

	var at []time.Time
	for _, r := range b.fake.Requests() {
		if r.Tenant == b.tenant.Name && strings.HasPrefix(r.Path, "/v1/ocr/") {
			at = append(at, r.At)
		}
	}
	sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
	span := at[len(at)-1].Sub(at[0]).Seconds()
	// GCRA lets a burst of `rate` calls through at once; the rest is paced.
	paced := float64(len(at)-rate) / span
	t.Logf("%d calls in %.2fs: %.1f calls/s after the initial burst of %d (limit %d/s)", len(at), span, paced, rate, rate)
	if paced > rate*1.1 {
		t.Errorf("aggregate rate %.1f calls/s exceeds the tenant's %d/s + 10%%", paced, rate)
	}
	if paced < rate*0.5 {
		t.Errorf("aggregate rate %.1f calls/s: the workers did not press against the limit", paced)
	}
}

func median(ts []time.Time) time.Time {
	s := append([]time.Time(nil), ts...)
	sort.Slice(s, func(i, j int) bool { return s[i].Before(s[j]) })
	return s[len(s)/2]
}
