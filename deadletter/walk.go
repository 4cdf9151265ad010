package deadletter

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// walkBatchMax bounds one ZREVRANGEBYSCORE (and the ZMSCORE checks that
// follow it) so that no single command blocks Redis for long.
const walkBatchMax = 2000

// plan is how a filter is answered from the indexes: walk one index
// newest-first (the smallest one that the filter requires) within a score
// range, and check membership of the others with ZMSCORE.
type plan struct {
	drive  string
	checks []check
	min    string // ZREVRANGEBYSCORE min, e.g. "-inf" or "1700000000000"
	max    string // ZREVRANGEBYSCORE max, e.g. "+inf" or "(1700000000000"
	// until is the exclusive upper score when hasUntil.
	until    int64
	hasUntil bool
	empty    bool // some required index is empty: nothing matches
	// selectivity estimates the share of drive members that pass the
	// checks (1 without checks); it sizes the first batch of a walk.
	selectivity float64
	// driveOnly: no checks, so ZCOUNT on drive answers Count.
	driveOnly bool
}

// check is a membership test: the record must (or must not) be in key.
type check struct {
	key  string
	want bool
}

// plan chooses the index to walk for f: the required index with the fewest
// members (ZCARD), or "all" when f has no indexed field.
func (s *Store) plan(ctx context.Context, f Filter) (plan, error) {
	p := plan{min: "-inf", max: "+inf", selectivity: 1}
	if !f.Since.IsZero() {
		p.min = strconv.FormatInt(f.Since.UnixMilli(), 10)
	}
	if !f.Until.IsZero() {
		p.until, p.hasUntil = f.Until.UnixMilli(), true
		p.max = "(" + strconv.FormatInt(p.until, 10)
	}
	var required []string
	add := func(d dim, v string) {
		if v != "" {
			required = append(required, s.k.index(d, v))
		}
	}
	switch {
	case f.Tenant != "" && f.HasCode:
		add(dimTenantCode, tenantCode(f.Tenant, f.Code))
	case f.HasCode:
		add(dimCode, strconv.Itoa(f.Code))
	default:
		add(dimTenant, f.Tenant)
	}
	add(dimCategory, f.Category)
	add(dimType, f.Type)
	add(dimClass, f.Class)
	var negative []check
	if f.RetriesExhausted != nil {
		if *f.RetriesExhausted {
			required = append(required, s.k.exhausted())
		} else {
			negative = append(negative, check{key: s.k.exhausted(), want: false})
		}
	}
	switch len(required) {
	case 0:
		p.drive = s.k.all()
	case 1:
		p.drive = required[0]
	default:
		cards := make([]*redis.IntCmd, len(required))
		var total *redis.IntCmd
		_, err := s.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
			for i, k := range required {
				cards[i] = pl.ZCard(ctx, k)
			}
			total = pl.ZCard(ctx, s.k.all())
			return nil
		})
		if err != nil {
			return plan{}, fmt.Errorf("deadletter: plan query: %w", err)
		}
		best := 0
		for i, c := range cards {
			if c.Val() == 0 {
				p.empty = true
			}
			if c.Val() < cards[best].Val() {
				best = i
			}
		}
		p.drive = required[best]
		for i, k := range required {
			if i != best {
				p.checks = append(p.checks, check{key: k, want: true})
				if all := total.Val(); all > 0 {
					// Assume independent dimensions.
					p.selectivity *= float64(cards[i].Val()) / float64(all)
				}
			}
		}
	}
	p.checks = append(p.checks, negative...)
	p.driveOnly = len(p.checks) == 0
	return p, nil
}

// hit is one matching index member.
type hit struct {
	id    string
	score int64
}

