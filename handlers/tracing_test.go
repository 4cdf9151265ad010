package handlers_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/handlers"
	"github.com/vlensq/vlensq/internal/app"
	"github.com/vlensq/vlensq/internal/config"
	"github.com/vlensq/vlensq/internal/redistest"
	"github.com/vlensq/vlensq/internal/tracing"
	"github.com/vlensq/vlensq/outcome"
	"github.com/vlensq/vlensq/tasks"
	"github.com/vlensq/vlensq/vlens"
	"github.com/vlensq/vlensq/vlens/vlenstest"
)

// tracedBundle is a worker traced into an in-memory exporter, with its log
// lines in a buffer.
type tracedBundle struct {
	*testBundle
	exp  *tracetest.InMemoryExporter
	tp   *sdktrace.TracerProvider
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// tracedSetup is setup with tracing on. The tenant's API key and password
// are canaries that no span may carry.
func tracedSetup(t *testing.T, policy handlers.Policy) *tracedBundle {
	t.Helper()
	return tracedSetupWith(t, tracedOpts{policy: policy})
}

type tracedOpts struct {
	policy handlers.Policy
	// ratePerSecond, when set, turns the tenant's rate limit on.
	ratePerSecond int
	// provider are more tracer provider options (another exporter, a
	// resource).
	provider []sdktrace.TracerProviderOption
}

func tracedSetupWith(t *testing.T, o tracedOpts) *tracedBundle {
	t.Helper()
	rdb := redistest.Client(t, redistest.DBHandlers)
	n := seq.Add(1)
	tenant := vlens.Tenant{Name: fmt.Sprintf("traced-%d-%d", os.Getpid(), n),
		APIKey: fmt.Sprintf("CANARY-APIKEY-%d", n), Username: "admin", Password: fmt.Sprintf("CANARY-PASSWORD-%d", n),
		RatePerSecond: o.ratePerSecond}
	fake := vlenstest.NewTestServer(t, vlenstest.Options{Tenants: []vlens.Tenant{tenant}})
	ts, err := vlens.NewTenantSet(tenant)
	if err != nil {
		t.Fatal(err)
	}
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(append([]sdktrace.TracerProviderOption{sdktrace.WithSyncer(exp)}, o.provider...)...)
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	logs := &syncBuffer{}
	log := zerolog.New(logs)
	r := &config.Redis{Client: rdb, ConnOpt: redistest.Opt(t, redistest.DBHandlers), Kind: "standalone"}
	a, err := app.New(app.Options{Redis: r, Tenants: ts, VlensBaseURL: fake.URL, Policy: o.policy, DisableRateLimit: o.ratePerSecond == 0,
		TracerProvider: tp, Logger: &log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	b := &testBundle{app: a, fake: fake, rdb: rdb, tenant: tenant, user: "user-1", queue: fmt.Sprintf("tq-%d-%d", os.Getpid(), n),
		insp: asynq.NewInspectorFromRedisClient(rdb)}
	access, refresh := fake.UserTokens(tenant.Name, b.user)
	if err := a.Sessions.Put(context.Background(), tenant.Name, b.user, vlens.Session{AccessToken: access, RefreshToken: refresh}); err != nil {
		t.Fatal(err)
	}
	b.startWorker(t)
	return &tracedBundle{testBundle: b, exp: exp, tp: tp, logs: logs}
}

// produce enqueues under a producer span, as a traced service would, and
// returns the task id and the producer's span context.
func (tb *tracedBundle) produce(t *testing.T, typ string, p *tasks.Payload) (string, trace.SpanContext) {
	t.Helper()
	ctx, span := tb.tp.Tracer("producer").Start(context.Background(), "producer request", trace.WithSpanKind(trace.SpanKindProducer))
	defer span.End()
	info, err := tb.app.Tasks.Enqueue(ctx, typ, p, tasks.EnqueueOptions{Queue: tb.queue})
	if err != nil {
		t.Fatalf("enqueue %s: %v", typ, err)
	}
	return info.ID, span.SpanContext()
}

// spans is a trace's finished spans.
type spans []tracetest.SpanStub

// waitTrace waits until the trace has at least want spans named name, and
// returns all its finished spans.
func (tb *tracedBundle) waitTrace(t *testing.T, traceID trace.TraceID, name string, want int) spans {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var got spans
		for _, s := range tb.exp.GetSpans() {
			if s.SpanContext.TraceID() == traceID {
				got = append(got, s)
			}
		}
		if len(got.named(name)) >= want {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace %s: %d %q spans within 15 s, want %d; spans: %s", traceID, len(got.named(name)), name, want, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (ss spans) named(name string) spans {
	var out spans
	for _, s := range ss {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// childrenOf returns the spans whose parent is p, in start order, but the
// wait for the tenant's turn: it is recorded only when the dispatch took
// longer than usual (a loaded machine), TestTraceOfRateLimitWait checks it.
func (ss spans) childrenOf(p tracetest.SpanStub) spans {
	var out spans
	for _, s := range ss {
		if s.Name == tracing.SpanFairWait {
			continue
		}
		if s.Parent.SpanID() == p.SpanContext.SpanID() && s.Parent.TraceID() == p.SpanContext.TraceID() {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b tracetest.SpanStub) int { return a.StartTime.Compare(b.StartTime) })
	return out
}

func (ss spans) names() []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}

func (ss spans) String() string { return strings.Join(ss.names(), ", ") }

func attr(s tracetest.SpanStub, k attribute.Key) (attribute.Value, bool) {
	for _, kv := range s.Attributes {
		if kv.Key == k {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

func wantAttr(t *testing.T, s tracetest.SpanStub, k attribute.Key, want any) {
	t.Helper()
	v, ok := attr(s, k)
	if !ok {
		t.Errorf("span %s has no attribute %s (attributes %v)", s.Name, k, s.Attributes)
		return
	}
	if got := v.AsInterface(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("span %s: %s = %v, want %v", s.Name, k, got, want)
	}
}

// vlensCall is the name otelhttp gives a Vlens call (see app).
func vlensCall(method, route string) string { return "vlens " + method + " " + route }

// vlensCallOf is the span name of the call a task type makes.
func vlensCallOf(typ string) string {
	spec, _ := tasks.Lookup(typ)
	return vlensCall(spec.Method, vlens.RouteTemplate(spec.Path))
}

func TestTraceOfSuccessfulTask(t *testing.T) {
	t.Parallel()
	tb := tracedSetup(t, fastPolicy)
	id, producer := tb.produce(t, tasks.TypeOCRIDFront, &tasks.Payload{Tenant: tb.tenant.Name, Image: &tasks.Image{Inline: pngB64},
		Country: "EG", ClientTransactionID: uniq(t, "ok")})
	if o := tb.waitOutcome(t, id, 10*time.Second); o.Status != outcome.StatusSucceeded {
		t.Fatalf("outcome = %+v", o)
	}
	tr := tb.waitTrace(t, producer.TraceID(), tracing.SpanProcess, 1)
	procs := tr.named(tracing.SpanProcess)
	if len(procs) != 1 {
		t.Fatalf("%d process spans, want 1: %s", len(procs), tr)
	}
	p := procs[0]
	if p.Parent.SpanID() != producer.SpanID() {
		t.Errorf("process span's parent = %s, want the producer's span %s", p.Parent.SpanID(), producer.SpanID())
	}
	if p.SpanKind != trace.SpanKindConsumer {
		t.Errorf("process span kind = %v, want consumer", p.SpanKind)
	}
	wantAttr(t, p, tracing.AttrType, tasks.TypeOCRIDFront)
	wantAttr(t, p, tracing.AttrTenant, tb.tenant.Name)
	wantAttr(t, p, tracing.AttrQueue, tb.queue)
	wantAttr(t, p, tracing.AttrTaskID, id)
	wantAttr(t, p, tracing.AttrAttempt, 1)
	wantAttr(t, p, tracing.AttrClass, "success")
	wantAttr(t, p, tracing.AttrErrorCode, 0)
	if v, ok := attr(p, tracing.AttrQueueWaitMS); !ok || v.AsInt64() < 0 {
		t.Errorf("process span: queue wait = %v (present %v), want a non-negative number of ms", v.AsInt64(), ok)
	}
	if p.Status.Code != codes.Ok {
		t.Errorf("process span status = %v, want Ok", p.Status)
	}
	// The tenant's first call logs in (a token refresh), then the OCR call,
	// then the outcome.
	kids := tr.childrenOf(p)
	want := []string{tracing.SpanTokenRefresh, vlensCallOf(tasks.TypeOCRIDFront), tracing.SpanOutcomePublish}
	if got := kids.names(); !slices.Equal(got, want) {
		t.Fatalf("children of the process span = %q, want %q", got, want)
	}
	call := kids[1]
	if call.SpanKind != trace.SpanKindClient {
		t.Errorf("vlens call span kind = %v, want client", call.SpanKind)
	}
	wantAttr(t, call, "http.request.method", "POST")
	ocr, _ := tasks.Lookup(tasks.TypeOCRIDFront)
	wantAttr(t, call, "url.full", tb.fake.URL+ocr.Path)
	wantAttr(t, call, "http.response.status_code", 200)
	if login := tr.childrenOf(kids[0]).names(); !slices.Equal(login, []string{vlensCall("POST", "/api/credentials/Login")}) {
		t.Errorf("children of the token refresh = %q, want the login call", login)
	}
	wantAttr(t, kids[2], tracing.AttrStatus, "succeeded")

	// Correlation: the attempt's log lines carry its trace and span ids.
	line := logLine(t, tb.logs.String(), "task succeeded")
	if line["trace_id"] != producer.TraceID().String() || line["span_id"] != p.SpanContext.SpanID().String() {
		t.Errorf("log line trace_id/span_id = %v/%v, want %s/%s", line["trace_id"], line["span_id"], producer.TraceID(), p.SpanContext.SpanID())
	}
}

// logLine returns the JSON log line with message msg.
func logLine(t *testing.T, logs, msg string) map[string]any {
	t.Helper()
	for l := range strings.SplitSeq(logs, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["message"] == msg {
			return m
		}
	}
	t.Fatalf("no log line %q in:\n%s", msg, logs)
	return nil
}

func TestTraceOfRetriedTask(t *testing.T) {
	t.Parallel()
	tb := tracedSetup(t, fastPolicy)
	id, producer := tb.produce(t, tasks.TypeOCRIDFront, &tasks.Payload{Tenant: tb.tenant.Name, Image: &tasks.Image{Inline: pngB64},
		Country: "EG", ClientTransactionID: uniq(t, "http503,ok")})
	if o := tb.waitOutcome(t, id, 10*time.Second); o.Status != outcome.StatusSucceeded {
		t.Fatalf("outcome = %+v", o)
	}
	tr := tb.waitTrace(t, producer.TraceID(), tracing.SpanProcess, 2)
	procs := tr.named(tracing.SpanProcess)
	slices.SortFunc(procs, func(a, b tracetest.SpanStub) int { return a.StartTime.Compare(b.StartTime) })
	if len(procs) != 2 {
		t.Fatalf("%d process spans, want 2 (one per attempt): %s", len(procs), tr)
	}
	for i, p := range procs {
		// asynq keeps the headers on a retry: both attempts continue the
		// producer's trace.
		if p.Parent.SpanID() != producer.SpanID() {
			t.Errorf("attempt %d: parent = %s, want the producer's span", i+1, p.Parent.SpanID())
		}
		wantAttr(t, p, tracing.AttrAttempt, i+1)
	}
	first, second := procs[0], procs[1]
	wantAttr(t, first, tracing.AttrClass, "transient")
	wantAttr(t, first, tracing.AttrCategory, "server")
	if first.Status.Code != codes.Error {
		t.Errorf("transient attempt's status = %v, want Error", first.Status)
	}
	if _, ok := attr(second, tracing.AttrQueueWaitMS); ok {
		t.Error("the retry has a queue wait attribute; only the first attempt's wait is known")
	}
	if _, ok := attr(second, tracing.AttrAgeMS); !ok {
		t.Error("the retry has no task age attribute")
	}
	wantAttr(t, second, tracing.AttrClass, "success")
	if second.Status.Code != codes.Ok {
		t.Errorf("successful retry's status = %v, want Ok", second.Status)
	}
	calls := tr.childrenOf(first).named(vlensCallOf(tasks.TypeOCRIDFront))
	if len(calls) != 1 {
		t.Fatalf("first attempt's vlens calls: %s", tr.childrenOf(first))
	}
	wantAttr(t, calls[0], "http.response.status_code", 503)
	if got := tr.childrenOf(second).names(); !slices.Equal(got, []string{vlensCallOf(tasks.TypeOCRIDFront), tracing.SpanOutcomePublish}) {
		t.Errorf("children of the retry = %q", got)
	}
}

func TestTraceOfTokenRefresh(t *testing.T) {
	t.Parallel()
	tb := tracedSetup(t, fastPolicy)
	id, producer := tb.produce(t, tasks.TypeVerifyIDFront, &tasks.Payload{Tenant: tb.tenant.Name, User: tb.user,
		Image: &tasks.Image{Inline: pngB64}, ClientTransactionID: uniq(t, "expire,ok")})
	if o := tb.waitOutcome(t, id, 10*time.Second); o.Status != outcome.StatusSucceeded {
		t.Fatalf("outcome = %+v", o)
	}
	tr := tb.waitTrace(t, producer.TraceID(), tracing.SpanProcess, 1)
	p := tr.named(tracing.SpanProcess)[0]
	verify := vlensCallOf(tasks.TypeVerifyIDFront)
	kids := tr.childrenOf(p)
	want := []string{verify, tracing.SpanTokenRefresh, verify, tracing.SpanOutcomePublish}
	if got := kids.names(); !slices.Equal(got, want) {
		t.Fatalf("children of the process span = %q, want %q (the 401, the refresh, the replay, the outcome)", got, want)
	}
	wantAttr(t, kids[0], "http.response.status_code", 401)
	wantAttr(t, kids[1], tracing.AttrTokenKind, "user")
	if kids[1].Status.Code == codes.Error {
		t.Errorf("successful refresh has status %v", kids[1].Status)
	}
	refresh := tr.childrenOf(kids[1])
	if got := refresh.names(); !slices.Equal(got, []string{vlensCall("POST", "/api/DigitalIdentity/RefreshToken")}) {
		t.Errorf("children of the token refresh = %q, want the refresh call", got)
	}
	wantAttr(t, kids[2], "http.response.status_code", 200)
	wantAttr(t, p, tracing.AttrClass, "success")
}

func TestTraceOfDeadLetterAndRequeue(t *testing.T) {
	t.Parallel()
	tb := tracedSetup(t, fastPolicy)
	// A permanent failure, then (for the requeued task) a success.
	id, producer := tb.produce(t, tasks.TypeOCRIDFront, &tasks.Payload{Tenant: tb.tenant.Name, Image: &tasks.Image{Inline: pngB64},
		Country: "EG", ClientTransactionID: uniq(t, "code:3011,ok")})
	o := tb.waitOutcome(t, id, 10*time.Second)
	if o.Status != outcome.StatusDeadLettered {
		t.Fatalf("outcome = %+v", o)
	}
	tr := tb.waitTrace(t, producer.TraceID(), tracing.SpanProcess, 1)
	p := tr.named(tracing.SpanProcess)[0]
	wantAttr(t, p, tracing.AttrClass, "permanent")
	wantAttr(t, p, tracing.AttrCategory, "identity_verification")
	wantAttr(t, p, tracing.AttrErrorCode, 3011)
	if p.Status.Code != codes.Error {
		t.Errorf("permanent failure's status = %v, want Error", p.Status)
	}
	kids := tr.childrenOf(p)
	want := []string{tracing.SpanTokenRefresh, vlensCallOf(tasks.TypeOCRIDFront), tracing.SpanDeadLetter, tracing.SpanOutcomePublish}
	if got := kids.names(); !slices.Equal(got, want) {
		t.Fatalf("children of the process span = %q, want %q", got, want)
	}
	wantAttr(t, kids[2], tracing.AttrDeadLetter, o.DeadLetterID)
	wantAttr(t, kids[3], tracing.AttrStatus, "dead_lettered")

	// The record and the ticket name the trace.
	rec := tb.deadLetter(t, o)
	if rec.TraceID != producer.TraceID().String() {
		t.Errorf("record trace_id = %q, want %s", rec.TraceID, producer.TraceID())
	}
	if !strings.Contains(deadletter.Ticket(rec), "Trace: "+producer.TraceID().String()) {
		t.Errorf("the ticket does not name the trace:\n%s", deadletter.Ticket(rec))
	}

	// A requeue opens a requeue span linked to the failed attempt; the new
	// task's attempt is its child and links to the failed attempt too.
	rep, err := tb.app.DLQ.Requeue(context.Background(), []string{rec.ID}, deadletter.Filter{},
		deadletter.RequeueOptions{By: "test", Enqueue: tb.app.RequeueFunc()})
	if err != nil || rep.Requeued != 1 {
		t.Fatalf("requeue: %+v, %v", rep, err)
	}
	newID := rep.Items[0].NewTaskID
	if o := tb.waitOutcome(t, newID, 10*time.Second); o.Status != outcome.StatusSucceeded {
		t.Fatalf("requeued task's outcome = %+v", o)
	}
	var rq tracetest.SpanStub
	for _, s := range tb.exp.GetSpans() {
		if s.Name == tracing.SpanRequeue {
			rq = s
		}
	}
	if !rq.SpanContext.IsValid() {
		t.Fatal("no requeue span")
	}
	if !linksTo(rq, p.SpanContext) {
		t.Errorf("requeue span links %v, want the dead-lettered attempt %s", rq.Links, p.SpanContext.SpanID())
	}
	rtr := tb.waitTrace(t, rq.SpanContext.TraceID(), tracing.SpanProcess, 1)
	np := rtr.named(tracing.SpanProcess)[0]
	if np.Parent.SpanID() != rq.SpanContext.SpanID() {
		t.Errorf("requeued attempt's parent = %s, want the requeue span %s", np.Parent.SpanID(), rq.SpanContext.SpanID())
	}
	if !linksTo(np, p.SpanContext) {
		t.Errorf("requeued attempt links %v, want the dead-lettered attempt %s of trace %s", np.Links, p.SpanContext.SpanID(), producer.TraceID())
	}
	wantAttr(t, np, tracing.AttrTaskID, newID)
	wantAttr(t, np, tracing.AttrClass, "success")
}

func linksTo(s tracetest.SpanStub, sc trace.SpanContext) bool {
	for _, l := range s.Links {
		if l.SpanContext.TraceID() == sc.TraceID() && l.SpanContext.SpanID() == sc.SpanID() {
			return true
		}
	}
	return false
}

func TestTraceparentOptionIsTheParent(t *testing.T) {
	t.Parallel()
	tb := tracedSetup(t, fastPolicy)
	// What `vlensq enqueue --traceparent` (or an NDJSON line's traceparent)
	// passes: a context from another process.
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	info, err := tb.app.Tasks.Enqueue(context.Background(), tasks.TypeOCRIDFront, &tasks.Payload{Tenant: tb.tenant.Name,
		Image: &tasks.Image{Inline: pngB64}, Country: "EG", ClientTransactionID: uniq(t, "ok")},
		tasks.EnqueueOptions{Queue: tb.queue, Traceparent: tp})
	if err != nil {
		t.Fatal(err)
	}
	tb.waitOutcome(t, info.ID, 10*time.Second)
	sc, err := tracing.ParseTraceparent(tp)
	if err != nil {
		t.Fatal(err)
	}
	tr := tb.waitTrace(t, sc.TraceID(), tracing.SpanProcess, 1)
	if p := tr.named(tracing.SpanProcess)[0]; p.Parent.SpanID() != sc.SpanID() || !p.Parent.IsRemote() {
		t.Errorf("process span's parent = %v, want the remote span %s", p.Parent, sc.SpanID())
	}
}

// TestSpansCarryNoSecretOrImage runs a login, a user token refresh, a
// success and a dead letter, then looks for the tenant's API key and
// password, every token, and the image in everything the spans hold.
func TestSpansCarryNoSecretOrImage(t *testing.T) {
	t.Parallel()
	tb := tracedSetup(t, fastPolicy)
	userAccess, userRefresh := tb.fake.UserTokens(tb.tenant.Name, tb.user)
	var ids []string
	for _, sc := range []struct {
		typ, user, steps string
	}{{tasks.TypeOCRIDFront, "", "ok"}, {tasks.TypeVerifyIDFront, tb.user, "expire,ok"}, {tasks.TypeOCRIDFront, "", "code:3011"}} {
		id, _ := tb.produce(t, sc.typ, &tasks.Payload{Tenant: tb.tenant.Name, User: sc.user, Image: &tasks.Image{Inline: pngB64},
			Country: "EG", ClientTransactionID: uniq(t, sc.steps)})
		ids = append(ids, id)
	}
	for _, id := range ids {
		tb.waitOutcome(t, id, 10*time.Second)
	}
	ctx := context.Background()
	tenantSess, err := tb.app.Sessions.Get(ctx, tb.tenant.Name, "")
	if err != nil {
		t.Fatal(err)
	}
	userSess, err := tb.app.Sessions.Get(ctx, tb.tenant.Name, tb.user)
	if err != nil {
		t.Fatal(err)
	}
	canaries := map[string]string{
		"api key": tb.tenant.APIKey, "password": tb.tenant.Password,
		"tenant access token": tenantSess.AccessToken, "tenant refresh token": tenantSess.RefreshToken,
		"user access token (before refresh)": userAccess, "user refresh token (before refresh)": userRefresh,
		"user access token": userSess.AccessToken, "user refresh token": userSess.RefreshToken,
		"image (base64)": pngB64[:24],
	}
	for name, c := range canaries {
		if len(c) < 8 {
			t.Fatalf("canary %s = %q is too short to search for", name, c)
		}
	}
	// Wait until every attempt's span has ended.
	deadline := time.Now().Add(10 * time.Second)
	for len(spans(tb.exp.GetSpans()).named(tracing.SpanProcess)) < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	all := tb.exp.GetSpans()
	if n := len(spans(all).named(tracing.SpanProcess)); n < 3 {
		t.Fatalf("%d process spans, want 3", n)
	}
	if n := len(spans(all).named(tracing.SpanTokenRefresh)); n < 2 {
		t.Fatalf("%d token refresh spans, want the login and the user refresh", n)
	}
	for _, s := range all {
		for name, c := range canaries {
			if where := spanMentions(s, c); where != "" {
				t.Errorf("span %s carries the %s in %s", s.Name, name, where)
			}
		}
		for _, kv := range s.Attributes {
			if k := strings.ToLower(string(kv.Key)); strings.Contains(k, "header") || strings.Contains(k, "body") {
				t.Errorf("span %s has attribute %s", s.Name, kv.Key)
			}
		}
	}
}

// spanMentions returns where s holds c: its name, an attribute, an event,
// a link, its status or its resource; "" when nowhere.
func spanMentions(s tracetest.SpanStub, c string) string {
	has := func(kvs []attribute.KeyValue) string {
		for _, kv := range kvs {
			if strings.Contains(string(kv.Key), c) || strings.Contains(kv.Value.Emit(), c) {
				return string(kv.Key)
			}
		}
		return ""
	}
	if strings.Contains(s.Name, c) {
		return "the name"
	}
	if k := has(s.Attributes); k != "" {
		return "attribute " + k
	}
	for _, e := range s.Events {
		if strings.Contains(e.Name, c) || has(e.Attributes) != "" {
			return "event " + e.Name
		}
	}
	for _, l := range s.Links {
		if has(l.Attributes) != "" {
			return "a link"
		}
	}
	if strings.Contains(s.Status.Description, c) {
		return "the status"
	}
	if s.Resource != nil && has(s.Resource.Attributes()) != "" {
		return "the resource"
	}
	return ""
}

func TestTraceOfRateLimitWait(t *testing.T) {
	t.Parallel()
	// One call per second for the tenant: of two tasks enqueued together,
	// the second waits in its tenant's hold (fair dispatch) for the first.
	tb := tracedSetupWith(t, tracedOpts{policy: fastPolicy, ratePerSecond: 1})
	var producers []trace.SpanContext
	var ids []string
	for range 2 {
		id, sc := tb.produce(t, tasks.TypeOCRIDFront, &tasks.Payload{Tenant: tb.tenant.Name, Image: &tasks.Image{Inline: pngB64},
			Country: "EG", ClientTransactionID: uniq(t, "ok")})
		ids, producers = append(ids, id), append(producers, sc)
	}
	for _, id := range ids {
		if o := tb.waitOutcome(t, id, 15*time.Second); o.Status != outcome.StatusSucceeded {
			t.Fatalf("outcome = %+v", o)
		}
	}
	var waits spans
	for _, sc := range producers {
		tr := tb.waitTrace(t, sc.TraceID(), tracing.SpanProcess, 1)
		for _, w := range tr.named(tracing.SpanFairWait) {
			if parent := tr.named(tracing.SpanProcess)[0]; w.Parent.SpanID() != parent.SpanContext.SpanID() {
				t.Errorf("rate-limit wait's parent = %s, want the attempt %s", w.Parent.SpanID(), parent.SpanContext.SpanID())
			}
			waits = append(waits, w)
		}
	}
	if len(waits) == 0 {
		t.Fatal("no fair-wait span although the tenant allows one call per second")
	}
	// The second task's wait (the first may show a short one too).
	w := slices.MaxFunc(waits, func(a, b tracetest.SpanStub) int {
		return cmp.Compare(a.EndTime.Sub(a.StartTime), b.EndTime.Sub(b.StartTime))
	})
	wantAttr(t, w, tracing.AttrTenant, tb.tenant.Name)
	if v, _ := attr(w, tracing.AttrWaitMS); v.AsInt64() <= 0 || w.EndTime.Sub(w.StartTime) < 100*time.Millisecond {
		t.Errorf("rate-limit wait: %d ms recorded, span lasted %v; want the wait", v.AsInt64(), w.EndTime.Sub(w.StartTime))
	}
	if w.Status.Code == codes.Error {
		t.Errorf("a rate-limit wait is not an error: %v", w.Status)
	}
}
