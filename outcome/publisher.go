package outcome

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/vlensq/vlensq/internal/tracing"
)

// Defaults of Config.
const (
	MaxLenDefault = 100_000
	// MaxAgeDefault is the default age limit of stream entries: a producer
	// that reads less than once a week has lost outcomes anyway (the
	// per-task marker lives as long).
	MaxAgeDefault        = 7 * 24 * time.Hour
	SeenTTLDefault       = 7 * 24 * time.Hour
	CallbackQueueDefault = "default"
)

// Config configures a Publisher.
type Config struct {
	// Stream is the stream key. Default Stream ("vlensq:outcomes").
	Stream string
	// MaxLen caps the stream (approximate MAXLEN, oldest entries go first).
	// Default MaxLenDefault.
	MaxLen int64
	// MaxAge drops entries older than this (approximate XTRIM MINID on each
	// publish), whatever their number: outcomes carry results with personal
	// data and must not stay forever on a quiet stream. Default
	// MaxAgeDefault (7 days); negative keeps entries whatever their age.
	MaxAge time.Duration
	// SeenTTL is how long the per-task marker that makes publishing
	// idempotent lives. Default SeenTTLDefault (7 days): a task re-run by
	// crash recovery within that time publishes nothing twice.
	SeenTTL time.Duration
	// CallbackQueue is the asynq queue of callback deliveries. Default
	// CallbackQueueDefault.
	CallbackQueue string
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Publisher appends outcomes to the stream and schedules callbacks.
type Publisher struct {
	rdb    redis.UniversalClient
	client *asynq.Client
	cfg    Config
}

// NewPublisher returns a Publisher. client enqueues callback deliveries; it
// may be nil when no task carries a callback_url (a callback then fails with
// an error rather than being dropped).
func NewPublisher(rdb redis.UniversalClient, client *asynq.Client, cfg Config) *Publisher {
	cfg.Stream = cmp.Or(cfg.Stream, Stream)
	cfg.MaxLen = cmp.Or(cfg.MaxLen, MaxLenDefault)
	cfg.MaxAge = cmp.Or(cfg.MaxAge, MaxAgeDefault)
	cfg.SeenTTL = cmp.Or(cfg.SeenTTL, SeenTTLDefault)
	cfg.CallbackQueue = cmp.Or(cfg.CallbackQueue, CallbackQueueDefault)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Publisher{rdb: rdb, client: client, cfg: cfg}
}

// seenKey shares the stream's hash slot ({vlensq:outcomes} hashes like the
// bare stream key), so the publish script is valid on Redis Cluster.
func (p *Publisher) seenKey(taskID string) string {
	return "{" + p.cfg.Stream + "}:seen:" + taskID
}

// publishScript writes the per-task marker and the stream entry together.
// KEYS[1] marker, KEYS[2] stream; ARGV[1] ttl ms, ARGV[2] maxlen, ARGV[3]
// marker value, ARGV[4] the oldest id to keep ("0" keeps all: no age
// limit), ARGV[5..] entry fields. XADD takes one trim strategy, so the age
// limit is a separate XTRIM MINID, exact (it removes from the head only:
// on average one entry per publish).
var publishScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[3], 'NX', 'PX', ARGV[1]) then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 5))
  if ARGV[4] ~= '0' then
    redis.call('XTRIM', KEYS[2], 'MINID', ARGV[4])
  end
  return 1
end
return 0
`)

// minID is the oldest stream id kept under the age limit: "<ms>-0", or
// "0" without a limit.
func (p *Publisher) minID() string {
	if p.cfg.MaxAge <= 0 {
		return "0"
	}
	return strconv.FormatInt(p.cfg.Now().Add(-p.cfg.MaxAge).UnixMilli(), 10) + "-0"
}

// Publish records o as the outcome of its task. It returns false when an
// outcome of the same task was already published (nothing is written then).
// When callbackURL is set, a callback delivery is enqueued first, keyed by the
// task id, so a crash between the two steps cannot lose the callback nor
// deliver it twice.
func (p *Publisher) Publish(ctx context.Context, o Outcome, callbackURL string) (bool, error) {
	return p.PublishWith(ctx, o, callbackURL, nil)
}

// PublishWith is Publish, with also's commands (e.g. deleting the task's own
// working keys, storing the task's result) sent in the same pipeline: one
// round trip for both. also may run twice (the first use of the script on a
// server), so its commands must be idempotent. Errors of also's commands are
// not reported; only the publish decides the result.
func (p *Publisher) PublishWith(ctx context.Context, o Outcome, callbackURL string, also func(redis.Pipeliner)) (_ bool, err error) {
	ctx, span := tracing.Start(ctx, tracing.SpanOutcomePublish, tracing.AttrStatus.String(string(o.Status)))
	defer func() { tracing.End(span, err) }()
	if o.TaskID == "" {
		return false, errors.New("outcome: task_id is required")
	}
	if o.At.IsZero() {
		o.At = p.cfg.Now()
	}
	if callbackURL != "" {
		if err := p.enqueueCallback(ctx, o, callbackURL); err != nil {
			return false, err
		}
	}
	marker, err := json.Marshal(seenMarker{Status: o.Status, DeadLetterID: o.DeadLetterID})
	if err != nil {
		return false, err
	}
	args := append([]any{p.cfg.SeenTTL.Milliseconds(), p.cfg.MaxLen, string(marker), p.minID()}, o.fields()...)
	keys := []string{p.seenKey(o.TaskID), p.cfg.Stream}
	run := func(eval func(redis.Pipeliner) *redis.Cmd) *redis.Cmd {
		var cmd *redis.Cmd
		_, _ = p.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
			cmd = eval(pl)
			if also != nil {
				also(pl)
			}
			return nil
		})
		return cmd
	}
	cmd := run(func(pl redis.Pipeliner) *redis.Cmd { return publishScript.EvalSha(ctx, pl, keys, args...) })
	if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
		// First use on this server: send the script itself (the pipeline's
		// other commands must be idempotent: deletions, overwrites).
		cmd = run(func(pl redis.Pipeliner) *redis.Cmd { return publishScript.Eval(ctx, pl, keys, args...) })
	}
	n, err := cmd.Int()
	if err != nil {
		return false, fmt.Errorf("outcome: publish task %s: %w", o.TaskID, err)
	}
	return n == 1, nil
}

type seenMarker struct {
	Status       Status `json:"status"`
	DeadLetterID string `json:"dead_letter_id,omitempty"`
}

// Seen reports whether the task already has a published outcome, and which.
// Handlers call it first, so a task re-run after a crash ends as it ended.
func (p *Publisher) Seen(ctx context.Context, taskID string) (status Status, deadLetterID string, ok bool, err error) {
	v, err := p.rdb.Get(ctx, p.seenKey(taskID)).Bytes()
	return DecodeSeen(taskID, v, err)
}

// SeenKey is the Redis key of the task's outcome marker, for a caller that
// reads it in one pipeline with its own keys and decodes it with DecodeSeen.
func (p *Publisher) SeenKey(taskID string) string { return p.seenKey(taskID) }

// DecodeSeen interprets the value and error of a GET of SeenKey as Seen
// does.
func DecodeSeen(taskID string, v []byte, err error) (status Status, deadLetterID string, ok bool, _ error) {
	if errors.Is(err, redis.Nil) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("outcome: read marker of task %s: %w", taskID, err)
	}
	var m seenMarker
	if err := json.Unmarshal(v, &m); err != nil {
		return "", "", false, fmt.Errorf("outcome: bad marker of task %s: %w", taskID, err)
	}
	return m.Status, m.DeadLetterID, true, nil
}
