package deadletter

import (
	"context"
	"time"
)

// Purge deletes records with their payloads and index entries: the records
// ids when given, else those matching f and, when olderThan > 0, failed more
// than olderThan ago. An empty selection (no ids, empty filter, no
// olderThan) is refused, so a purge of everything must say so (e.g. with
// olderThan). With dryRun it only counts. It returns the number of records
// deleted (or that would be).
func (s *Store) Purge(ctx context.Context, ids []string, f Filter, olderThan time.Duration, dryRun bool) (int, error) {
	if olderThan < 0 {
		return 0, inputErr("older-than", olderThan.String(), "must not be negative")
	}
	if len(ids) > 0 {
		if !f.IsZero() || olderThan > 0 {
			return 0, inputErr("filter", "", "give record ids or a filter, not both")
		}
		return s.purgeIDs(ctx, dedup(ids), dryRun)
	}
	if olderThan > 0 {
		cutoff := s.cfg.Now().Add(-olderThan)
		if f.Until.IsZero() || cutoff.Before(f.Until) {
			f.Until = cutoff
		}
	}
	if f.IsZero() {
		return 0, inputErr("filter", "", "give record ids, a filter or an age (an empty filter would purge every record; use PurgeAll)")
	}
	return s.purgeFilter(ctx, f, dryRun, nil)
}

// PurgeAll deletes every record (dlq purge --all): the explicit form of an
// empty selection, which Purge refuses. With dryRun it only counts.
// progress, when set, is called after each batch with the number done and
// the expected total. A record added meanwhile may survive; running it again
// deletes what is left (it is idempotent).
func (s *Store) PurgeAll(ctx context.Context, dryRun bool, progress func(done, total int)) (int, error) {
	return s.purgeFilter(ctx, Filter{}, dryRun, progress)
}

func (s *Store) purgeFilter(ctx context.Context, f Filter, dryRun bool, progress func(done, total int)) (int, error) {
	if dryRun || progress != nil {
		n, err := s.Count(ctx, f)
		if err != nil || dryRun {
			return int(n), err
		}
		total := int(n)
		inner := progress
		progress = func(done, _ int) { total = max(total, done); inner(done, total) }
	}
	removed := 0
	batch := make([]*Record, 0, EachPageSize)
	flush := func() error {
		n, err := s.removeRecords(ctx, batch)
		removed += n
		batch = batch[:0]
		if progress != nil {
			progress(removed, 0)
		}
		return err
	}
	err := s.Each(ctx, f, func(r *Record) error {
		batch = append(batch, r)
		if len(batch) == cap(batch) {
			return flush()
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		err = flush()
	}
	return removed, err
}

func (s *Store) purgeIDs(ctx context.Context, ids []string, dryRun bool) (int, error) {
	total := 0
	for start := 0; start < len(ids); start += EachPageSize {
		chunk := ids[start:min(start+EachPageSize, len(ids))]
		if dryRun {
			recs, err := s.getMany(ctx, chunk)
			if err != nil {
				return total, err
			}
			for _, r := range recs {
				if r != nil {
					total++
				}
			}
			continue
		}
		n, err := s.removeIDs(ctx, chunk)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
