package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/vlensq/vlensq/deadletter"
)

// TooManyError refuses a requeue larger than Config.MaxBulk.
type TooManyError struct {
	Matched int64
	Max     int
}

func (e *TooManyError) Error() string {
	return fmt.Sprintf("%d records selected; the dashboard requeues at most %d at a time: narrow the filter, or run `vlensq dlq requeue` with the same filter", e.Matched, e.Max)
}

// requeue runs (or dry-runs) a requeue of ids or of the records matching f
// on behalf of the request's principal. A non-zero status comes with an
// error meant for the client as is.
//
// Once started, a real requeue runs to the end even if the client goes
// away (it is bounded by MaxBulk and the throttle): stopping halfway would
// leave the person who clicked without a report.
func (d *Dashboard) requeue(ctx context.Context, ids []string, f deadletter.Filter, dryRun, force bool) (deadletter.RequeueReport, int, error) {
	n := int64(len(ids))
	if n == 0 && !f.IsZero() {
		var err error
		if n, err = d.dlq.Count(ctx, f); err != nil {
			return deadletter.RequeueReport{}, 0, err
		}
	}
	if n > int64(d.cfg.MaxBulk) {
		return deadletter.RequeueReport{}, http.StatusUnprocessableEntity, &TooManyError{Matched: n, Max: d.cfg.MaxBulk}
	}
	p := principalOf(ctx)
	opt := deadletter.RequeueOptions{
		DryRun: dryRun, By: "dashboard:" + p.user, RatePerSecond: d.cfg.RequeueRate,
		Enqueue: d.cfg.Requeue, Force: force,
	}
	if !dryRun {
		ctx = context.WithoutCancel(ctx)
	}
	rep, err := d.dlq.Requeue(ctx, ids, f, opt)
	if err != nil {
		return rep, 0, err
	}
	if !dryRun {
		d.log.Info().Str("user", p.user).Str("method", p.method).Int("ids", len(ids)).Str("filter", describeFilter(f)).
			Bool("force", force).Int("matched", rep.Matched).Int("requeued", rep.Requeued).Int("skipped", rep.Skipped).
			Int("failed", rep.Failed).Msg("dashboard: requeue")
	}
	return rep, 0, nil
}

// purge deletes (or counts) ids, or the records matching f and failed more
// than olderThan ago.
func (d *Dashboard) purge(ctx context.Context, ids []string, f deadletter.Filter, olderThan time.Duration, dryRun bool) (int, error) {
	if !dryRun {
		ctx = context.WithoutCancel(ctx)
	}
	n, err := d.dlq.Purge(ctx, ids, f, olderThan, dryRun)
	if err != nil {
		return n, err
	}
	if !dryRun {
		p := principalOf(ctx)
		d.log.Info().Str("user", p.user).Str("method", p.method).Int("ids", len(ids)).Str("filter", describeFilter(f)).
			Dur("older_than", olderThan).Int("purged", n).Msg("dashboard: purge")
	}
	return n, nil
}
