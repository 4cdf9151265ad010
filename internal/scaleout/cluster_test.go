package scaleout_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vlensq/vlensq/dashboard"
	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/internal/cluster"
	"github.com/vlensq/vlensq/outcome"
	"github.com/vlensq/vlensq/tasks"
)

// Every component runs through one redis-cluster:// URL on a real 3-master
// cluster: a multi-key command or script whose keys hash to different slots
// fails there with CROSSSLOT, so a pipeline that ends every task proves the
// hash tags right.
func TestPipelineOnRedisCluster(t *testing.T) {
	t.Parallel()
	c := cluster.StartCluster(t, cluster.Config{})
	b := newBundle(t, c.URL(), bundleOpts{ratePerSecond: 1000})
	if b.redis.Kind != "cluster" {
		t.Fatalf("OpenRedis(%s).Kind = %q", c.URL(), b.redis.Kind)
	}
	queues := map[string]int{"critical": 6, "default": 3, "low": 1}
	masters := map[*cluster.Node]bool{}
	for q := range queues {
		masters[c.MasterOf("asynq:{"+q+"}:pending")] = true
	}
	if len(masters) < 2 {
		t.Fatalf("queues critical, default and low all hash to one master; the test would not cross nodes")
	}
	b.startWorker(t, queues, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()

	key := fmt.Sprintf("%s-%d", b.tenant.Name, seq.Add(1))
	type job struct {
		id, queue, typ string
		p              *tasks.Payload
		want           outcome.Status
	}
	verify := &tasks.Payload{Tenant: b.tenant.Name, User: b.user, Image: &tasks.Image{Inline: pngB64},
		ClientTransactionID: "sandbox:expire,ok#" + key}
	jobs := []job{
		{"ok-critical-" + key, "critical", tasks.TypeOCRIDFront, b.ocrPayload(""), outcome.StatusSucceeded},
		{"ok-default-" + key, "default", tasks.TypeOCRIDFront, b.ocrPayload(""), outcome.StatusSucceeded},
		{"ok-low-" + key, "low", tasks.TypeOCRIDFront, b.ocrPayload(""), outcome.StatusSucceeded},
		{"retry-" + key, "default", tasks.TypeOCRIDFront, b.ocrPayload("sandbox:http503,ok#" + key), outcome.StatusSucceeded},
		{"refresh-" + key, "critical", tasks.TypeVerifyIDFront, verify, outcome.StatusSucceeded},
		{"dead-" + key, "low", tasks.TypeOCRIDFront, b.ocrPayload("sandbox:code:3011,ok#" + key), outcome.StatusDeadLettered},
	}
	var ids []string
	for _, j := range jobs {
		if _, err := b.enqueue(ctx, j.typ, j.p, j.queue, j.id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.id)
	}
	// A batch across the three queues (so across masters) goes through
	// automatic pipelining, which routes each enqueue to its slot's node.
	var batch []tasks.BatchItem
	for i := range 30 {
		q := []string{"critical", "default", "low"}[i%3]
		id := fmt.Sprintf("batch-%s-%d-%s", q, i, key)
		batch = append(batch, tasks.BatchItem{Type: tasks.TypeOCRIDFront, Payload: b.ocrPayload(""), Options: tasks.EnqueueOptions{Queue: q, ID: id}})
		jobs = append(jobs, job{id, q, tasks.TypeOCRIDFront, nil, outcome.StatusSucceeded})
		ids = append(ids, id)
	}
	for _, r := range b.app.Tasks.EnqueueBatch(ctx, batch) {
		if r.Err != nil {
			t.Fatalf("EnqueueBatch item %d: %v", r.Index, r.Err)
		}
	}
	if _, err := b.app.Tasks.Enqueue(ctx, tasks.TypeOCRIDFront, b.ocrPayload(""), tasks.EnqueueOptions{Queue: "critical", ID: jobs[0].id}); !errors.Is(err, tasks.ErrDuplicateID) {
		t.Errorf("second enqueue of id %s: %v, want ErrDuplicateID", jobs[0].id, err)
	}
	got := b.waitOutcomes(t, ids, 30*time.Second)
	for _, j := range jobs {
		if len(got[j.id]) != 1 || got[j.id][0].Status != j.want {
			t.Errorf("task %s: outcomes %+v, want one %s", j.id, got[j.id], j.want)
		}
	}

	// The refresh wrote the rotated user token back to the session store.
	sess, err := b.app.Sessions.Get(ctx, b.tenant.Name, b.user)
	if err != nil {
		t.Fatal(err)
	}
	if first, _ := b.fake.UserTokens(b.tenant.Name, b.user); sess.AccessToken == "" || sess.AccessToken == first {
		t.Errorf("session not refreshed on the cluster: access token unchanged")
	}

	// Dead-letter store: get, list, requeue (the scripted second call
	// succeeds), then purge.
	dead := got["dead-"+key][0]
	rec, err := b.app.DLQ.Get(ctx, dead.DeadLetterID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.ErrorCode != 3011 || rec.Tenant != b.tenant.Name || rec.Queue != "low" {
		t.Errorf("dead letter %+v", rec)
	}
	page, err := b.app.DLQ.List(ctx, deadletter.Filter{Tenant: b.tenant.Name, Code: 3011, HasCode: true}, 10, "")
	if err != nil || len(page.Records) != 1 || page.Records[0].ID != rec.ID {
		t.Fatalf("List by tenant and code: %+v, %v", page, err)
	}
	checkDashboard(t, c, b, rec.ID)

	rep, err := b.app.DLQ.Requeue(ctx, []string{rec.ID}, deadletter.Filter{}, deadletter.RequeueOptions{By: "scaleout-test", RatePerSecond: 100, Enqueue: b.app.RequeueFunc()})
	if err != nil || rep.Requeued != 1 {
		t.Fatalf("requeue: %+v, %v", rep, err)
	}
	again := b.waitOutcomes(t, []string{rep.Items[0].NewTaskID}, 20*time.Second)[rep.Items[0].NewTaskID]
	if len(again) != 1 || again[0].Status != outcome.StatusSucceeded {
		t.Errorf("requeued task outcomes %+v, want one success", again)
	}

	// Keys sit where their hash tags put them.
	keys, err := c.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	where := map[string]map[int]bool{}
	for i, ks := range keys {
		for _, k := range ks {
			for _, group := range []string{"{vlensq:dlq}", "vlensq:blob:", "vlensq:session:{" + b.tenant.Name, "rate:vlensq:{" + b.tenant.Name + "}", "{vlensq:outcomes}:seen:", "vlensq:task:{"} {
				if strings.HasPrefix(k, group) {
					if where[group] == nil {
						where[group] = map[int]bool{}
					}
					where[group][i] = true
				}
			}
		}
	}
	if n := len(where["{vlensq:dlq}"]); n != 1 {
		t.Errorf("dead-letter keys on %d masters, want all on one (hash tag {vlensq:dlq})", n)
	}
	for _, g := range []string{"vlensq:blob:", "vlensq:session:{" + b.tenant.Name, "rate:vlensq:{" + b.tenant.Name + "}", "{vlensq:outcomes}:seen:"} {
		if len(where[g]) == 0 {
			t.Errorf("no %s* key on the cluster", g)
		}
	}
	if m := c.MasterOf("{vlensq:outcomes}:seen:x"); m != c.MasterOf(outcome.Stream) {
		t.Errorf("outcome markers and stream on different masters")
	}

	if n, err := b.app.DLQ.Purge(ctx, []string{rec.ID}, deadletter.Filter{}, 0, false); err != nil || n != 1 {
		t.Fatalf("purge: %d, %v", n, err)
	}
	if _, err := b.app.DLQ.Get(ctx, rec.ID); !errors.Is(err, deadletter.ErrNotFound) {
		t.Errorf("purged record: %v, want ErrNotFound", err)
	}
}

// checkDashboard serves the dashboard on the cluster connection and reads
// its health, dead-letter API, metrics and Asynqmon's queue list.
func checkDashboard(t *testing.T, c *cluster.Cluster, b *bundle, recID string) {
	t.Helper()
	const token = "scaleout-dashboard-token"
	d, err := dashboard.New(dashboard.Config{Redis: b.redis, DLQ: b.app.DLQ, Requeue: b.app.RequeueFunc(), Token: token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	srv := httptest.NewServer(d.Handler())
	t.Cleanup(srv.Close)
	get := func(path string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	for _, tc := range []struct{ path, want string }{
		{"/readyz", ""},
		{"/api/dlq?tenant=" + b.tenant.Name, recID},
		{"/metrics", `vlensq_queue_size{queue="critical"`},
		{"/metrics", `vlensq_collector_up{source="queues"} 1`},
		{"/monitoring/api/queues", `"queue":"low"`},
	} {
		code, body := get(tc.path)
		if code != http.StatusOK || !strings.Contains(body, tc.want) {
			if len(body) > 400 {
				body = body[:400] + "…"
			}
			t.Errorf("dashboard GET %s on %s: %d, want 200 with %q; body %s", tc.path, c.URL(), code, tc.want, body)
		}
	}
}
