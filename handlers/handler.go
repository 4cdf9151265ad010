package handlers

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/internal/metrics"
	"github.com/vlensq/vlensq/internal/tracing"
	"github.com/vlensq/vlensq/outcome"
	"github.com/vlensq/vlensq/tasks"
	"github.com/vlensq/vlensq/tenancy"
	"github.com/vlensq/vlensq/vlens"
)

// Config wires a Handler.
type Config struct {
	// Redis holds the per-task journal and attempt history. Required.
	Redis redis.UniversalClient
	// Vlens makes the calls. Required.
	Vlens *vlens.Client
	// Blobs resolves claim-checked images. Required.
	Blobs tasks.BlobReader
	// DeadLetters stores permanent failures. Required.
	DeadLetters *deadletter.Store
	// Outcomes publishes terminal outcomes. Required.
	Outcomes *outcome.Publisher
	// Policy is the retry policy; zero fields take their defaults.
	Policy Policy
	// Metrics, when set, counts attempts, outcomes and dead letters.
	Metrics *metrics.Metrics
	// Logger receives one line per attempt (never payloads or secrets).
	// Default: a disabled logger.
	Logger *zerolog.Logger
	// JournalTTL is the lifetime of unfinished tasks' journals. Default
	// JournalTTLDefault.
	JournalTTL time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Results says what a success keeps as its result. Default: the
	// per-type allow-lists of DefaultResultFields.
	Results ResultPolicy
	// RedisWaitMax bounds how long a failed attempt waits for an unreachable
	// Redis before returning its error to asynq. Default RedisWaitMaxDefault
	// (2 min); the attempt's context (shutdown, lease, deadline) ends it
	// sooner.
	RedisWaitMax time.Duration
	// Requeue, when set, turns a run of an archived dead-lettered task (the
	// "Run" button of Asynqmon) into a dead-letter requeue through it (see
	// deadletter.RequeueOptions.Enqueue); unset, such a run is refused.
	Requeue func(ctx context.Context, rec *deadletter.Record, payload []byte, newTaskID string) error
	// Fair, when set, makes every Vlens call wait for its tenant's turn
	// (package tenancy): tasks run when the fair dispatcher grants them,
	// and retries and throttled tasks go back to their tenant's hold set.
	Fair *tenancy.Scheduler
}

// Handler processes every vlensq task type.
type Handler struct {
	cfg    Config
	rdb    redis.UniversalClient
	policy Policy
	log    zerolog.Logger
}

// New checks cfg and returns a Handler.
func New(cfg Config) (*Handler, error) {
	switch {
	case cfg.Redis == nil:
		return nil, errors.New("handlers: Config.Redis is required")
	case cfg.Vlens == nil:
		return nil, errors.New("handlers: Config.Vlens is required")
	case cfg.Blobs == nil:
		return nil, errors.New("handlers: Config.Blobs is required")
	case cfg.DeadLetters == nil:
		return nil, errors.New("handlers: Config.DeadLetters is required")
	case cfg.Outcomes == nil:
		return nil, errors.New("handlers: Config.Outcomes is required")
	}
	p := cfg.Policy.withDefaults()
	if err := p.validate(); err != nil {
		return nil, err
	}
	if err := cfg.Results.validate(); err != nil {
		return nil, err
	}
	cfg.JournalTTL = cmp.Or(cfg.JournalTTL, JournalTTLDefault)
	cfg.RedisWaitMax = cmp.Or(cfg.RedisWaitMax, RedisWaitMaxDefault)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := zerolog.Nop()
	if cfg.Logger != nil {
		log = *cfg.Logger
	}
	return &Handler{cfg: cfg, rdb: cfg.Redis, policy: p, log: log}, nil
}

// Policy returns the effective retry policy.
func (h *Handler) Policy() Policy { return h.policy }

