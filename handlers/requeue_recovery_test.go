package handlers_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/outcome"
)

// A requeue that stopped between enqueueing the task and noting it on the
// record is finished by the next run, with the real asynq client: its
// duplicate-id refusal counts as "already enqueued", and so does a requeued
// task that already ended and left asynq.
func TestRequeueRecoveryWithTheRealClient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, gone := range []bool{false, true} {
		name := "task still in asynq"
		if gone {
			name = "task ended and dropped by asynq"
		}
		t.Run(name, func(t *testing.T) {
			b := setup(t, setupOpts{policy: fastPolicy})
			sc := uniq(t, "code:3010,ok")
			o := b.waitOutcome(t, b.ocr(t, sc), 10*time.Second)
			rec := b.deadLetter(t, o)
			newID := deadletter.RequeueTaskID(rec.ID, 1)

			// The interrupted run: the enqueue happened, the note did not.
			payload, err := b.app.DLQ.Payload(ctx, rec.ID)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.app.RequeueFunc()(ctx, rec, payload, newID); err != nil {
				t.Fatal(err)
			}
			if o := b.waitOutcome(t, newID, 10*time.Second); o.Status != outcome.StatusSucceeded {
				t.Fatalf("requeued task outcome = %+v", o)
			}
			if gone {
				// The outcome is published inside the handler: wait until
				// asynq has taken the task out of "active" too.
				waitUntil(t, 10*time.Second, func() bool {
					info, err := b.insp.GetTaskInfo(b.queue, newID)
					return err == nil && info.State != asynq.TaskStateActive
				})
				if err := b.insp.DeleteTask(b.queue, newID); err != nil {
					t.Fatal(err)
				}
			}

			rep, err := b.app.DLQ.Requeue(ctx, []string{rec.ID}, deadletter.Filter{}, deadletter.RequeueOptions{
				By: "test", Enqueue: b.app.RequeueFunc()})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Requeued != 1 || rep.Failed != 0 || rep.Items[0].NewTaskID != newID {
				t.Fatalf("report = %+v, want the interrupted requeue recorded", rep)
			}
			got, err := b.app.DLQ.Get(ctx, rec.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Requeued) != 1 || got.Requeued[0].NewTaskID != newID {
				t.Errorf("record requeued = %+v", got.Requeued)
			}
			// Nothing ran twice: one call per run, one outcome per task id.
			if n := len(b.callsFor(sc)); n != 2 {
				t.Errorf("fake saw %d calls, want 2 (the original and one requeue)", n)
			}
			if n := len(b.outcomesOf(t, newID)); n != 1 {
				t.Errorf("%d outcomes for the requeued task, want 1", n)
			}
			if _, err := b.insp.GetTaskInfo(b.queue, newID); gone && err == nil {
				t.Error("the requeued task was enqueued again after it ended")
			}
		})
	}
}
