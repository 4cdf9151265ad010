package scaleout_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/vlensq/vlensq/handlers"
	"github.com/vlensq/vlensq/internal/app"
	"github.com/vlensq/vlensq/internal/config"
	"github.com/vlensq/vlensq/outcome"
	"github.com/vlensq/vlensq/tasks"
	"github.com/vlensq/vlensq/vlens"
	"github.com/vlensq/vlensq/vlens/vlenstest"
)

func init() {
	// go-redis reports every sentinel switch and cluster redirect on stderr;
	// the tests check the behaviour instead.
	redis.SetLogger(quietLogger{})
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

var seq atomic.Int64

// fastPolicy keeps the retry policy's shape at a tenth of its delays.
var fastPolicy = handlers.Policy{BaseDelay: 50 * time.Millisecond, MaxDelay: 800 * time.Millisecond, Jitter: -1}

type bundle struct {
	redis  *config.Redis
	app    *app.App
	fake   *vlenstest.Server
	tenant vlens.Tenant
	user   string
	insp   *asynq.Inspector
}

type bundleOpts struct {
	ratePerSecond int
	faults        string
}

// newBundle opens url the way every vlensq command does (config.OpenRedis)
// and assembles a process on it, with the rate limiter on, against a fresh
// fake Vlens.
func newBundle(t *testing.T, url string, o bundleOpts) *bundle {
	t.Helper()
	r, err := config.OpenRedis(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	n := seq.Add(1)
	tenant := vlens.Tenant{Name: fmt.Sprintf("scale-%d-%d", os.Getpid(), n), APIKey: fmt.Sprintf("key-%d", n),
		Username: "admin", Password: fmt.Sprintf("pw-%d", n), RatePerSecond: o.ratePerSecond, RatePerMinute: 100000}
	var faults vlenstest.Faults
	if o.faults != "" {
		if faults, err = vlenstest.ParseFaults(o.faults); err != nil {
			t.Fatal(err)
		}
	}
	fake := vlenstest.NewTestServer(t, vlenstest.Options{Tenants: []vlens.Tenant{tenant}, Faults: faults})
	ts, err := vlens.NewTenantSet(tenant)
	if err != nil {
		t.Fatal(err)
	}
	log := zerolog.Nop()
	if os.Getenv("SCALEOUT_DEBUG") != "" {
		log = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).With().Timestamp().Logger()
	}
	a, err := app.New(app.Options{Redis: r, Tenants: ts, VlensBaseURL: fake.URL, Policy: fastPolicy, Logger: &log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	b := &bundle{redis: r, app: a, fake: fake, tenant: tenant, user: "user-1", insp: asynq.NewInspectorFromRedisClient(r.Client)}
	access, refresh := fake.UserTokens(tenant.Name, b.user)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Sessions.Put(ctx, tenant.Name, b.user, vlens.Session{AccessToken: access, RefreshToken: refresh}); err != nil {
		t.Fatal(err)
	}
	return b
}

// startWorker runs a worker server in this process until the test ends.
func (b *bundle) startWorker(t *testing.T, queues map[string]int, concurrency int) {
	t.Helper()
	srv := b.app.NewServer(app.ServerOptions{Queues: queues, Concurrency: concurrency, ShutdownTimeout: 2 * time.Second})
	if err := srv.Start(b.app.Mux()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
}

var pngB64 = base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"))

// ocrPayload is an ocr:id_front payload scripted by scenario ("" answers
// normally).
func (b *bundle) ocrPayload(scenario string) *tasks.Payload {
	return &tasks.Payload{Tenant: b.tenant.Name, Image: &tasks.Image{Inline: pngB64}, Country: "EG", ClientTransactionID: scenario}
}

// enqueue enqueues like a careful producer: with its own task id, retrying
// errors (a failover in progress) until the deadline; ErrDuplicateID means
// an earlier try that looked failed did reach Redis.
func (b *bundle) enqueue(ctx context.Context, typ string, p *tasks.Payload, queue, id string) (retries int, err error) {
	for {
		_, err = b.app.Tasks.Enqueue(ctx, typ, p, tasks.EnqueueOptions{Queue: queue, ID: id})
		if err == nil || errors.Is(err, tasks.ErrDuplicateID) && retries > 0 {
			return retries, nil
		}
		var verr *tasks.ValidationError
		if errors.As(err, &verr) || errors.Is(err, tasks.ErrDuplicateID) {
			return retries, err
		}
		retries++
		select {
		case <-ctx.Done():
			return retries, fmt.Errorf("enqueue %s: %w (last error: %v)", id, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// outcomes reads the whole outcome stream, by task id.
func (b *bundle) outcomes(ctx context.Context) (map[string][]outcome.Outcome, error) {
	msgs, err := b.redis.Client.XRange(ctx, outcome.Stream, "-", "+").Result()
	if err != nil {
		return nil, err
	}
	out := map[string][]outcome.Outcome{}
	for _, m := range msgs {
		o := outcome.FromFields(m.Values)
		out[o.TaskID] = append(out[o.TaskID], o)
	}
	return out, nil
}

// waitOutcomes waits until every id has an outcome and returns them.
// Reading errors (a failover) are retried until the deadline.
func (b *bundle) waitOutcomes(t *testing.T, ids []string, within time.Duration) map[string][]outcome.Outcome {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		got, err := b.outcomes(ctx)
		cancel()
		var missing []string
		if err == nil {
			for _, id := range ids {
				if len(got[id]) == 0 {
					missing = append(missing, id)
				}
			}
			if len(missing) == 0 {
				return got
			}
		}
		if time.Now().After(deadline) {
			sort.Strings(missing)
			var states []string
			for _, id := range missing[:min(len(missing), 5)] {
				states = append(states, b.taskState(id))
			}
			t.Fatalf("no outcome within %v for %d tasks (read error: %v); the first: %v", within, len(missing), err, states)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// taskState describes a task for a failure message.
func (b *bundle) taskState(id string) string {
	qs, err := b.insp.Queues()
	if err != nil {
		return id + ": " + err.Error()
	}
	for _, q := range qs {
		if info, err := b.insp.GetTaskInfo(q, id); err == nil {
			return fmt.Sprintf("%s: %s in %s, retried %d, last error %q", id, info.State, q, info.Retried, info.LastErr)
		}
	}
	return id + ": not in any queue"
}

// recoverOrphans waits up to settle for the active tasks of queue to finish,
// then ages the lease of each task still active whose lease no heartbeat
// extends (a live worker keeps it 25–30 s ahead), and starts a worker whose
// recoverer picks them up at once. It returns the number of tasks aged.
func (b *bundle) recoverOrphans(t *testing.T, queue string, settle time.Duration) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), settle+10*time.Second)
	defer cancel()
	leaseKey := "asynq:{" + queue + "}:lease"
	var orphans []string
	deadline := time.Now().Add(settle)
	for {
		leases, err := b.redis.Client.ZRangeWithScores(ctx, leaseKey, 0, -1).Result()
		if err != nil {
			t.Fatalf("read leases: %v", err)
		}
		orphans = orphans[:0]
		for _, z := range leases {
			// A heartbeat every 5 s sets the lease to now+30 s.
			if time.Until(time.Unix(int64(z.Score), 0)) < 20*time.Second {
				orphans = append(orphans, z.Member.(string))
			}
		}
		if len(leases) == len(orphans) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(orphans) == 0 {
		return 0
	}
	past := float64(time.Now().Add(-2 * time.Minute).Unix())
	for _, id := range orphans {
		if err := b.redis.Client.ZAddXX(ctx, leaseKey, redis.Z{Score: past, Member: id}).Err(); err != nil {
			t.Fatalf("age lease of %s: %v", id, err)
		}
	}
	b.startWorker(t, map[string]int{queue: 1}, 4)
	return len(orphans)
}
