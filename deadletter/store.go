package deadletter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vlensq/vlensq/internal/tracing"
)

// Store is the dead-letter store. It is safe for concurrent use, and several
// processes may share one store (the same Redis and Prefix).
type Store struct {
	rdb redis.UniversalClient
	cfg Config
	k   keyspace

	adds     atomic.Int64 // Add calls that created a record
	lastTrim atomic.Int64 // unix nanoseconds of the last retention run from Add
	trimming atomic.Bool  // a retention run from Add is in progress

	// sleep waits for the requeue rate limiter; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

// New returns a store on rdb. It does not contact Redis.
func New(rdb redis.UniversalClient, cfg Config) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("deadletter: nil redis client")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Store{rdb: rdb, cfg: cfg, k: newKeyspace(cfg.Prefix), sleep: sleepCtx}, nil
}

// Add stores rec and the original task payload. The payload is kept apart,
// only for Requeue: it is never shown, listed or exported.
//
// Add is idempotent per rec.TaskID: when the task already has a record, Add
// returns that record's id and created=false and stores nothing (a worker that
// died after writing the record and before acking its task must not produce a
// second record). TaskID is required.
//
// Add sets rec.ID (a new ULID, or the existing record's id), FailedAt (now, if
// zero), FirstAttemptAt (FailedAt, if zero), turns times to UTC and nil lists
// into empty ones, checks that Request and Response are JSON and blanks the
// values of secret-named fields in them (see Redacted). The record, its
// payload and all its index entries are written atomically (one Lua script).
// Add then applies retention when it is due (see Config.TrimEvery).
func (s *Store) Add(ctx context.Context, rec *Record, payload []byte) (id string, created bool, err error) {
	ctx, span := tracing.Start(ctx, tracing.SpanDeadLetter)
	defer func() { span.SetAttributes(tracing.AttrDeadLetter.String(id)); tracing.End(span, err) }()
	if rec == nil {
		return "", false, errors.New("deadletter: nil record")
	}
	if err := rec.normalize(s.cfg.Now()); err != nil {
		return "", false, err
	}
	rec.ID = newID(rec.FailedAt)
	body, err := json.Marshal(rec)
	if err != nil {
		return "", false, fmt.Errorf("deadletter: encode record: %w", err)
	}
	keys, vals := s.recordKeys(rec)
	exhausted := "0"
	if rec.RetriesExhausted {
		exhausted = "1"
	}
	args := append([]any{rec.ID, body, payload, score(rec.FailedAt), exhausted}, vals...)
	res, err := addScript.Run(ctx, s.rdb, keys, args...).Slice()
	if err != nil {
		return "", false, fmt.Errorf("deadletter: add record for task %q: %w", rec.TaskID, err)
	}
	if len(res) != 2 {
		return "", false, fmt.Errorf("deadletter: add record: unexpected reply %v", res)
	}
	id, _ = res[0].(string)
	created = res[1] == int64(1)
	rec.ID = id
	if created {
		s.adds.Add(1)
		s.maybeTrim(ctx)
	}
	return id, created, nil
}

// recordKeys returns the script keys of rec (see scripts.go) and the value
// of each dimension pair.
func (s *Store) recordKeys(rec *Record) ([]string, []any) {
	keys := []string{s.k.task(rec.TaskID), s.k.record(rec.ID), s.k.payload(rec.ID), s.k.all(), s.k.exhausted(), s.k.trimming()}
	var vals []any
	for i, v := range dimValues(rec) {
		if v == "" {
			continue
		}
		keys = append(keys, s.k.index(dims[i], v), s.k.values(dims[i]))
		vals = append(vals, v)
	}
	if rec.Tenant != "" {
		tc := tenantCode(rec.Tenant, rec.ErrorCode)
		keys = append(keys, s.k.index(dimTenantCode, tc), s.k.values(dimTenantCode))
		vals = append(vals, tc)
	}
	return keys, vals
}

