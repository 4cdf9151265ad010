package flows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// State is what a flow task has done so far: its transaction_id and the
// result of every step that succeeded.
type State struct {
	// TransactionID is the flow's transaction_id; empty before the first
	// call.
	TransactionID string `json:"transaction_id"`
	// Results holds the stored result (handlers' result: data and services,
	// images stripped) of each succeeded step, by step name.
	Results map[string]json.RawMessage `json:"results"`
	// Starts holds, per step, the attempt (asynq retry count) in which the
	// step was first tried, so that a step's attempts are counted from its
	// own start. Not carried to a requeue.
	Starts map[string]int `json:"-"`
}

// Done reports whether the step called name has succeeded.
func (s *State) Done(name string) bool {
	_, ok := s.Results[name]
	return ok
}

// Key is the Redis hash of a flow task's step journal. It shares the hash
// tag of the handler's journal ("vlensq:task:{<id>}:..."), so one task's
// keys live on one cluster slot and are forgotten together.
func Key(taskID string) string { return "vlensq:task:{" + taskID + "}:steps" }

// Journal fields: "transaction_id", "result:<step>", "start:<step>".
const (
	fieldTransaction = "transaction_id"
	prefixResult     = "result:"
	prefixStart      = "start:"
)

// Load reads the step journal of taskID; an absent journal is an empty
// State.
func Load(ctx context.Context, rdb redis.UniversalClient, taskID string) (*State, error) {
	m, err := rdb.HGetAll(ctx, Key(taskID)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("flows: read step journal: %w", err)
	}
	return stateOf(m), nil
}

func stateOf(m map[string]string) *State {
	st := &State{TransactionID: m[fieldTransaction], Results: map[string]json.RawMessage{}, Starts: map[string]int{}}
	for k, v := range m {
		if name, ok := strings.CutPrefix(k, prefixResult); ok {
			st.Results[name] = json.RawMessage(v)
		} else if name, ok := strings.CutPrefix(k, prefixStart); ok {
			if n, err := strconv.Atoi(v); err == nil {
				st.Starts[name] = n
			}
		}
	}
	return st
}

// Begin records the transaction_id (unless the journal has one already)
// and the attempt in which step is first tried (unless recorded), and
// returns the journal as it now stands: two workers racing on one task end
// with the same transaction_id.
func Begin(ctx context.Context, rdb redis.UniversalClient, taskID, transactionID, step string, attempt int, ttl time.Duration) (*State, error) {
	k := Key(taskID)
	var all *redis.MapStringStringCmd
	_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if transactionID != "" {
			p.HSetNX(ctx, k, fieldTransaction, transactionID)
		}
		if step != "" {
			p.HSetNX(ctx, k, prefixStart+step, attempt)
		}
		p.Expire(ctx, k, ttl)
		all = p.HGetAll(ctx, k)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("flows: write step journal: %w", err)
	}
	return stateOf(all.Val()), nil
}

// SaveStep journals the result of a succeeded step.
func SaveStep(ctx context.Context, rdb redis.UniversalClient, taskID, step string, result json.RawMessage, ttl time.Duration) error {
	k := Key(taskID)
	_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k, prefixResult+step, []byte(result))
		p.Expire(ctx, k, ttl)
		return nil
	})
	if err != nil {
		return fmt.Errorf("flows: journal step %s: %w", step, err)
	}
	return nil
}

// Seed writes st (transaction_id and step results, not attempt starts) as
// the step journal of taskID, the new task of a requeue, so that it resumes
// where the dead-lettered task stopped. Fields already there are kept: a
// journal only grows, so seeding a task that has already made progress
// never loses it.
func Seed(ctx context.Context, rdb redis.UniversalClient, taskID string, st *State, ttl time.Duration) error {
	k := Key(taskID)
	_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if st.TransactionID != "" {
			p.HSetNX(ctx, k, fieldTransaction, st.TransactionID)
		}
		for name, r := range st.Results {
			p.HSetNX(ctx, k, prefixResult+name, []byte(r))
		}
		p.Expire(ctx, k, ttl)
		return nil
	})
	if err != nil {
		return fmt.Errorf("flows: seed step journal of %s: %w", taskID, err)
	}
	return nil
}
