package tenancy

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vlensq/vlensq/vlens"
)

// planScript returns the length of asynq's pending list and the tenants due
// now with how many tasks each has ready: {pending, tenant1, ready1, ...}.
//
// KEYS[1] due set, KEYS[2] asynq pending; ARGV[1] now (ms), ARGV[2] most
// tenants, ARGV[3] hold key prefix.
var planScript = redis.NewScript(`
local out = {redis.call('LLEN', KEYS[2])}
local ts = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, t in ipairs(ts) do
  out[#out + 1] = t
  out[#out + 1] = redis.call('ZCOUNT', ARGV[3] .. t, '-inf', ARGV[1])
end
return out`)

// pausedRecheck is how long a paused tenant is left alone before the
// dispatcher looks at its state again; trialRecheck likewise for a tenant
// whose one trial task is in flight.
const (
	pausedRecheck = time.Second
	trialRecheck  = 100 * time.Millisecond
)

// due is a tenant with ready work in one queue.
type due struct {
	tenant string
	ready  int
	weight int
}

// Run dispatches held tasks for one worker process until ctx ends: queues
// are the process's asynq queues with their weights, slots its worker slots
// (wrap the process's handler with slots.Wrap). It returns nil when ctx
// ends. Errors of one round (Redis unreachable) are logged and the next
// round tries again.
func (s *Scheduler) Run(ctx context.Context, queues map[string]int, slots *Slots) error {
	if s.cfg.Tenants == nil {
		return fmt.Errorf("tenancy: Run needs Config.Tenants")
	}
	if len(queues) == 0 {
		return fmt.Errorf("tenancy: Run needs at least one queue")
	}
	prefetch := s.cfg.Prefetch
	switch {
	case prefetch == 0:
		prefetch = int(slots.size)
	case prefetch < 0:
		prefetch = 0
	}
	// A freed slot triggers a round only once a quarter of the slots are
	// free (or at the next tick): the prefetched tasks keep the others busy
	// meanwhile, and a busy process does not plan a round per task.
	refill := max(1, int(slots.size)/4)
	if prefetch == 0 {
		refill = 1
	}
	tick := time.NewTicker(s.cfg.Tick)
	defer tick.Stop()
	failing := false
	for {
		err := s.round(ctx, queues, slots, prefetch)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			s.log.Error().Err(err).Msg("dispatch failed; retrying every tick")
			failing = true
		case err == nil && failing:
			s.log.Info().Msg("dispatch works again")
			failing = false
		}
	wait:
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-slots.freed:
			if slots.Free() < refill {
				goto wait
			}
		}
	}
}