// attempt is what one run of a task knows about itself.
type attempt struct {
	task      *asynq.Task
	id        string
	queue     string
	retried   int
	maxRetry  int
	started   time.Time
	payload   *tasks.Payload
	spec      tasks.Spec
	body      map[string]any // the Vlens request body, once built
	verr      *vlens.Error   // the failed call of this attempt, if any
	ending    *failure       // the dead letter this attempt tried to write
	log       zerolog.Logger
	granted   bool      // the fair dispatcher started this run
	grantKind string    // "", tenancy.GrantProbe or tenancy.GrantTrial
	grantDue  time.Time // when the task became due for that dispatch
	keepProbe func()    // stops renewing a probe's or trial's slot
	// probeSettled: the probe's or trial's slot was released or handed on
	// (the breaker saw its answer).
	probeSettled bool
}

// failure is a terminal failure about to be dead-lettered.
type failure struct {
	verr             *vlens.Error // the failed call; never nil
	retriesExhausted bool
	reason           string // deadletter.Record.Reason
	// flow is set when a step of a flow task failed (see flow.go).
	flow *flowFailure
}

// ProcessTask implements asynq.Handler for every vlensq task type.
func (h *Handler) ProcessTask(ctx context.Context, t *asynq.Task) (err error) {
	a := &attempt{task: t, started: h.cfg.Now()}
	a.id, _ = asynq.GetTaskID(ctx)
	a.queue, _ = asynq.GetQueueName(ctx)
	a.retried, _ = asynq.GetRetryCount(ctx)
	a.maxRetry, _ = asynq.GetMaxRetry(ctx)
	a.log = h.log.With().Ctx(ctx).Str("task_id", a.id).Str("type", t.Type()).Int("attempt", a.retried+1).Logger()

	// An error goes back to asynq, which records the retry in Redis. When
	// Redis is what failed, that write fails too, and asynq's retry of it
	// never succeeds (its sync request carries an already cancelled
	// context), so the task would sit in "active" until the recoverer takes
	// it, up to two minutes later. Hold the error until Redis answers again.
	defer func() {
		if err != nil {
			h.awaitRedis(ctx)
		}
	}()
	// The retry policy decides how the task ends, never asynq's own budget.
	defer func() { err = h.bound(ctx, a, err) }()
	// A panic ends the task as a permanent failure: retrying a crash of our
	// own code cannot help. The stack goes to the log only, never to the
	// record, ticket or UI shown to support.
	defer func() {
		if r := recover(); r != nil {
			a.log.Error().Strs("stack", strings.Split(strings.TrimSpace(string(debug.Stack())), "\n")).Msg("panic in handler")
			verr := h.localError(a, vlens.ClassPermanent, vlens.CategoryServer, fmt.Sprintf("panic in handler: %v", r))
			err = h.deadLetter(ctx, a, failure{verr: verr})
		}
	}()

	defer func() {
		if a.keepProbe != nil {
			a.keepProbe()
			if !a.probeSettled {
				// The attempt ended with no word on the account (an
				// internal error, a shutdown): the next probe or trial may
				// run at once.
				h.states().ProbeEnded(context.WithoutCancel(ctx), a.payload.Tenant)
			}
		}
	}()
	done, j, err := h.alreadyEnded(ctx, a)
	if done || err != nil {
		return err
	}

	spec, ok := tasks.Lookup(t.Type())
	if !ok {
		return h.deadLetter(ctx, a, failure{verr: h.localError(a, vlens.ClassPermanent, vlens.CategoryValidation,
			fmt.Sprintf("type: unknown task type %q", t.Type()))})
	}
	a.spec = spec
	p, err := tasks.DecodePayload(t.Payload())
	if err == nil {
		err = p.Validate(t.Type())
	}
	a.payload = p
	if err != nil {
		return h.deadLetter(ctx, a, failure{verr: h.localError(a, vlens.ClassPermanent, vlens.CategoryValidation, err.Error())})
	}
	a.log = a.log.With().Str("tenant", p.Tenant).Stringer("transaction_id", p.TransactionID).Logger()
	tracing.SetTenant(ctx, p.Tenant)
	if spec.Flow {
		if h.mustHold(ctx, a) {
			return h.hold(ctx, a)
		}
		return h.runFlow(ctx, a, j)
	}

	if j.Response != nil {
		// Vlens already answered this task with a success; a crash or a
		// shutdown stopped us before the outcome. Do not call again.
		return h.succeed(ctx, a, j.Response, nil, "", true)
	}
	if !j.InFlight.IsZero() {
		return h.deadLetter(ctx, a, h.interruptedCall(a, j.InFlight))
	}
	if h.mustHold(ctx, a) {
		return h.hold(ctx, a)
	}
	if err := h.waitNotBefore(ctx, j.NotBefore); err != nil {
		return fmt.Errorf("waiting for the retry's due time: %w", err)
	}

	body, err := p.RequestBody(ctx, spec, h.cfg.Blobs)
	if err != nil {
		if errors.Is(err, tasks.ErrBlobMissing) {
			return h.deadLetter(ctx, a, failure{verr: h.localError(a, vlens.ClassPermanent, vlens.CategoryValidation,
				"image: the claim-checked image has expired or is missing; enqueue the task again with the image")})
		}
		return fmt.Errorf("build request body: %w", err)
	}
	a.body = body

	call := vlens.Call{
		Tenant: p.Tenant, User: p.User, Token: vlens.TokenTenant,
		Method: spec.Method, Path: p.PathFor(spec), Reserved: a.granted,
	}
	if spec.UserToken {
		call.Token = vlens.TokenUser
	}
	if len(spec.Fields) > 0 {
		call.Body = body
	}
	resp, err := h.call(ctx, a, call)
	if err != nil && h.relocated(a, err) {
		resp, err = h.revalidateAndReplay(ctx, a, call)
	}
	if err == nil {
		// Vlens has answered: record it even if a shutdown cancels the task
		// now, so that the re-run finds the outcome instead of calling again.
		bctx, cancel := bookkeeping(ctx)
		defer cancel()
		if !spec.Idempotent {
			// A repeated call would have a visible effect (another OTP SMS,
			// another business request): journal the answer first, so even a
			// crash before the outcome does not repeat it.
			if jerr := h.journalResponse(bctx, a.id, resp.Body); jerr != nil {
				a.log.Warn().Err(jerr).Msg("could not journal the response; a re-run would call Vlens again")
			}
		}
		h.accountAnswered(bctx, a)
		return h.succeed(bctx, a, resp.Body, resp.Envelope, resp.RequestID, false)
	}
	return h.failed(ctx, a, err, failure{})
}

