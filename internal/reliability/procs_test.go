package reliability

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
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/vlensq/vlensq/internal/redistest"
	"github.com/vlensq/vlensq/internal/testproc"
	"github.com/vlensq/vlensq/outcome"
	"github.com/vlensq/vlensq/tasks"
	"github.com/vlensq/vlensq/vlens"
	"github.com/vlensq/vlensq/vlens/vlenstest"
)

// binary is the vlensq command built once for the whole test run.
var binary string

func TestMain(m *testing.M) {
	var err error
	if binary, err = testproc.Build(false); err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

var seq atomic.Int64

// proc is a vlensq subprocess.
type proc struct {
	cmd    *exec.Cmd
	out    *testproc.SyncBuffer // stdout and stderr
	done   chan struct{}
	exited atomic.Bool
	err    error
}

// start runs vlensq with args and env (added to a minimal environment); it
// is killed when the test ends.
func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binary, args...), out: &testproc.SyncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "VLENSQ_LOG_FORMAT=json"}, env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start vlensq %v: %v", args, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		p.exited.Store(true)
		close(p.done)
	}()
	t.Cleanup(func() { p.kill() })
	return p
}

func (p *proc) kill() {
	if !p.exited.Load() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.done
}

// signal sends sig and waits up to within for the process to exit.
func (p *proc) stop(t *testing.T, sig os.Signal, within time.Duration) time.Duration {
	t.Helper()
	began := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(within):
		t.Fatalf("vlensq did not exit within %v of %v; output:\n%s", within, sig, tail(p.out.String(), 3000))
	}
	return time.Since(began)
}

// waitOutput waits until the process has printed s.
func (p *proc) waitOutput(t *testing.T, s string, within time.Duration) {
	t.Helper()
	waitFor(t, within, "output "+s, func() bool { return strings.Contains(p.out.String(), s) }, func() string { return tail(p.out.String(), 3000) })
}

// waitFor polls cond every 20 ms until it holds or within has passed.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool, info func() string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			msg := ""
			if info != nil {
				msg = info()
			}
			t.Fatalf("timed out after %v waiting for %s\n%s", within, what, msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// bundle is one test's world: a tenant, a tenants file, a queue, a sandbox
// process and a client for Redis db.
type bundle struct {
	t       *testing.T
	tenant  vlens.Tenant
	tenants string // tenants file
	queue   string
	redis   string // VLENSQ_REDIS of the processes
	rdb     *redis.Client
	insp    *asynq.Inspector
	client  *tasks.Client
	fakeURL string
	sandbox *proc
}

type bundleOpts struct {
	// faults is the sandbox's fault spec.
	faults string
	// redisAddr is a Redis other than the shared test server (db 0).
	redisAddr string
}

func newBundle(t *testing.T, o bundleOpts) *bundle {
	t.Helper()
	n := seq.Add(1)
	b := &bundle{t: t, queue: fmt.Sprintf("rel-%d-%d", os.Getpid(), n)}
	b.tenant = vlens.Tenant{Name: fmt.Sprintf("rel-%d-%d", os.Getpid(), n), APIKey: fmt.Sprintf("rel-key-%d-%d", os.Getpid(), n),
		Username: "admin", Password: fmt.Sprintf("rel-pw-%d", n), RatePerSecond: 100000, RatePerMinute: 6000000}
	if o.redisAddr != "" {
		b.rdb = redis.NewClient(&redis.Options{Addr: o.redisAddr, MaxRetries: -1})
		t.Cleanup(func() { _ = b.rdb.Close() })
		b.redis = "redis://" + o.redisAddr + "/0"
	} else {
		b.rdb = redistest.Client(t, redistest.DBE2E)
		b.redis = fmt.Sprintf("redis://%s/%d", redistest.Addr(), redistest.DBE2E)
	}
	b.tenants = writeJSON(t, "tenants.json", []vlens.Tenant{b.tenant})
	ts, err := vlens.NewTenantSet(b.tenant)
	if err != nil {
		t.Fatal(err)
	}
	if b.client, err = tasks.NewClient(b.rdb, tasks.ClientConfig{Tenants: ts, Blobs: tasks.NewBlobStore(b.rdb, 0)}); err != nil {
		t.Fatal(err)
	}
	b.insp = asynq.NewInspectorFromRedisClient(b.rdb)
	b.sandbox = start(t, []string{"VLENSQ_TENANTS=" + b.tenants}, "sandbox", "--addr", "127.0.0.1:0", "--faults", o.faults)
	b.sandbox.waitOutput(t, "fake Vlens at http://", 20*time.Second)
	line := b.sandbox.out.String()
	i := strings.Index(line, "fake Vlens at ")
	b.fakeURL = strings.Fields(line[i+len("fake Vlens at "):])[0]
	return b
}

func writeJSON(t *testing.T, name string, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, name, b)
}

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// env is the environment of a worker or CLI process of the bundle. The
// retry policy is a tenth of the default's delays.
func (b *bundle) env(extra ...string) []string {
	return append([]string{
		"VLENSQ_REDIS=" + b.redis, "VLENSQ_TENANTS=" + b.tenants, "VLENS_BASE_URL=" + b.fakeURL,
		"VLENSQ_RETRY_BASE=50ms", "VLENSQ_RETRY_MAX=800ms",
	}, extra...)
}

// worker starts a worker on the bundle's queue.
func (b *bundle) worker(concurrency int, extra ...string) *proc {
	b.t.Helper()
	p := start(b.t, b.env(extra...), "worker", "--queues", b.queue+"=1", "--concurrency", fmt.Sprint(concurrency))
	p.waitOutput(b.t, "worker started", 20*time.Second)
	return p
}