// round fills this process's free slots (plus the prefetch) from the
// tenants due now, across the queues in proportion to their weights.
func (s *Scheduler) round(ctx context.Context, queues map[string]int, slots *Slots, prefetch int) error {
	free := slots.Free() + prefetch
	if free <= 0 {
		return nil
	}
	now := s.cfg.Now()
	names := make([]string, 0, len(queues))
	for q := range queues {
		names = append(names, q)
	}
	// Heavier queues first, so their share is served first.
	slices.SortFunc(names, func(a, b string) int { return cmp.Or(queues[b]-queues[a], cmp.Compare(a, b)) })

	cmds := make([]*redis.Cmd, len(names))
	plan := func(eval func(pipe redis.Pipeliner, keys []string, args ...any) *redis.Cmd) error {
		pipe := s.rdb.Pipeline()
		for i, q := range names {
			cmds[i] = eval(pipe, []string{dueKey(q), asynqPrefix(q) + "pending"}, now.UnixMilli(), free+8, "vlensq:{"+q+"}:fair:h:")
		}
		_, err := pipe.Exec(ctx)
		return err
	}
	err := plan(func(pipe redis.Pipeliner, keys []string, args ...any) *redis.Cmd {
		return planScript.EvalSha(ctx, pipe, keys, args...)
	})
	if redis.HasErrorPrefix(err, "NOSCRIPT") {
		err = plan(func(pipe redis.Pipeliner, keys []string, args ...any) *redis.Cmd {
			return planScript.Eval(ctx, pipe, keys, args...)
		})
	}
	if err != nil {
		return fmt.Errorf("tenancy: plan: %w", err)
	}
	plans := make(map[string][]due, len(names))
	weight := 0
	for i, q := range names {
		pending, tenants, err := s.parsePlan(cmds[i])
		if err != nil {
			return err
		}
		free -= pending
		if len(tenants) > 0 {
			plans[q] = tenants
			weight += queues[q]
		}
	}
	if free <= 0 || len(plans) == 0 {
		return nil
	}
	paused, err := s.pausedNow(ctx)
	if err != nil {
		return err
	}
	budget := free
	for _, q := range names {
		tenants, ok := plans[q]
		if !ok || budget <= 0 {
			continue
		}
		share := min(budget, max(1, (free*queues[q]+weight-1)/weight))
		used, err := s.serve(ctx, q, tenants, share, paused, now)
		budget -= used
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Scheduler) parsePlan(cmd *redis.Cmd) (int, []due, error) {
	vals, err := cmd.Slice()
	if err != nil {
		return 0, nil, fmt.Errorf("tenancy: plan: %w", err)
	}
	if len(vals) == 0 {
		return 0, nil, nil
	}
	pending, _ := vals[0].(int64)
	out := make([]due, 0, (len(vals)-1)/2)
	for i := 1; i+1 < len(vals); i += 2 {
		name, _ := vals[i].(string)
		ready, _ := vals[i+1].(int64)
		w := vlens.WeightDefault
		if t, ok := s.cfg.Tenants.Tenant(name); ok && t.Weight > 0 {
			w = t.Weight
		}
		out = append(out, due{tenant: name, ready: int(ready), weight: w})
	}
	return int(pending), out, nil
}

// serve dispatches up to budget tasks of queue q from tenants (in the order
// they became due): deficit round robin. A tenant's turn is worth its
// weight in tasks, times how many times the budget covers the weights of
// all tenants due; a tenant stays at the head of the line until its turn
// is used up (across rounds, when the budget is small), then goes to the
// tail. A tenant that cannot use its turn (its rate limit, fewer ready
// tasks) ends it, and the rest goes to the others in another pass. It
// returns how many tasks it moved.
func (s *Scheduler) serve(ctx context.Context, q string, tenants []due, budget int, paused map[string]Pause, now time.Time) (int, error) {
	used := 0
	for pass := 0; pass < 3 && budget > used && len(tenants) > 0; pass++ {
		total := 0
		for _, t := range tenants {
			total += t.weight
		}
		mult := max(1, (budget-used)/total)
		var again []due
		for _, t := range tenants {
			if used >= budget {
				break
			}
			if p, ok := paused[t.tenant]; ok {
				if err := s.servePaused(ctx, q, t, p, now); err != nil {
					return used, err
				}
				continue
			}
			key := q + "\x00" + t.tenant
			turn, ok := s.turns[key]
			if !ok {
				turn = t.weight * mult
			}
			want, kind, err := s.trialWant(ctx, t.tenant, min(t.ready, budget-used, turn))
			if err != nil {
				return used, err
			}
			if want <= 0 {
				// A tenant on trial with its one task in flight.
				if err := s.putAside(ctx, q, t.tenant, now.Add(trialRecheck)); err != nil {
					return used, err
				}
				continue
			}
			// The turn ends when this dispatch uses it up or drains the
			// tenant's ready tasks; a dispatch cut short by the budget keeps
			// the tenant at the head with the rest of its turn.
			ends := want == turn || want == t.ready
			n, err := s.dispatch(ctx, q, t.tenant, want, kind, !ends, now)
			if kind != "" && n == 0 {
				s.cfg.States.endProbe(ctx, t.tenant)
			}
			used += n
			if err != nil {
				return used, err
			}
			switch {
			case n < want || ends:
				delete(s.turns, key)
			default:
				s.turns[key] = turn - n
			}
			if n == want && t.ready > n {
				t.ready -= n
				again = append(again, t)
			}
		}
		tenants = again
	}
	return used, nil
}

// dispatch reserves up to want calls of tenant's rate limit and moves that
// many of its ready tasks in q to pending, granting each (grant is the
// grant's kind: "", GrantProbe or GrantTrial). A tenant over its limit is put aside until
// the limit allows a call. keep leaves the tenant at its place in the line
// (its turn goes on), otherwise it goes to the tail.
func (s *Scheduler) dispatch(ctx context.Context, q, tenant string, want int, grant string, keep bool, now time.Time) (int, error) {
	k := want
	if s.cfg.Limiter != nil {
		if t, ok := s.cfg.Tenants.Tenant(tenant); ok {
			var wait time.Duration
			var err error
			k, wait, err = s.cfg.Limiter.AllowAtMost(ctx, t, want)
			if err != nil {
				return 0, err
			}
			if k == 0 {
				if s.cfg.Observer.Throttled != nil {
					s.cfg.Observer.Throttled(tenant, wait)
				}
				return 0, s.putAside(ctx, q, tenant, now.Add(wait))
			}
		}
	}
	keepArg := "0"
	if keep && k == want {
		keepArg = "1"
	}
	res, err := takeScript.Run(ctx, s.rdb,
		[]string{holdKey(q, tenant), dueKey(q), asynqPrefix(q) + "scheduled", asynqPrefix(q) + "retry", asynqPrefix(q) + "pending"},
		tenant, k, msScore(time.Now()), now.Add(-s.cfg.StaleAfter).UnixMilli(), asynqPrefix(q)+"t:",
		now.UnixNano(), parkFloor, GrantField, grant, keepArg).Int64Slice()
	if err != nil {
		return 0, fmt.Errorf("tenancy: dispatch tenant %s in queue %s: %w", tenant, q, err)
	}
	moved := int(res[0])
	if moved > 0 && s.cfg.Observer.Dispatched != nil {
		s.cfg.Observer.Dispatched(q, tenant, moved)
	}
	return moved, nil
}

// putAside makes the dispatcher look at tenant in q again at at (only if it
// still has held work).
func (s *Scheduler) putAside(ctx context.Context, q, tenant string, at time.Time) error {
	err := s.rdb.ZAddArgs(ctx, dueKey(q), redis.ZAddArgs{XX: true, Members: []redis.Z{{Score: float64(at.UnixMilli()), Member: tenant}}}).Err()
	if err != nil {
		return fmt.Errorf("tenancy: put tenant %s aside: %w", tenant, err)
	}
	return nil
}

// msScore is t in milliseconds with a microsecond fraction: the score that
// puts a tenant whose turn ended at the tail of the line, after every
// tenant whose turn ended before it (even within the same millisecond).
func msScore(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMicro())/1000, 'f', 3, 64)
}

// grantOf parses a grant value: the due time it carries.
func grantOf(v string) (time.Time, bool) {
	ms, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMicro(int64(ms * 1000)), true
}

// Paused reports whether tenant is paused, from the dispatcher's view (at
// most a quarter second old). An error reading it counts as not paused.
func (s *Scheduler) Paused(ctx context.Context, tenant string) bool {
	m, err := s.pausedNow(ctx)
	if err != nil {
		return false
	}
	_, ok := m[tenant]
	return ok
}