// call makes one Vlens call for the attempt. A failed call comes back as
// its *vlens.Error, already observed and in the attempt history; any other
// error (no classification, or the attempt's context ended) is wrapped.
func (h *Handler) call(ctx context.Context, a *attempt, call vlens.Call) (*vlens.Response, error) {
	if err := h.markInFlight(ctx, a); err != nil {
		return nil, err
	}
	resp, err := h.cfg.Vlens.Do(ctx, call)
	if err == nil {
		return resp, nil
	}
	var verr *vlens.Error
	if !errors.As(err, &verr) {
		return nil, fmt.Errorf("call vlens: %w", err)
	}
	a.verr = verr
	if f, unknown := h.settleCall(ctx, a, verr); unknown {
		return nil, h.deadLetter(ctx, a, f)
	}
	if ctx.Err() != nil {
		// Shutdown or the task's deadline: asynq puts the task back (or
		// counts the timeout as a failure); no outcome yet.
		return nil, fmt.Errorf("call interrupted: %w", ctx.Err())
	}
	h.observe(ctx, a, verr.Class, verr.Category, verr.Code)
	if verr.Class != vlens.ClassThrottled {
		if herr := h.recordAttempt(ctx, a.id, attemptEntry{
			At: h.cfg.Now().UTC(), HTTPStatus: verr.HTTPStatus, ErrorCode: verr.Code,
			Class: string(verr.Class), XRequestID: verr.RequestID,
		}); herr != nil {
			a.log.Warn().Err(herr).Msg("could not record the attempt in the history")
		}
	}
	return nil, verr
}

