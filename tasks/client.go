package tasks

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/vlensq/vlensq/internal/tracing"
	"github.com/vlensq/vlensq/tenancy"
	"github.com/vlensq/vlensq/vlens"
)

// Defaults of ClientConfig.
const (
	// MaxRetryDefault is asynq's MaxRetry. The handler enforces the real
	// attempts policy (transient: 3 attempts; throttled: unbounded); asynq's
	// budget only stops crash loops.
	MaxRetryDefault = 25
	// TimeoutDefault bounds one attempt (asynq.Timeout). A Vlens call can
	// take up to 120 s; a token refresh and a retry fit in 3 minutes.
	TimeoutDefault = 3 * time.Minute
	// RetentionDefault keeps completed tasks (and their results) visible in
	// Asynqmon, and their ids reserved, for 24 hours.
	RetentionDefault = 24 * time.Hour
	// QueueDefault is the queue of tasks enqueued without one.
	QueueDefault = "default"
	// BatchConcurrencyDefault is how many enqueues EnqueueBatch runs at once.
	// With automatic pipelining they share a few deep pipelines, so many in
	// flight cost little: 512 is where the batch benchmark stops gaining on
	// a 2-core machine (docs/performance.md).
	BatchConcurrencyDefault = 512
)

// ClientConfig configures a Client.
type ClientConfig struct {
	// Tenants are the configured tenants (a *vlens.TenantSet from
	// vlens.LoadTenants); a payload naming another tenant is refused with a
	// *ValidationError on "tenant". Required.
	Tenants vlens.TenantSource
	// Blobs is the claim-check store. With it, every inline image is moved
	// to a blob before the task is enqueued, so asynq (and Asynqmon) never
	// holds image bytes. Nil keeps images inline: for tests only.
	Blobs *BlobStore
	// MaxRetry is asynq's MaxRetry for each task. Default MaxRetryDefault
	// (25).
	MaxRetry int
	// Timeout bounds one attempt (asynq.Timeout). Default TimeoutDefault
	// (3 min); at least 1 s, since asynq keeps whole seconds.
	Timeout time.Duration
	// Retention keeps completed tasks for this long (asynq.Retention).
	// Default RetentionDefault (24 h); negative keeps none.
	Retention time.Duration
	// DefaultQueue is the queue of tasks enqueued without one. Default
	// QueueDefault ("default").
	DefaultQueue string
	// BatchConcurrency is how many enqueues EnqueueBatch runs concurrently.
	// Default BatchConcurrencyDefault (512).
	BatchConcurrency int
	// NoBatchPipelining makes EnqueueBatch send each enqueue on its own
	// round trip. By default it goes through go-redis's automatic
	// pipelining (Client.AutoPipeline, experimental in go-redis v9.22+),
	// which coalesces the concurrent enqueues into pipelines; this is the
	// switch back if that ever misbehaves. One difference: a pipelined
	// enqueue already handed to go-redis does not end when the context
	// does, so a Redis lost in the middle of a batch is waited out for
	// go-redis's dial and read timeouts (a Redis already down is caught by
	// a Ping on the context before the batch starts).
	NoBatchPipelining bool
	// Hold, when set, makes every task wait for its tenant's turn: the task
	// is recorded in its tenant's hold set and enqueued parked (see package
	// tenancy), and a worker's fair dispatcher starts it when a slot is free
	// and the tenant's rate limit allows. Nil enqueues tasks straight to
	// pending (workers then hold them on their first run).
	Hold Holder
}

// Holder records a task in its tenant's hold set (*tenancy.Scheduler).
type Holder interface {
	Hold(ctx context.Context, c redis.Scripter, queue, tenant, id string, due time.Time) error
}

func (c ClientConfig) withDefaults() ClientConfig {
	c.MaxRetry = cmp.Or(c.MaxRetry, MaxRetryDefault)
	c.Timeout = cmp.Or(c.Timeout, TimeoutDefault)
	c.Retention = cmp.Or(c.Retention, RetentionDefault)
	c.DefaultQueue = cmp.Or(c.DefaultQueue, QueueDefault)
	c.BatchConcurrency = cmp.Or(c.BatchConcurrency, BatchConcurrencyDefault)
	return c
}

func (c ClientConfig) validate() error {
	switch {
	case c.Tenants == nil:
		return errors.New("tasks: ClientConfig.Tenants is required")
	case c.MaxRetry < 0:
		return fmt.Errorf("tasks: ClientConfig.MaxRetry must not be negative, got %d", c.MaxRetry)
	case c.Timeout < time.Second:
		return fmt.Errorf("tasks: ClientConfig.Timeout must be at least 1s, got %v", c.Timeout)
	case c.BatchConcurrency < 1:
		return fmt.Errorf("tasks: ClientConfig.BatchConcurrency must be positive, got %d", c.BatchConcurrency)
	}
	if err := validQueue(c.DefaultQueue); err != nil {
		return fmt.Errorf("tasks: ClientConfig.DefaultQueue %w", err)
	}
	return nil
}