// walk visits the members of p.drive newest-first, strictly after from,
// that pass p.checks, in batches sized to find about batch matches. visit
// returns false to stop.
//
// It is keyset pagination: each batch resumes at the last score seen,
// offset by the members already seen at that score (ties within a
// millisecond), re-reading the last member seen to verify the offset. When
// that member has moved (a member before it was removed), the walk rescans
// the score from the top, and the position guard drops what it has already
// visited. So neither inserts nor removals during the walk cause duplicates
// or gaps.
func (s *Store) walk(ctx context.Context, p plan, from position, batch int, visit func([]hit) (bool, error)) error {
	if p.empty {
		return nil
	}
	// Read enough members to find batch matches in one round trip when the
	// estimate holds (with a margin), and grow the batches if it does not.
	if p.selectivity > 0 && p.selectivity < 1 {
		batch = int(min(float64(batch)*1.25/p.selectivity, walkBatchMax))
	}
	batch = min(max(batch, 1), walkBatchMax)
	pos := from
	skip := int64(0) // members at pos.score already read in this walk
	lastID := ""     // the last member read, at pos.score
	for {
		hi := p.max
		if pos.set && (!p.hasUntil || pos.score < p.until) {
			// Resume at the last score, inclusive.
			hi = strconv.FormatInt(pos.score, 10)
		} else {
			skip = 0
		}
		overlap := skip > 0
		off, count := skip, int64(batch)
		if overlap {
			off, count = skip-1, count+1
		}
		zs, err := s.rdb.ZRevRangeByScoreWithScores(ctx, p.drive, &redis.ZRangeBy{
			Min: p.min, Max: hi, Offset: off, Count: count,
		}).Result()
		if err != nil {
			return fmt.Errorf("deadletter: walk index: %w", err)
		}
		full := int64(len(zs)) == count
		if overlap {
			if len(zs) == 0 || zs[0].Member.(string) != lastID || int64(zs[0].Score) != pos.score {
				// Something before the last member read was removed: the
				// offset is stale. Rescan this score from the top.
				skip = 0
				continue
			}
			zs = zs[1:]
		}
		if len(zs) == 0 {
			return nil
		}
		cands := make([]hit, 0, len(zs))
		for _, z := range zs {
			h := hit{id: z.Member.(string), score: int64(z.Score)}
			if pos.after(h.score, h.id) {
				cands = append(cands, h)
			}
		}
		// Advance past this batch.
		last := zs[len(zs)-1]
		lastScore := int64(last.Score)
		if pos.set && lastScore == pos.score {
			skip += int64(len(zs))
		} else {
			skip = 0
			for _, z := range zs {
				if int64(z.Score) == lastScore {
					skip++
				}
			}
		}
		lastID = last.Member.(string)
		// Move the guard only forward: a batch wholly before a cursor (ties
		// at the cursor's score) must not loosen it.
		if pos.after(lastScore, lastID) {
			pos = position{score: lastScore, id: lastID, set: true}
		}

		if len(cands) > 0 {
			if cands, err = s.filterChecks(ctx, p.checks, cands); err != nil {
				return err
			}
			if len(cands) > 0 {
				more, err := visit(cands)
				if err != nil || !more {
					return err
				}
			}
		}
		if !full {
			return nil
		}
		if batch < walkBatchMax {
			batch = min(batch*2, walkBatchMax)
		}
	}
}

// filterChecks keeps the hits that pass every check, with one ZMSCORE per
// check, pipelined.
func (s *Store) filterChecks(ctx context.Context, checks []check, hits []hit) ([]hit, error) {
	if len(checks) == 0 {
		return hits, nil
	}
	args := make([]any, 0, len(hits)+2)
	args = append(args, "ZMSCORE", "")
	for _, h := range hits {
		args = append(args, h.id)
	}
	cmds := make([]*redis.Cmd, len(checks))
	_, err := s.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
		for i, c := range checks {
			a := append([]any(nil), args...)
			a[1] = c.key
			cmds[i] = pl.Do(ctx, a...)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("deadletter: check indexes: %w", err)
	}
	keep := make([]bool, len(hits))
	for i := range keep {
		keep[i] = true
	}
	for ci, c := range checks {
		vals, err := cmds[ci].Slice()
		if err != nil || len(vals) != len(hits) {
			return nil, fmt.Errorf("deadletter: check indexes: unexpected ZMSCORE reply: %v", err)
		}
		for i, v := range vals {
			if (v != nil) != c.want {
				keep[i] = false
			}
		}
	}
	out := hits[:0]
	for i, h := range hits {
		if keep[i] {
			out = append(out, h)
		}
	}
	return out, nil
}