// failed acts on an error from call: a throttled call waits, a transient
// one is retried with backoff (or dead-lettered once its attempts are
// spent), a permanent one is dead-lettered with f. Other errors go back to
// asynq as they are.
func (h *Handler) failed(ctx context.Context, a *attempt, err error, f failure) error {
	var verr *vlens.Error
	if !errors.As(err, &verr) {
		return err
	}
	f.verr = verr
	retried := a.retried
	if f.flow != nil {
		retried -= f.flow.start // a flow step counts its attempts from its own start
	}
	if done, err := h.breakerVerdict(ctx, a, f); done {
		return err
	}
	switch verr.Class {
	case vlens.ClassThrottled:
		if h.throttledTooLong(ctx, a, verr) {
			return h.deadLetter(ctx, a, h.throttledTooLongFailure(a, verr))
		}
		wait := h.policy.ThrottleWait(verr.RetryAfter)
		held := h.holdUntil(ctx, a, h.cfg.Now().Add(wait))
		if !held {
			h.retryAfter(ctx, a, wait)
		}
		a.log.Info().Dur("wait", wait).Str("reason", verr.Reason).Msg("throttled")
		return &ThrottledError{Wait: wait, Err: safeError(verr), exact: true, held: held}
	case vlens.ClassTransient:
		if retried+1 >= h.policy.MaxAttempts {
			f.retriesExhausted = true
			return h.deadLetter(ctx, a, f)
		}
		delay := h.policy.TransientDelay(retried)
		held := h.holdUntil(ctx, a, h.cfg.Now().Add(delay))
		if !held {
			h.retryAfter(ctx, a, delay)
		}
		a.log.Warn().Int("http_status", verr.HTTPStatus).Int("code", verr.Code).Str("reason", verr.Reason).
			Str("x_request_id", verr.RequestID).Dur("retry_in", delay).Msg("transient failure, will retry")
		return &RetryError{Delay: delay, Err: safeError(verr), held: held}
	default:
		return h.deadLetter(ctx, a, f)
	}
}

// retryAfter journals when the retry is due, so that a retry asynq releases
// early (it keeps whole seconds) waits for it.
func (h *Handler) retryAfter(ctx context.Context, a *attempt, d time.Duration) {
	if err := h.journalNotBefore(ctx, a.id, h.cfg.Now().Add(d)); err != nil {
		a.log.Warn().Err(err).Msg("could not journal the retry time; the retry may run early")
	}
}

// alreadyEnded finishes a re-run of a task that already has its outcome, or
// whose dead-letter record was written before a crash. Otherwise it returns
// the task's journal. The outcome marker and the journal are read in one
// round trip: this runs for every attempt.
func (h *Handler) alreadyEnded(ctx context.Context, a *attempt) (bool, journal, error) {
	pipe := h.rdb.Pipeline()
	seenCmd := pipe.Get(ctx, h.cfg.Outcomes.SeenKey(a.id))
	jCmd := pipe.HGetAll(ctx, journalKey(a.id))
	dlCmd := pipe.Get(ctx, h.cfg.DeadLetters.TaskKey(a.id))
	grantCmd := h.grantCmds(ctx, pipe, a)
	_, _ = pipe.Exec(ctx) // each command carries its own error
	h.readGrant(a, grantCmd)
	v, serr := seenCmd.Bytes()
	st, dlID, seen, err := outcome.DecodeSeen(a.id, v, serr)
	if err != nil {
		return true, journal{}, err
	}
	if seen {
		a.log.Info().Str("status", string(st)).Msg("task already ended; nothing to do")
		if st == outcome.StatusDeadLettered {
			return true, journal{}, h.rerunDeadLettered(ctx, a, dlID)
		}
		return true, journal{}, nil
	}
	j, err := journalOf(jCmd.Val(), jCmd.Err())
	if err != nil {
		return true, journal{}, fmt.Errorf("read task journal: %w", err)
	}
	if dlID := dlCmd.Val(); dlID != "" && !j.DeadLettering {
		// Dead-lettered long ago (the outcome marker has expired).
		return true, journal{}, h.rerunDeadLettered(ctx, a, dlID)
	}
	if !j.DeadLettering {
		return false, j, nil
	}
	rec, err := h.cfg.DeadLetters.GetByTaskID(ctx, a.id)
	if errors.Is(err, deadletter.ErrNotFound) {
		return false, j, nil // the record was never written: process normally
	}
	if err != nil {
		return true, journal{}, err
	}
	return true, journal{}, h.publishDeadLetter(ctx, a, rec)
}

// BookkeepingTimeout bounds the writes that record a Vlens answer (journal,
// dead-letter record, outcome) once the call is over. They run on a context
// that a shutdown does not cancel.
const BookkeepingTimeout = 15 * time.Second

