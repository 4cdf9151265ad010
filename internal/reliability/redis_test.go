package reliability

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is an own redis-server with AOF on, for tests that stop and
// restart it. The shared server on 6379 is never touched.
type redisServer struct {
	t    *testing.T
	port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

func startRedis(t *testing.T) *redisServer {
	t.Helper()
	r := &redisServer{t: t, port: freePort(t), dir: t.TempDir()}
	r.start()
	t.Cleanup(func() { r.stop() })
	return r
}

func (r *redisServer) addr() string { return fmt.Sprintf("127.0.0.1:%d", r.port) }

func (r *redisServer) start() {
	r.t.Helper()
	r.cmd = exec.Command("/usr/bin/redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--dir", r.dir,
		"--appendonly", "yes", "--appendfsync", "everysec", "--save", "")
	r.done = make(chan struct{})
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	c := redis.NewClient(&redis.Options{Addr: r.addr(), MaxRetries: -1})
	defer c.Close()
	waitFor(r.t, 10*time.Second, "redis-server to answer", func() bool {
		return c.Ping(context.Background()).Err() == nil
	}, nil)
}

// stop shuts Redis down gracefully (SIGTERM: the AOF is flushed).
func (r *redisServer) stop() {
	select {
	case <-r.done:
		return
	default:
	}
	_ = r.cmd.Process.Signal(os.Interrupt)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

// cpuTime is the user+system CPU time a process has used so far.
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the ")" that closes the command name; utime and stime are
	// fields 14 and 15 of the line (11 and 12 after the state).
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

// Issue 7 §2: Redis goes down in the middle of a run and comes back (a
// graceful restart, AOF on). While it is down the worker and the dashboard
// stay up, log, back off (no busy spin) and report not ready; once it is
// back they reconnect by themselves and no task is lost or ended twice.
func TestRedisRestartMidRunLosesNothing(t *testing.T) {
	t.Parallel()
	srv := startRedis(t)
	b := newBundle(t, bundleOpts{faults: "latency=20ms-60ms", redisAddr: srv.addr()})
	n := size(300, 3000)
	outage := time.Duration(size(5, 60)) * time.Second
	ids := b.enqueue(n, nil)
	w := b.worker(10)
	dash := start(t, append(b.env(), "VLENSQ_DASHBOARD_TOKEN=reliability-dashboard-token"), "dashboard", "--addr", "127.0.0.1:0")
	dash.waitOutput(t, "vlensq dashboard on http://", 20*time.Second)
	out := dash.out.String()
	dashURL := strings.TrimSuffix(strings.Fields(out[strings.Index(out, "vlensq dashboard on ")+len("vlensq dashboard on "):])[0], "/")
	ready := func() int {
		resp, err := http.Get(dashURL + "/readyz")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := ready(); c != http.StatusOK {
		t.Fatalf("dashboard /readyz = %d before the outage", c)
	}

	waitFor(t, time.Minute, "a third of the tasks done", func() bool {
		qi, err := b.insp.GetQueueInfo(b.queue)
		return err == nil && qi.Completed+qi.Archived >= n/3
	}, nil)
	logBefore := len(w.out.String())
	cpuBefore := cpuTime(t, w.cmd.Process.Pid)
	srv.stop()
	down := time.Now()
	time.Sleep(outage) // the outage itself: nothing to wait for
	cpu := cpuTime(t, w.cmd.Process.Pid) - cpuBefore
	outageLog := w.out.String()[logBefore:]
	if w.exited.Load() {
		t.Fatalf("the worker exited while Redis was down:\n%s", tail(w.out.String(), 3000))
	}
	if dash.exited.Load() {
		t.Fatalf("the dashboard exited while Redis was down:\n%s", tail(dash.out.String(), 3000))
	}
	if c := ready(); c != http.StatusServiceUnavailable {
		t.Errorf("dashboard /readyz = %d while Redis is down, want 503", c)
	}
	lines := strings.Count(outageLog, "\n")
	errLines := strings.Count(outageLog, `"level":"error"`) + strings.Count(outageLog, `"level":"warn"`)
	if errLines == 0 {
		t.Errorf("the worker logged nothing about the lost Redis in %v", outage)
	}
	cpuShare := float64(cpu) / float64(time.Since(down))
	if cpuShare > 0.25 {
		t.Errorf("the worker used %.0f%% of a core while Redis was down: a busy loop", 100*cpuShare)
	}
	if perSec := float64(lines) / outage.Seconds(); perSec > 50 {
		t.Errorf("the worker logged %.0f lines/s while Redis was down: it does not back off", perSec)
	}

	srv.start()
	back := time.Now()
	waitFor(t, time.Minute, "the dashboard to be ready again", func() bool { return ready() == http.StatusOK }, nil)
	dashBack := time.Since(back)
	got := b.waitAllEnded(ids, 3*time.Minute)
	resumed := time.Since(back)
	succeeded, dead := b.checkExactlyOnce(ids, got)
	if succeeded != n {
		t.Errorf("%d of %d tasks succeeded (%d dead-lettered), want all: a Redis outage must not fail tasks", succeeded, n, dead)
	}
	// Asynqmon (behind the dashboard's auth) reads the queue again.
	req, _ := http.NewRequest(http.MethodGet, dashURL+"/monitoring/api/queues", nil)
	req.Header.Set("Authorization", "Bearer reliability-dashboard-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("Asynqmon /api/queues after the restart = %d", resp.StatusCode)
	}
	logf(t, "redis: outage of %v mid-run (%d tasks, graceful restart, AOF on): worker and dashboard stayed up; worker CPU %.1f%% of a core, "+
		"%d log lines (%d warn/error) during the outage; dashboard ready %v after Redis returned; all %d tasks ended exactly once %v after it returned",
		outage, n, 100*cpuShare, lines, errLines, dashBack.Round(10*time.Millisecond), n, resumed.Round(10*time.Millisecond))
}
