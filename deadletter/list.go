package deadletter

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
)

// Page is one page of records, newest first.
type Page struct {
	Records []*Record `json:"records"`
	// NextCursor continues the listing; empty on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// List returns up to limit records matching f, newest first (by failed_at,
// then id), starting after cursor ("" for the first page). limit 0 means
// ListLimitDefault; limits above ListLimitMax are capped. The cursor
// ("score:id" of the last record) is stable under concurrent inserts and
// removals: following it never repeats a record nor skips one that is still
// stored, even among records that failed in the same millisecond.
//
// List walks the smallest index the filter needs, newest-first, checks the
// other indexes with ZMSCORE and reads the page with one MGET, so its cost
// depends on the page and on how selective the filter is, not on the number
// of records stored.
func (s *Store) List(ctx context.Context, f Filter, limit int, cursor string) (Page, error) {
	if limit < 0 {
		return Page{}, inputErr("limit", strconv.Itoa(limit), "must not be negative")
	}
	if limit == 0 {
		limit = ListLimitDefault
	}
	limit = min(limit, ListLimitMax)
	from, err := parseCursor(cursor)
	if err != nil {
		return Page{}, err
	}
	p, err := s.plan(ctx, f)
	if err != nil {
		return Page{}, err
	}
	// Look for one hit more than the page, to know whether a next page exists.
	hits := make([]hit, 0, limit+1)
	err = s.walk(ctx, p, from, limit+1, func(hs []hit) (bool, error) {
		n := min(len(hs), limit+1-len(hits))
		hits = append(hits, hs[:n]...)
		return len(hits) <= limit, nil
	})
	if err != nil {
		return Page{}, err
	}
	var page Page
	more := len(hits) > limit
	hits = hits[:min(len(hits), limit)]
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.id
	}
	recs, err := s.getMany(ctx, ids)
	if err != nil {
		return Page{}, err
	}
	page.Records = make([]*Record, 0, len(recs))
	for _, r := range recs {
		if r != nil { // removed since the walk
			page.Records = append(page.Records, r)
		}
	}
	if more && len(hits) > 0 {
		last := hits[len(hits)-1]
		page.NextCursor = position{score: last.score, id: last.id, set: true}.String()
	}
	return page, nil
}

// Count returns the number of records matching f.
func (s *Store) Count(ctx context.Context, f Filter) (int64, error) {
	p, err := s.plan(ctx, f)
	if err != nil {
		return 0, err
	}
	if p.empty {
		return 0, nil
	}
	if p.driveOnly {
		n, err := s.rdb.ZCount(ctx, p.drive, p.min, p.max).Result()
		if err != nil {
			return 0, fmt.Errorf("deadletter: count: %w", err)
		}
		return n, nil
	}
	if p.drive == s.k.all() && len(p.checks) == 1 && p.checks[0] == (check{key: s.k.exhausted(), want: false}) {
		// Not retries-exhausted, nothing else: a difference of two counts.
		all := s.rdb.ZCount(ctx, p.drive, p.min, p.max)
		ex := s.rdb.ZCount(ctx, s.k.exhausted(), p.min, p.max)
		if err := cmp.Or(all.Err(), ex.Err()); err != nil {
			return 0, fmt.Errorf("deadletter: count: %w", err)
		}
		return all.Val() - ex.Val(), nil
	}
	var n int64
	err = s.walk(ctx, p, position{}, walkBatchMax, func(hs []hit) (bool, error) {
		n += int64(len(hs))
		return true, nil
	})
	return n, err
}

// EachPageSize is the page size Each (and so Export, Requeue and Purge) reads
// records in.
const EachPageSize = 500

// Each calls fn for every record matching f, newest first, reading
// EachPageSize records at a time so memory stays constant whatever the count.
// It stops at the first error from fn and returns it.
func (s *Store) Each(ctx context.Context, f Filter, fn func(*Record) error) error {
	cursor := ""
	for {
		page, err := s.List(ctx, f, EachPageSize, cursor)
		if err != nil {
			return err
		}
		for _, r := range page.Records {
			if err := fn(r); err != nil {
				return err
			}
		}
		if page.NextCursor == "" {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		cursor = page.NextCursor
	}
}
