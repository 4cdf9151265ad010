package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/vlensq/vlensq/flows"
	"github.com/vlensq/vlensq/internal/redistest"
)

// The step journal only grows: the first transaction_id and attempt start
// win, and seeding a requeued task never overwrites what it has done.
// (It lives here because the flows package owns no Redis database.)
func TestFlowJournalOnlyGrows(t *testing.T) {
	t.Parallel()
	rdb := redistest.Client(t, redistest.DBHandlers)
	ctx := context.Background()
	id := fmt.Sprintf("flow-journal-%d", seq.Add(1))
	ttl := time.Minute

	st, err := flows.Begin(ctx, rdb, id, "tx-first", flows.StepFront, 0, ttl)
	if err != nil || st.TransactionID != "tx-first" || st.Starts[flows.StepFront] != 0 {
		t.Fatalf("Begin = %+v, %v", st, err)
	}
	if st, _ = flows.Begin(ctx, rdb, id, "tx-second", flows.StepFront, 2, ttl); st.TransactionID != "tx-first" || st.Starts[flows.StepFront] != 0 {
		t.Errorf("a second Begin changed the journal: %+v", st)
	}
	if err := flows.SaveStep(ctx, rdb, id, flows.StepFront, json.RawMessage(`{"data":{"n":1}}`), ttl); err != nil {
		t.Fatal(err)
	}
	seed := &flows.State{TransactionID: "tx-old", Results: map[string]json.RawMessage{
		flows.StepFront: json.RawMessage(`{"data":{"n":0}}`), flows.StepBack: json.RawMessage(`{"data":{"n":2}}`)}}
	if err := flows.Seed(ctx, rdb, id, seed, ttl); err != nil {
		t.Fatal(err)
	}
	st, err = flows.Load(ctx, rdb, id)
	if err != nil || st.TransactionID != "tx-first" || string(st.Results[flows.StepFront]) != `{"data":{"n":1}}` || !st.Done(flows.StepBack) || st.Done(flows.StepLiveness) {
		t.Errorf("after Seed: %+v, %v", st, err)
	}
	if d := rdb.TTL(ctx, flows.Key(id)).Val(); d <= 0 || d > ttl {
		t.Errorf("journal TTL %v, want at most %v", d, ttl)
	}
}