func bookkeeping(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), BookkeepingTimeout)
}

// succeed stores the result and publishes the outcome.
func (h *Handler) succeed(ctx context.Context, a *attempt, body []byte, env *vlens.Envelope, requestID string, replayed bool) error {
	return h.publishSuccess(ctx, a, resultOf(body, env), requestID, replayed)
}

// publishSuccess stores result and publishes the outcome.
func (h *Handler) publishSuccess(ctx context.Context, a *attempt, result json.RawMessage, requestID string, replayed bool) error {
	result = h.cfg.Results.apply(a.task.Type(), result)
	also := h.forgetIn(a.id)
	if w := a.task.ResultWriter(); w != nil && a.queue != "" {
		// The result goes in the outcome's pipeline, where asynq's
		// ResultWriter would cost a round trip of its own.
		forget, key := also, asynqTaskKey(a.queue, w.TaskID())
		also = func(pl redis.Pipeliner) {
			forget(pl)
			pl.HSet(ctx, key, "result", []byte(result))
		}
	}
	o := outcome.Outcome{
		TaskID: a.id, Type: a.task.Type(), Tenant: a.payload.Tenant, Queue: a.queue,
		Status: outcome.StatusSucceeded, Class: string(vlens.ClassSuccess), Result: result,
		TransactionID: a.payload.TransactionID.String(), ClientTransactionID: a.payload.ClientTransactionID,
		RequestID: requestIDOf(a.task.Type(), a.payload, result),
	}
	if _, err := h.cfg.Outcomes.PublishWith(ctx, o, a.payload.CallbackURL, also); err != nil {
		return fmt.Errorf("publish outcome: %w", err)
	}
	if !replayed {
		h.observe(ctx, a, vlens.ClassSuccess, vlens.CategoryNone, 0)
	}
	h.finished(a, outcome.StatusSucceeded)
	a.log.Info().Str("class", "success").Str("x_request_id", requestID).Bool("replayed", replayed).
		Dur("duration", h.cfg.Now().Sub(a.started)).Msg("task succeeded")
	return nil
}

// deadLetter writes the record and the outcome, then archives the task.
func (h *Handler) deadLetter(ctx context.Context, a *attempt, f failure) error {
	a.ending = &f
	ctx, cancel := bookkeeping(ctx)
	defer cancel()
	if err := h.journalDeadLettering(ctx, a.id); err != nil {
		return fmt.Errorf("journal dead-lettering: %w", err)
	}
	history, err := h.attempts(ctx, a.id)
	if err != nil {
		return fmt.Errorf("read attempt history: %w", err)
	}
	rec := h.record(a, f, history)
	rec.Reason = f.reason
	rec.TraceID, rec.Traceparent = tracing.IDs(ctx)
	tracing.SetVerdict(ctx, rec.Class, rec.Category, rec.ErrorCode)
	payload := a.task.Payload()
	if f.flow != nil {
		payload = f.flow.payload
	}
	id, created, err := h.cfg.DeadLetters.Add(ctx, rec, requeuePayload(payload))
	if err != nil {
		// Redis trouble: let asynq retry the task rather than lose it.
		return fmt.Errorf("write dead-letter record: %w", err)
	}
	rec.ID = id
	if created && h.cfg.Metrics != nil {
		h.cfg.Metrics.DeadLetters.WithLabelValues(a.task.Type(), string(f.verr.Category)).Inc()
		if f.verr.Category == vlens.CategoryUnknown {
			h.cfg.Metrics.UnknownCodes.WithLabelValues(h.cfg.Metrics.Code(f.verr.Code)).Inc()
		}
	}
	a.log.Warn().Str("dead_letter_id", id).Str("class", rec.Class).Str("category", rec.Category).
		Int("code", rec.ErrorCode).Int("http_status", rec.HTTPStatus).Bool("retries_exhausted", rec.RetriesExhausted).
		Msg("task dead-lettered")
	return h.publishDeadLetter(ctx, a, rec)
}

