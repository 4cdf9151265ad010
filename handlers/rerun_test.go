package handlers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/handlers"
	"github.com/vlensq/vlensq/outcome"
)

// "Run" on an archived dead-lettered task in Asynqmon (Inspector.RunTask)
// goes through the dead-letter requeue: a new task id noted on the record,
// one outcome per task id, and the original task archived again with a
// LastErr saying where the run went. Also once the outcome marker has
// expired.
func TestAsynqmonRunOfDeadLetteredTaskGoesThroughRequeue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, markerExpired := range []bool{false, true} {
		name := "outcome marker present"
		if markerExpired {
			name = "outcome marker expired"
		}
		t.Run(name, func(t *testing.T) {
			b := setup(t, setupOpts{policy: fastPolicy})
			sc := uniq(t, "code:3010,ok")
			id := b.ocr(t, sc)
			o := b.waitOutcome(t, id, 10*time.Second)
			rec := b.deadLetter(t, o)
			waitArchived(t, b, id)
			if markerExpired {
				if err := b.rdb.Del(ctx, b.app.Outcomes.SeenKey(id)).Err(); err != nil {
					t.Fatal(err)
				}
			}

			if err := b.insp.RunTask(b.queue, id); err != nil { // what Asynqmon's Run does
				t.Fatal(err)
			}
			newID := deadletter.RequeueTaskID(rec.ID, 1)
			if o := b.waitOutcome(t, newID, 10*time.Second); o.Status != outcome.StatusSucceeded {
				t.Fatalf("requeued task outcome = %+v", o)
			}
			got, err := b.app.DLQ.Get(ctx, rec.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Requeued) != 1 || got.Requeued[0].NewTaskID != newID || got.Requeued[0].By != handlers.RunBy {
				t.Errorf("record requeued = %+v, want the run noted", got.Requeued)
			}
			info := waitState(t, b, id, asynq.TaskStateArchived, "requeued through the dead-letter store")
			if !strings.Contains(info.LastErr, newID) {
				t.Errorf("LastErr %q does not name the new task", info.LastErr)
			}
			if n := len(b.outcomesOf(t, id)); n != 1 {
				t.Errorf("%d outcomes for the original task, want 1", n)
			}
			if n := len(b.callsFor(sc)); n != 2 {
				t.Errorf("fake saw %d calls, want 2 (the original and the requeue)", n)
			}

			// Running it again does not requeue twice.
			if err := b.insp.RunTask(b.queue, id); err != nil {
				t.Fatal(err)
			}
			waitState(t, b, id, asynq.TaskStateArchived, "already requeued as "+newID)
			if n := len(b.callsFor(sc)); n != 2 {
				t.Errorf("fake saw %d calls after a second run, want 2", n)
			}
		})
	}
}

// waitState waits until task id is in state with a LastErr containing want.
func waitState(t *testing.T, b *testBundle, id string, state asynq.TaskState, want string) *asynq.TaskInfo {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := b.insp.GetTaskInfo(b.queue, id)
		if err == nil && info.State == state && strings.Contains(info.LastErr, want) {
			return info
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s: want %v with LastErr containing %q, have %+v %v", id, state, want, info, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
