package deadletter

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Stats summarises the store.
type Stats struct {
	Total int64 `json:"total"`
	// RetriesExhausted counts the transient failures that used up their
	// attempts.
	RetriesExhausted int64            `json:"retries_exhausted"`
	ByCategory       map[string]int64 `json:"by_category"`
	ByCode           map[int]int64    `json:"by_code"`
	ByTenant         map[string]int64 `json:"by_tenant"`
	ByType           map[string]int64 `json:"by_type"`
	ByClass          map[string]int64 `json:"by_class"`
	// Oldest and Newest are the failed_at bounds (millisecond resolution);
	// zero when the store is empty.
	Oldest time.Time `json:"oldest,omitzero"`
	Newest time.Time `json:"newest,omitzero"`
}

// Stats counts the records in total and by category, code, tenant, type and
// class, from the index sizes (no record is read).
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	st := Stats{
		ByCategory: map[string]int64{}, ByCode: map[int]int64{}, ByTenant: map[string]int64{},
		ByType: map[string]int64{}, ByClass: map[string]int64{},
	}
	members := make([]*redis.StringSliceCmd, len(dims))
	var total, exhausted *redis.IntCmd
	var oldest, newest *redis.ZSliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, d := range dims {
			members[i] = p.SMembers(ctx, s.k.values(d))
		}
		total = p.ZCard(ctx, s.k.all())
		exhausted = p.ZCard(ctx, s.k.exhausted())
		oldest = p.ZRangeWithScores(ctx, s.k.all(), 0, 0)
		newest = p.ZRevRangeWithScores(ctx, s.k.all(), 0, 0)
		return nil
	})
	if err != nil {
		return Stats{}, fmt.Errorf("deadletter: stats: %w", err)
	}
	st.Total, st.RetriesExhausted = total.Val(), exhausted.Val()
	if z := oldest.Val(); len(z) == 1 {
		st.Oldest = time.UnixMilli(int64(z[0].Score)).UTC()
	}
	if z := newest.Val(); len(z) == 1 {
		st.Newest = time.UnixMilli(int64(z[0].Score)).UTC()
	}
	type card struct {
		d   dim
		v   string
		cmd *redis.IntCmd
	}
	var cards []card
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, d := range dims {
			for _, v := range members[i].Val() {
				cards = append(cards, card{d: d, v: v, cmd: p.ZCard(ctx, s.k.index(d, v))})
			}
		}
		return nil
	})
	if err != nil {
		return Stats{}, fmt.Errorf("deadletter: stats: %w", err)
	}
	for _, c := range cards {
		n := c.cmd.Val()
		if n == 0 {
			continue
		}
		switch c.d {
		case dimTenant:
			st.ByTenant[c.v] = n
		case dimCode:
			if code, err := strconv.Atoi(c.v); err == nil {
				st.ByCode[code] = n
			}
		case dimCategory:
			st.ByCategory[c.v] = n
		case dimType:
			st.ByType[c.v] = n
		case dimClass:
			st.ByClass[c.v] = n
		}
	}
	return st, nil
}