func (h *Handler) publishDeadLetter(ctx context.Context, a *attempt, rec *deadletter.Record) error {
	o := outcome.Outcome{
		TaskID: a.id, Type: a.task.Type(), Tenant: rec.Tenant, Queue: a.queue,
		Status: outcome.StatusDeadLettered, Class: rec.Class, Category: rec.Category, Code: rec.ErrorCode,
		DeadLetterID: rec.ID, TransactionID: rec.TransactionID, ClientTransactionID: rec.ClientTransactionID,
		RequestID: rec.RequestID,
		Reason:    rec.Reason,
	}
	callback := ""
	if a.payload != nil {
		callback = a.payload.CallbackURL
	}
	if _, err := h.cfg.Outcomes.PublishWith(ctx, o, callback, h.forgetIn(a.id)); err != nil {
		return fmt.Errorf("publish outcome: %w", err)
	}
	h.finished(a, outcome.StatusDeadLettered)
	// The text becomes asynq's LastErr, shown raw in Asynqmon: it names the
	// record and the verdict, never the Vlens message or the payload.
	return fmt.Errorf("dead-lettered as %s (%s/%s code %d): %w", rec.ID, rec.Class, rec.Category, rec.ErrorCode, asynq.SkipRetry)
}

func (h *Handler) observe(ctx context.Context, a *attempt, class vlens.Class, cat vlens.Category, code int) {
	tracing.SetVerdict(ctx, string(class), string(cat), code)
	m := h.cfg.Metrics
	if m == nil {
		return
	}
	m.TasksProcessed.WithLabelValues(a.task.Type(), string(class), string(cat), m.Code(code)).Inc()
	metrics.Observe(m.TaskDuration.WithLabelValues(a.task.Type(), string(class)), h.cfg.Now().Sub(a.started).Seconds(),
		trace.SpanContextFromContext(ctx))
}

func (h *Handler) finished(a *attempt, st outcome.Status) {
	if h.cfg.Metrics != nil {
		h.cfg.Metrics.TaskAttempts.WithLabelValues(a.task.Type(), string(st)).Observe(float64(a.retried + 1))
	}
}

// localError describes a failure found before or without a Vlens answer
// (bad payload, missing image, panic) in the same shape as a failed call.
func (h *Handler) localError(a *attempt, class vlens.Class, cat vlens.Category, msg string) *vlens.Error {
	e := &vlens.Error{Class: class, Category: cat, Message: msg, Reason: "vlensq: " + msg}
	if a.spec.Type != "" {
		e.Method = a.spec.Method
		e.URL = a.spec.Path
		if a.payload != nil {
			e.URL = a.payload.PathFor(a.spec)
		}
	}
	return e
}

// safeError is what asynq keeps as LastErr for a retried attempt: the verdict
// and the HTTP facts, without the Vlens message (which can echo personal
// data) or the body.
func safeError(e *vlens.Error) error {
	return fmt.Errorf("%s/%s: %s %s: http %d code %d (%s)", e.Class, e.Category, e.Method, e.URL, e.HTTPStatus, e.Code, e.Reason)
}

// asynqTaskKey is the Redis hash where asynq v0.26 keeps a task and its
// "result" field (asynq's internal base.TaskKey; what ResultWriter.Write
// sets). TestSuccessStoresResultAndPublishesOutcome checks that the
// Inspector reads the result written there.
func asynqTaskKey(queue, id string) string { return "asynq:{" + queue + "}:t:" + id }

// resultOf is what a successful task keeps as its result: the envelope's
// data and services, with images (long base64 strings) taken out; extracted
// fields stay, they are what the producer asked for. env is the decoded body
// when the caller has it (nil decodes body).
func resultOf(body []byte, env *vlens.Envelope) json.RawMessage {
	if env == nil {
		env, _ = vlens.DecodeEnvelope(body)
	}
	if env == nil {
		return json.RawMessage(`null`)
	}
	b := make([]byte, 0, len(env.Data)+len(env.ServicesRaw)+24)
	b = append(b, '{')
	if len(env.Data) > 0 {
		b = append(append(b, `"data":`...), env.Data...)
	}
	if len(env.ServicesRaw) > 0 {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(append(b, `"services":`...), env.ServicesRaw...)
	}
	return vlens.StripImages(append(b, '}'))
}
