package tenancy

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/vlensq/vlensq/vlens"
)

// Status is one tenant as `vlensq tenants list`, the dashboard's tenants
// page and the metrics show it.
type Status struct {
	Tenant string `json:"tenant"`
	// State is "running" or "paused".
	State string `json:"state"`
	// Pause is set when the tenant is paused: who, when, why, the cause.
	Pause *Pause `json:"pause,omitempty"`
	// Backlog counts the tenant's held tasks in all queues (waiting for
	// their turn, their retry time, or the end of a pause).
	Backlog int64 `json:"backlog"`
	// Ready counts those of them due now.
	Ready int64 `json:"ready"`
	// Running counts its tasks being processed now (asynq's active tasks).
	Running int `json:"running"`
	// OldestWaiting is the due time of its oldest held task.
	OldestWaiting time.Time `json:"oldest_waiting,omitzero"`
	RatePerSecond int       `json:"rate_per_second"`
	RatePerMinute int       `json:"rate_per_minute"`
	Weight        int       `json:"weight"`
}

// Names lists tenants by name; a *vlens.TenantSet is one.
type Names interface{ Names() []string }

// List returns the status of every tenant the Scheduler's tenant source
// names (when it can list them) or holds tasks of, sorted by name. It reads
// the hold sets of every queue asynq knows and asynq's active tasks.
func (s *Scheduler) List(ctx context.Context) ([]Status, error) {
	insp := asynq.NewInspectorFromRedisClient(s.rdb)
	queues, err := insp.Queues()
	if err != nil {
		return nil, fmt.Errorf("tenancy: list queues: %w", err)
	}
	byName := map[string]*Status{}
	get := func(name string) *Status {
		st, ok := byName[name]
		if !ok {
			st = &Status{Tenant: name, State: "running", Weight: vlens.WeightDefault}
			st.RatePerSecond, st.RatePerMinute = vlens.Limits(vlens.Tenant{})
			if s.cfg.Tenants != nil {
				if t, ok := s.cfg.Tenants.Tenant(name); ok {
					st.RatePerSecond, st.RatePerMinute = vlens.Limits(t)
					st.Weight = cmp.Or(t.Weight, vlens.WeightDefault)
				}
			}
			byName[name] = st
		}
		return st
	}
	if ns, ok := s.cfg.Tenants.(Names); ok {
		for _, n := range ns.Names() {
			get(n)
		}
	}
	now := float64(time.Now().UnixMilli())
	for _, q := range queues {
		names, err := s.rdb.ZRange(ctx, dueKey(q), 0, -1).Result()
		if err != nil {
			return nil, fmt.Errorf("tenancy: list tenants of queue %s: %w", q, err)
		}
		pipe := s.rdb.Pipeline()
		type cmds struct {
			card, ready *redis.IntCmd
			oldest      *redis.ZSliceCmd
		}
		cs := make([]cmds, len(names))
		for i, n := range names {
			k := holdKey(q, n)
			cs[i] = cmds{pipe.ZCard(ctx, k), pipe.ZCount(ctx, k, "-inf", fmt.Sprint(now)), pipe.ZRangeWithScores(ctx, k, 0, 0)}
		}
		if len(names) > 0 {
			if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
				return nil, fmt.Errorf("tenancy: read hold sets of queue %s: %w", q, err)
			}
		}
		for i, n := range names {
			st := get(n)
			st.Backlog += cs[i].card.Val()
			st.Ready += cs[i].ready.Val()
			if z := cs[i].oldest.Val(); len(z) > 0 {
				at := time.UnixMilli(int64(z[0].Score)).UTC()
				if st.OldestWaiting.IsZero() || at.Before(st.OldestWaiting) {
					st.OldestWaiting = at
				}
			}
		}
		active, err := insp.ListActiveTasks(q, asynq.PageSize(10_000))
		if err != nil {
			return nil, fmt.Errorf("tenancy: list active tasks of queue %s: %w", q, err)
		}
		for _, t := range active {
			var p struct {
				Tenant string `json:"tenant"`
			}
			if json.Unmarshal(t.Payload, &p) == nil && p.Tenant != "" {
				get(p.Tenant).Running++
			}
		}
	}
	if s.cfg.States != nil {
		paused, err := s.cfg.States.Paused(ctx)
		if err != nil {
			return nil, err
		}
		for name, p := range paused {
			st := get(name)
			st.State, st.Pause = "paused", &p
		}
	}
	out := make([]Status, 0, len(byName))
	for _, st := range byName {
		out = append(out, *st)
	}
	slices.SortFunc(out, func(a, b Status) int { return cmp.Compare(a.Tenant, b.Tenant) })
	return out, nil
}
