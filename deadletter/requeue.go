package deadletter

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
)

// RequeueOptions configures Requeue.
type RequeueOptions struct {
	// DryRun lists what would be requeued and changes nothing: no enqueue,
	// no requeued entry, no wait.
	DryRun bool
	// By names who requeued (a user or a service); recorded on the record.
	By string
	// RatePerSecond throttles enqueues, in records per second. Default
	// RequeueRateDefault (20). Must not be negative.
	RatePerSecond float64
	// Progress, when set, is called after each record with the number done
	// and the expected total (the total grows if records arrive meanwhile).
	Progress func(done, total int)
	// Enqueue puts the record's task back on a queue with the task id
	// newTaskID (use it as the asynq task id, so a repeat is refused). When
	// the queue already has that task id it should return an error wrapping
	// ErrTaskExists. Required unless DryRun.
	Enqueue func(ctx context.Context, rec *Record, payload []byte, newTaskID string) error
	// All selects every record when no ids and an empty filter are given:
	// the explicit form of "requeue everything" (dlq requeue --all).
	// Without it an empty selection is refused.
	All bool
	// Force requeues records that were already requeued (a new task id
	// "<id>:rq<n+1>"). Without it they are skipped, so running the same
	// requeue twice enqueues each record once.
	Force bool
}

// RequeueReport is the outcome of Requeue. Requeued+Skipped+Failed ==
// Matched. In a dry run Requeued counts what would be requeued.
type RequeueReport struct {
	DryRun   bool          `json:"dry_run,omitempty"`
	Matched  int           `json:"matched"`
	Requeued int           `json:"requeued"`
	Skipped  int           `json:"skipped"`
	Failed   int           `json:"failed"`
	Items    []RequeueItem `json:"items"`
}

// RequeueItem is the outcome for one record.
type RequeueItem struct {
	ID     string `json:"id"`
	TaskID string `json:"task_id,omitempty"`
	// NewTaskID is the task id it was (or, in a dry run, would be) enqueued
	// with; for a skipped record, the task id of its last requeue.
	NewTaskID string `json:"new_task_id,omitempty"`
	// Skipped gives the reason a record was not requeued.
	Skipped string `json:"skipped,omitempty"`
	// Error says why requeueing failed.
	Error string `json:"error,omitempty"`
}

// recordTimeout bounds recording a requeue whose task is already enqueued.
const recordTimeout = 10 * time.Second

// Skip reasons in RequeueItem.Skipped.
const SkipAlreadyRequeued = "already requeued"

// RequeueTaskID is the task id of the n-th requeue (from 1) of record id.
func RequeueTaskID(id string, n int) string { return id + ":rq" + strconv.Itoa(n) }

// Requeue puts records back on their queues through opt.Enqueue: the records
// ids when given, else those matching f (which must not be empty: requeueing
// everything takes an explicit filter such as Since). It is idempotent per
// record: each record is enqueued with the task id RequeueTaskID(id, n) and
// the requeue is recorded on the record (its "requeued" list) atomically; a
// record already requeued is skipped unless opt.Force. Enqueues are throttled
// to opt.RatePerSecond.
//
// Per-record failures are reported in the report, not as the error; the
// error is for bad options, Redis failures while selecting records, or ctx
// ending (the report then covers the records done so far).
//
// A crash between enqueueing a record and recording it is recovered by the
// next run: the enqueue is refused with ErrTaskExists while the task still
// exists, and then recorded.
func (s *Store) Requeue(ctx context.Context, ids []string, f Filter, opt RequeueOptions) (RequeueReport, error) {
	rep := RequeueReport{DryRun: opt.DryRun, Items: []RequeueItem{}}
	if len(ids) > 0 && !f.IsZero() {
		return rep, inputErr("filter", "", "give record ids or a filter, not both")
	}
	if len(ids) == 0 && f.IsZero() && !opt.All {
		return rep, inputErr("filter", "", "give record ids, a filter, or All (an empty filter would requeue every record)")
	}
	if opt.RatePerSecond < 0 {
		return rep, inputErr("rate", strconv.FormatFloat(opt.RatePerSecond, 'g', -1, 64), "must not be negative")
	}
	if opt.Enqueue == nil && !opt.DryRun {
		return rep, errors.New("deadletter: requeue: RequeueOptions.Enqueue is required")
	}
	lim := rate.NewLimiter(rate.Limit(cmp.Or(opt.RatePerSecond, RequeueRateDefault)), 1)

	total := 0
	one := func(rec *Record, id string) error {
		item := s.requeueOne(ctx, rec, id, opt, lim)
		rep.Matched++
		switch {
		case item.Error != "":
			rep.Failed++
		case item.Skipped != "":
			rep.Skipped++
		default:
			rep.Requeued++
		}
		rep.Items = append(rep.Items, item)
		if opt.Progress != nil {
			total = max(total, rep.Matched)
			opt.Progress(rep.Matched, total)
		}
		return ctx.Err()
	}

	if len(ids) > 0 {
		ids = dedup(ids)
		total = len(ids)
		for start := 0; start < len(ids); start += EachPageSize {
			chunk := ids[start:min(start+EachPageSize, len(ids))]
			recs, err := s.getMany(ctx, chunk)
			if err != nil {
				return rep, err
			}
			for i, rec := range recs {
				if err := one(rec, chunk[i]); err != nil {
					return rep, err
				}
			}
		}
		return rep, nil
	}
	n, err := s.Count(ctx, f)
	if err != nil {
		return rep, err
	}
	total = int(n)
	err = s.Each(ctx, f, func(rec *Record) error { return one(rec, rec.ID) })
	return rep, err
}

