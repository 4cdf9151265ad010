package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/flows"
	"github.com/vlensq/vlensq/internal/redistest"
)

// dlq requeue of a verify:identity dead letter seeds the new task's step
// journal (it resumes at the failed step); --restart does not.
func TestDLQRequeueResumesOrRestartsAFlow(t *testing.T) {
	c := newCLI(t)
	q := uniqueQueue(t)
	ctx := context.Background()
	rdb := redistest.Client(t, redistest.DBCmd)
	store, err := deadletter.New(rdb, deadletter.Config{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(png1x1)
	img := func(n byte) string { return base64.StdEncoding.EncodeToString(append(bytes.Clone(raw), n)) }
	payload, _ := json.Marshal(map[string]any{"tenant": "demo-bank", "user": "u1", "front_image": img(1), "back_image": img(2),
		"face_1": img(3), "face_2": img(4), "face_3": img(5)})
	st := &flows.State{TransactionID: "9b2f8c1e-0000-4000-8000-000000000001", Results: map[string]json.RawMessage{
		flows.StepFront: json.RawMessage(`{"data":{}}`), flows.StepBack: json.RawMessage(`{"data":{}}`)}}
	packed, err := flows.Pack(payload, st)
	if err != nil {
		t.Fatal(err)
	}
	add := func(taskID string) string {
		rec := &deadletter.Record{TaskID: taskID, Queue: q, Type: "verify:identity", Tenant: "demo-bank",
			Class: "permanent", Category: "identity_verification", Step: flows.StepLiveness}
		id, _, err := store.Add(ctx, rec, packed)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	resume, restart := add(q+"-a"), add(q+"-b")

	code, out, stderr := c.run("", "dlq", "requeue", resume)
	if code != 0 || !strings.Contains(out, "requeued as "+resume+":rq1") {
		t.Fatalf("requeue: exit %d out %q err %q", code, out, stderr)
	}
	j, err := rdb.HGetAll(ctx, flows.Key(resume+":rq1")).Result()
	if err != nil || j["transaction_id"] != st.TransactionID || j["result:front"] == "" || j["result:back"] == "" || j["result:liveness"] != "" {
		t.Errorf("resumed task's step journal = %v (%v), want the transaction and front and back", j, err)
	}

	code, out, stderr = c.run("", "dlq", "requeue", restart, "--restart")
	if code != 0 || !strings.Contains(out, "requeued as "+restart+":rq1") {
		t.Fatalf("requeue --restart: exit %d out %q err %q", code, out, stderr)
	}
	if n, err := rdb.Exists(ctx, flows.Key(restart+":rq1")).Result(); err != nil || n != 0 {
		t.Errorf("restarted task has a step journal (%d, %v)", n, err)
	}
	// A record already requeued is skipped, unless --force.
	if code, out, _ = c.run("", "dlq", "requeue", resume, "--restart"); code != 0 || !strings.Contains(out, "skipped 1") {
		t.Errorf("second requeue: exit %d out %q", code, out)
	}
	if code, out, _ = c.run("", "dlq", "requeue", resume, "--restart", "--force"); code != 0 || !strings.Contains(out, "requeued as "+resume+":rq2") {
		t.Errorf("requeue --restart --force: exit %d out %q", code, out)
	}
	if n, err := rdb.Exists(ctx, flows.Key(resume+":rq2")).Result(); err != nil || n != 0 {
		t.Errorf("forced restart has a step journal (%d, %v)", n, err)
	}
}