// ErrDuplicateID reports an enqueue whose EnqueueOptions.ID is already taken
// in its queue; nothing was enqueued. It wraps asynq.ErrTaskIDConflict.
var ErrDuplicateID error = duplicateIDError{}

type duplicateIDError struct{}

func (duplicateIDError) Error() string { return "duplicate task id" }
func (duplicateIDError) Unwrap() error { return asynq.ErrTaskIDConflict }

// ErrClientClosed is returned by enqueues after Close.
var ErrClientClosed = errors.New("tasks: client is closed")

// Client validates payloads, moves images to the BlobStore and enqueues
// tasks with asynq. It is safe for concurrent use.
type Client struct {
	cfg      ClientConfig
	rdb      redis.UniversalClient
	aq       *asynq.Client
	batch    func() (batchClients, error) // EnqueueBatch's clients; see batchClient
	sessions *vlens.RedisSessionStore
	base     []asynq.Option // Queue, MaxRetry, Timeout, Retention from cfg
	closed   atomic.Bool
}

// NewClient returns a Client over rdb (standalone, Sentinel or Cluster). The
// caller keeps ownership of rdb: Close does not close it.
func NewClient(rdb redis.UniversalClient, cfg ClientConfig) (*Client, error) {
	if rdb == nil {
		return nil, errors.New("tasks: NewClient needs a Redis client")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	base := []asynq.Option{asynq.Queue(cfg.DefaultQueue), asynq.MaxRetry(cfg.MaxRetry), asynq.Timeout(cfg.Timeout)}
	if cfg.Retention > 0 {
		base = append(base, asynq.Retention(cfg.Retention))
	}
	c := &Client{cfg: cfg, rdb: rdb, aq: asynq.NewClientFromRedisClient(rdb), sessions: vlens.NewRedisSessionStore(rdb), base: base}
	c.batch = sync.OnceValues(c.batchClient)
	return c, nil
}

// autoPipeliner is implemented by *redis.Client (standalone, Sentinel) and
// *redis.ClusterClient.
type autoPipeliner interface {
	AutoPipelineWithOptions(*redis.AutoPipelineOptions) (*redis.AutoPipeliner, error)
}

// batchClient returns the asynq client EnqueueBatch uses: one over the Redis
// client's automatic pipeliner, so that the batch's concurrent enqueues
// (one Lua script call each: asynq v0.26 has no batch API) share a few deep
// pipelines instead of a round trip apiece. Two batches may be in flight at
// once (Unordered): the enqueues of a batch are concurrent, so they never
// had an order. The pipeliner is cached by go-redis on the Redis client
// and closed with it. Without pipelining it is the Client's own asynq
// client.
func (c *Client) batchClient() (batchClients, error) {
	ap, ok := c.rdb.(autoPipeliner)
	if c.cfg.NoBatchPipelining || !ok {
		return batchClients{c.aq, c.rdb}, nil
	}
	opts := redis.DefaultBlockingAutoPipelineOptions()
	opts.MaxConcurrentBatches, opts.Unordered = 2, true
	p, err := ap.AutoPipelineWithOptions(opts)
	if err != nil {
		return batchClients{}, fmt.Errorf("tasks: batch pipelining: %w", err)
	}
	return batchClients{asynq.NewClientFromRedisClient(p), p}, nil
}

// batchClients are the clients of EnqueueBatch: asynq's, and the one that
// runs the hold scripts, both over the same pipeliner.
type batchClients struct {
	aq *asynq.Client
	sc redis.Scripter
}

// NewTask validates the payload for taskType (including that its tenant is
// configured), moves its inline images to the blob store (refreshing the TTL
// of images already there), and returns the asynq task with its options:
// Queue, MaxRetry, Timeout, Retention, and TaskID and ProcessIn when set.
// The W3C trace context of ctx's span (or o.Traceparent) and o.Link go in
// the task's headers.
// The caller's payload is not modified. Bad input is a *ValidationError.
func (c *Client) NewTask(ctx context.Context, taskType string, p *Payload, o EnqueueOptions) (*asynq.Task, []asynq.Option, error) {
	if _, ok := specFor(taskType); !ok {
		return nil, nil, unknownType(taskType)
	}
	if err := o.validate(); err != nil {
		return nil, nil, err
	}
	if p != nil && !blank(p.Tenant) {
		if _, ok := c.cfg.Tenants.Tenant(p.Tenant); !ok {
			return nil, nil, &ValidationError{Field: "tenant", Problem: fmt.Sprintf("unknown tenant %q", p.Tenant)}
		}
	}
	imgs, err := p.check(taskType)
	if err != nil {
		return nil, nil, err
	}
	if c.cfg.Blobs != nil && len(imgs) > 0 {
		if p, err = c.moveImages(ctx, p, imgs, c.cfg.Blobs.TTL()+o.ProcessIn); err != nil {
			return nil, nil, err
		}
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, nil, fmt.Errorf("tasks: marshal %s payload: %w", taskType, err)
	}
	// The trace context goes in the headers (none when untraced).
	h := tracing.Headers(ctx, o.Traceparent, o.Link, time.Now().Add(o.ProcessIn))
	return asynq.NewTaskWithHeaders(taskType, b, h), c.options(o), nil
}

// held returns the options and the id of a task enqueued through the hold:
// a fresh id when the caller gave none (the hold set needs it before asynq
// has one), and the park time instead of ProcessIn, which becomes the
// hold's due time.
func (c *Client) held(o EnqueueOptions) (EnqueueOptions, []asynq.Option, time.Time) {
	due := time.Now().Add(o.ProcessIn)
	if o.ID == "" {
		o.ID = uuid.NewString()
	}
	o.ProcessIn = 0
	return o, append(c.options(o), asynq.ProcessAt(tenancy.ParkAt)), due
}

// moveImages returns a copy of p whose images are all blob references. Inline
// images are stored; referenced blobs get their TTL extended to ttl and must
// exist.
func (c *Client) moveImages(ctx context.Context, p *Payload, imgs []checkedImage, ttl time.Duration) (*Payload, error) {
	cp := *p
	if p.ScanTransaction != nil {
		st := *p.ScanTransaction
		cp.ScanTransaction = &st
	}
	for _, ci := range imgs {
		if ci.img.Ref != nil {
			err := c.cfg.Blobs.Touch(ctx, *ci.img.Ref, ttl)
			if errors.Is(err, ErrBlobMissing) {
				return nil, &ValidationError{Field: ci.field, Problem: "blob " + ci.img.Ref.Key + " not found (expired or never stored)"}
			}
			if err != nil {
				return nil, err
			}
			continue
		}
		ref := BlobRef{Key: ci.key, Size: len(ci.data), Type: ci.ctype}
		if err := c.cfg.Blobs.put(ctx, ref, ci.data, ttl); err != nil {
			return nil, err
		}
		*cp.imageSlot(strings.TrimPrefix(ci.field, "payload.")) = &Image{Ref: &ref}
	}
	return &cp, nil
}

// options returns the asynq options of one task: the Client's defaults
// (built once), then the per-task ones, which win.
func (c *Client) options(o EnqueueOptions) []asynq.Option {
	opts := make([]asynq.Option, len(c.base), len(c.base)+3)
	copy(opts, c.base)
	if o.Queue != "" {
		opts = append(opts, asynq.Queue(o.Queue))
	}
	if o.ID != "" {
		opts = append(opts, asynq.TaskID(o.ID))
	}
	if o.ProcessIn > 0 {
		opts = append(opts, asynq.ProcessIn(o.ProcessIn))
	}
	return opts
}

// Enqueue validates and enqueues one task (see NewTask). An id already
// taken in the queue gives an error matching ErrDuplicateID, and nothing is
// enqueued.
func (c *Client) Enqueue(ctx context.Context, taskType string, p *Payload, o EnqueueOptions) (*asynq.TaskInfo, error) {
	return c.enqueue(ctx, c.aq, c.rdb, taskType, p, o)
}

func (c *Client) enqueue(ctx context.Context, aq *asynq.Client, sc redis.Scripter, taskType string, p *Payload, o EnqueueOptions) (*asynq.TaskInfo, error) {
	if c.closed.Load() {
		return nil, ErrClientClosed
	}
	task, opts, err := c.NewTask(ctx, taskType, p, o)
	if err != nil {
		return nil, err
	}
	if c.cfg.Hold != nil {
		var due time.Time
		o, opts, due = c.held(o)
		if err := c.cfg.Hold.Hold(ctx, sc, cmp.Or(o.Queue, c.cfg.DefaultQueue), p.Tenant, o.ID, due); err != nil {
			return nil, fmt.Errorf("tasks: enqueue %s: %w", taskType, err)
		}
	}
	info, err := aq.EnqueueContext(ctx, task, opts...)
	switch {
	case errors.Is(err, asynq.ErrTaskIDConflict):
		return nil, fmt.Errorf("tasks: %w: %q in queue %q", ErrDuplicateID, o.ID, cmp.Or(o.Queue, c.cfg.DefaultQueue))
	case err != nil:
		return nil, fmt.Errorf("tasks: enqueue %s: %w", taskType, err)
	}
	return info, nil
}

// Close makes later enqueues fail with ErrClientClosed. The Redis client
// given to NewClient stays open: its owner closes it.
func (c *Client) Close() error {
	c.closed.Store(true)
	return nil
}