// score is the index score of a failure time: unix milliseconds.
func score(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// Get returns the record with the given id, or an error wrapping ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (*Record, error) {
	b, err := s.rdb.Get(ctx, s.k.record(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, notFound("record", id)
	}
	if err != nil {
		return nil, fmt.Errorf("deadletter: get record %q: %w", id, err)
	}
	return decodeRecord(id, b)
}

// GetByTaskID returns the record of the asynq task taskID, or an error
// wrapping ErrNotFound.
func (s *Store) GetByTaskID(ctx context.Context, taskID string) (*Record, error) {
	id, err := s.rdb.Get(ctx, s.k.task(taskID)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, notFound("task", taskID)
	}
	if err != nil {
		return nil, fmt.Errorf("deadletter: get task %q: %w", taskID, err)
	}
	return s.Get(ctx, id)
}

// TaskKey is the Redis key holding the id of the record of task taskID, for
// a caller that reads it in a pipeline of its own (a plain GET; missing when
// the task has no record).
func (s *Store) TaskKey(taskID string) string { return s.k.task(taskID) }

// Payload returns the original task payload of record id, for requeueing.
// It may hold personal data and images: never display or log it.
func (s *Store) Payload(ctx context.Context, id string) ([]byte, error) {
	b, err := s.rdb.Get(ctx, s.k.payload(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, notFound("payload of record", id)
	}
	if err != nil {
		return nil, fmt.Errorf("deadletter: get payload of record %q: %w", id, err)
	}
	return b, nil
}

// getMany returns the records of ids in order, nil for those that no longer
// exist. A record that does not decode is an error naming it (purge it by id).
func (s *Store) getMany(ctx context.Context, ids []string) ([]*Record, error) {
	raws, err := s.getRaw(ctx, ids)
	if err != nil {
		return nil, err
	}
	recs := make([]*Record, len(ids))
	for i, raw := range raws {
		if raw == nil {
			continue
		}
		if recs[i], err = decodeRecord(ids[i], raw); err != nil {
			return nil, err
		}
	}
	return recs, nil
}

// getRaw returns the stored JSON of ids in order, nil for missing records.
func (s *Store) getRaw(ctx context.Context, ids []string) ([][]byte, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.k.record(id)
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("deadletter: read records: %w", err)
	}
	raws := make([][]byte, len(ids))
	for i, v := range vals {
		if str, ok := v.(string); ok {
			raws[i] = []byte(str)
		}
	}
	return raws, nil
}

// removeRecords deletes records with their payloads and index entries and
// returns how many existed.
func (s *Store) removeRecords(ctx context.Context, recs []*Record) (int, error) {
	calls := make([]scriptCall, 0, len(recs))
	for _, rec := range recs {
		keys, vals := s.recordKeys(rec)
		calls = append(calls, scriptCall{keys: keys, args: append([]any{rec.ID}, vals...)})
	}
	return s.runRemove(ctx, calls)
}

// removeIDs deletes the records ids (reading them first to find their index
// entries) and returns how many existed. Ids without a record are removed
// from the all, exhausted and trimming indexes.
func (s *Store) removeIDs(ctx context.Context, ids []string) (int, error) {
	raws, err := s.getRaw(ctx, ids)
	if err != nil {
		return 0, err
	}
	calls := make([]scriptCall, 0, len(ids))
	for i, raw := range raws {
		id := ids[i]
		var rec *Record
		if raw != nil {
			// A corrupt record is still removed; index entries other than
			// all/exhausted it cannot name are skipped by List (no record).
			rec, _ = decodeRecord(id, raw)
		}
		if rec == nil {
			keys := []string{s.k.record(id), s.k.record(id), s.k.payload(id), s.k.all(), s.k.exhausted(), s.k.trimming()}
			calls = append(calls, scriptCall{keys: keys, args: []any{id}})
			continue
		}
		rec.ID = id
		keys, vals := s.recordKeys(rec)
		calls = append(calls, scriptCall{keys: keys, args: append([]any{rec.ID}, vals...)})
	}
	return s.runRemove(ctx, calls)
}

func (s *Store) runRemove(ctx context.Context, calls []scriptCall) (int, error) {
	if len(calls) == 0 {
		return 0, nil
	}
	cmds, err := runPipelined(ctx, s.rdb, removeScript, calls)
	if err != nil {
		return 0, fmt.Errorf("deadletter: remove records: %w", err)
	}
	n := 0
	for _, c := range cmds {
		if v, _ := c.Int(); v == 1 {
			n++
		}
	}
	return n, nil
}
