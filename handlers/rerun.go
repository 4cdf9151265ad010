package handlers

import (
	"context"
	"fmt"
	"strings"

	"github.com/hibiken/asynq"

	"github.com/vlensq/vlensq/deadletter"
)

// A dead-lettered task stays archived in asynq, where Asynqmon offers to
// "Run" it. That must not call Vlens again behind the dead-letter store's
// back (a second outcome for the same task id, a second OTP): a task that
// already has a dead-letter record is run through the dead-letter requeue
// instead (a new task id, noted on the record's "requeued" list with By
// RunBy), or, when no requeue is wired, refused with the command to use.

// lastErrPrefix starts the error a dead-lettered attempt hands to asynq
// (publishDeadLetter), which asynq keeps as the task's LastErr.
const lastErrPrefix = "dead-lettered as "

// RunBy is the Requeue.By of a requeue made by running an archived task in
// Asynqmon (or with Inspector.RunTask).
const RunBy = "asynqmon run"

// rerunDeadLettered ends a run of a task that already has the dead-letter
// record dlID. A re-run by asynq itself (a crash after the outcome, before
// the archive) ends as before; a task archived by us and run again by hand
// (its LastErr is ours) goes through the requeue.
func (h *Handler) rerunDeadLettered(ctx context.Context, a *attempt, dlID string) error {
	if a.queue == "" || !h.runByHand(ctx, a) {
		return fmt.Errorf("already dead-lettered as %s: %w", dlID, asynq.SkipRetry)
	}
	if h.cfg.Requeue == nil {
		a.log.Warn().Str("dead_letter_id", dlID).Msg("run of a dead-lettered task refused: no requeue is configured")
		return fmt.Errorf("refused: this task is dead-lettered as %s; running it here would bypass the dead-letter store, "+
			"requeue it with `vlensq dlq requeue %s`: %w", dlID, dlID, asynq.SkipRetry)
	}
	rep, err := h.cfg.DeadLetters.Requeue(ctx, []string{dlID}, deadletter.Filter{}, deadletter.RequeueOptions{
		By: RunBy, Enqueue: h.cfg.Requeue,
	})
	if err != nil {
		return fmt.Errorf("requeue dead letter %s: %w", dlID, err) // asynq retries the run
	}
	it := rep.Items[0]
	a.log.Info().Str("dead_letter_id", dlID).Str("new_task_id", it.NewTaskID).Str("skipped", it.Skipped).
		Str("error", it.Error).Msg("run of a dead-lettered task goes through the dead-letter requeue")
	switch {
	case it.Error != "":
		return fmt.Errorf("dead-lettered as %s; the run was turned into a requeue, which failed: %s: %w", dlID, it.Error, asynq.SkipRetry)
	case it.Skipped != "":
		return fmt.Errorf("dead-lettered as %s, already requeued as %s; to requeue again use `vlensq dlq requeue --force %s`: %w",
			dlID, it.NewTaskID, dlID, asynq.SkipRetry)
	}
	return fmt.Errorf("dead-lettered as %s; this run was requeued through the dead-letter store as task %s: %w",
		dlID, it.NewTaskID, asynq.SkipRetry)
}

// runByHand reports whether this run is of a task we archived as dead
// letter: its LastErr is the one publishDeadLetter gave asynq. A task asynq
// recovered itself carries asynq's own error ("task lease expired").
func (h *Handler) runByHand(ctx context.Context, a *attempt) bool {
	insp := asynq.NewInspectorFromRedisClient(h.rdb)
	info, err := insp.GetTaskInfo(a.queue, a.id)
	if err != nil {
		a.log.Warn().Err(err).Msg("could not read the task's last error; treating the run as asynq's own")
		return false
	}
	for _, p := range []string{lastErrPrefix, "already " + lastErrPrefix, "refused: this task is dead-lettered"} {
		if strings.HasPrefix(info.LastErr, p) {
			return true
		}
	}
	return false
}