// enqueue enqueues n ocr:id_front tasks; scenario(i), when not nil, gives
// task i's client_transaction_id (a "sandbox:..." script or a plain id).
func (b *bundle) enqueue(n int, scenario func(i int) string) []string {
	b.t.Helper()
	img := tasks.InlineImage(vlenstest.SampleImage(2))
	items := make([]tasks.BatchItem, n)
	for i := range items {
		ct := fmt.Sprintf("%s-%d", b.queue, i)
		if scenario != nil {
			ct = scenario(i)
		}
		items[i] = tasks.BatchItem{Type: tasks.TypeOCRIDFront, Options: tasks.EnqueueOptions{Queue: b.queue},
			Payload: &tasks.Payload{Tenant: b.tenant.Name, Image: img, Country: "EG", ClientTransactionID: ct}}
	}
	ids := make([]string, n)
	for _, r := range b.client.EnqueueBatch(context.Background(), items) {
		if r.Err != nil {
			b.t.Fatalf("enqueue %d: %v", r.Index, r.Err)
		}
		ids[r.Index] = r.Info.ID
	}
	return ids
}

// outcomes returns the outcomes of the bundle's queue by task id.
func (b *bundle) outcomes() map[string][]outcome.Outcome {
	b.t.Helper()
	out := map[string][]outcome.Outcome{}
	last := "-"
	for {
		msgs, err := b.rdb.XRangeN(context.Background(), outcome.Stream, last, "+", 2000).Result()
		if err != nil {
			b.t.Fatalf("read outcomes: %v", err)
		}
		for _, m := range msgs {
			if o := outcome.FromFields(m.Values); o.Queue == b.queue {
				out[o.TaskID] = append(out[o.TaskID], o)
			}
		}
		if len(msgs) < 2000 {
			return out
		}
		last = "(" + msgs[len(msgs)-1].ID
	}
}

// waitAllEnded waits until every task in ids has an outcome, then until the
// queue is idle, and returns the outcomes.
func (b *bundle) waitAllEnded(ids []string, within time.Duration) map[string][]outcome.Outcome {
	b.t.Helper()
	var got map[string][]outcome.Outcome
	missing := func() int {
		got = b.outcomes()
		n := 0
		for _, id := range ids {
			if len(got[id]) == 0 {
				n++
			}
		}
		return n
	}
	waitFor(b.t, within, "every task to end", func() bool { return missing() == 0 }, func() string {
		qi, _ := b.insp.GetQueueInfo(b.queue)
		return fmt.Sprintf("%d of %d tasks have no outcome; queue: %+v", missing(), len(ids), qi)
	})
	// A task whose end asynq could not record (Redis lost at that moment)
	// stays "active" until asynq's recoverer takes it back, 60 s to 2 min
	// later, and ends at once on re-run: wait for that bound.
	waitFor(b.t, 150*time.Second, "the queue to be idle", func() bool {
		qi, err := b.insp.GetQueueInfo(b.queue)
		return err == nil && qi.Pending+qi.Active+qi.Scheduled+qi.Retry == 0
	}, nil)
	return b.outcomes()
}

// checkExactlyOnce fails the test unless every task has exactly one outcome
// and every dead-lettered task exactly one dead-letter record.
func (b *bundle) checkExactlyOnce(ids []string, got map[string][]outcome.Outcome) (succeeded, dead int) {
	b.t.Helper()
	for _, id := range ids {
		os := got[id]
		if len(os) != 1 {
			b.t.Errorf("task %s has %d outcomes, want exactly 1: %+v", id, len(os), os)
			continue
		}
		if os[0].Status == outcome.StatusDeadLettered {
			dead++
		} else {
			succeeded++
		}
	}
	records := b.deadLetterTaskIDs()
	seen := map[string]int{}
	for _, id := range records {
		seen[id]++
	}
	for id, n := range seen {
		if n > 1 {
			b.t.Errorf("task %s has %d dead-letter records, want 1", id, n)
		}
	}
	if len(records) != dead {
		b.t.Errorf("%d dead-letter records for %d dead-lettered outcomes", len(records), dead)
	}
	return succeeded, dead
}

// deadLetterTaskIDs returns the task id of every dead-letter record of the
// bundle's tenant, read through `vlensq dlq export` (one per line).
func (b *bundle) deadLetterTaskIDs() []string {
	b.t.Helper()
	out, code := b.run(nil, "dlq", "export", "--tenant", b.tenant.Name, "--format", "ndjson")
	if code != 0 {
		b.t.Fatalf("dlq export: exit %d\n%s", code, out)
	}
	var ids []string
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var r struct {
			TaskID string `json:"task_id"`
		}
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.TaskID != "" {
			ids = append(ids, r.TaskID)
		}
	}
	return ids
}

// run runs a vlensq command to its end and returns its output (stdout, then
// stderr) and exit code.
func (b *bundle) run(stdin io.Reader, args ...string) (string, int) {
	b.t.Helper()
	return runVlensq(b.t, b.env(), stdin, args...)
}

func runVlensq(t *testing.T, env []string, stdin io.Reader, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "VLENSQ_LOG_FORMAT=json"}, env...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run vlensq %v: %v", args, err)
	}
	return stdout.String() + stderr.String(), code
}

// sandboxJSON GETs an admin route of the sandbox into v.
func (b *bundle) sandboxJSON(route string, v any) {
	b.t.Helper()
	resp, err := http.Get(b.fakeURL + vlenstest.AdminPrefix + route)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		b.t.Fatalf("decode %s: %v", route, err)
	}
}

// freePort returns a TCP port free at the time of the call.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