// requeueOne requeues one record (nil when it does not exist).
func (s *Store) requeueOne(ctx context.Context, rec *Record, id string, opt RequeueOptions, lim *rate.Limiter) RequeueItem {
	item := RequeueItem{ID: id}
	if rec == nil {
		item.Error = notFound("record", id).Error()
		return item
	}
	item.TaskID = rec.TaskID
	n := len(rec.Requeued)
	if n > 0 && !opt.Force {
		item.Skipped = SkipAlreadyRequeued
		item.NewTaskID = rec.Requeued[n-1].NewTaskID
		return item
	}
	item.NewTaskID = RequeueTaskID(id, n+1)
	if opt.DryRun {
		return item
	}
	payload, err := s.Payload(ctx, id)
	if err != nil {
		item.Error = err.Error()
		return item
	}
	now := s.cfg.Now()
	if d := lim.ReserveN(now, 1).DelayFrom(now); d > 0 {
		if err := s.sleep(ctx, d); err != nil {
			item.Error = err.Error()
			return item
		}
	}
	if err := opt.Enqueue(ctx, rec, payload, item.NewTaskID); err != nil && !errors.Is(err, ErrTaskExists) {
		item.Error = "enqueue: " + err.Error()
		return item
	}
	// The task is on its queue now: record it even if ctx has just ended.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	entry := Requeue{At: s.cfg.Now().UTC(), By: opt.By, NewTaskID: item.NewTaskID}
	switch done, err := s.recordRequeue(rctx, id, n, entry); {
	case err != nil:
		item.Error = err.Error()
	case !done:
		// Another requeue of this record was recorded first.
		item.Skipped = SkipAlreadyRequeued
	}
	return item
}

// recordRequeue appends entry to the record's requeued list if it still has
// n entries (optimistic transaction on the record key). It reports false when
// another requeue got there first, and an error wrapping ErrNotFound when the
// record was removed meanwhile.
func (s *Store) recordRequeue(ctx context.Context, id string, n int, entry Requeue) (bool, error) {
	key := s.k.record(id)
	var done bool
	txf := func(tx *redis.Tx) error {
		b, err := tx.Get(ctx, key).Bytes()
		if errors.Is(err, redis.Nil) {
			return notFound("record", id)
		}
		if err != nil {
			return err
		}
		// Edit the stored JSON as a generic object so that fields this
		// version does not know survive.
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(b, &obj); err != nil {
			return fmt.Errorf("deadletter: record %q is corrupt: %w", id, err)
		}
		var list []Requeue
		if raw, ok := obj["requeued"]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, &list); err != nil {
				return fmt.Errorf("deadletter: record %q is corrupt: %w", id, err)
			}
		}
		if len(list) != n {
			done = false
			return nil
		}
		list = append(list, entry)
		if obj["requeued"], err = json.Marshal(list); err != nil {
			return err
		}
		out, err := json.Marshal(obj)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, key, out, redis.KeepTTL)
			return nil
		})
		done = err == nil
		return err
	}
	for range 10 {
		err := s.rdb.Watch(ctx, txf, key)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("deadletter: record requeue of %q: %w", id, err)
		}
		return done, nil
	}
	return false, fmt.Errorf("deadletter: record requeue of %q: too much contention", id)
}

func dedup(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
