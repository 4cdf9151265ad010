package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"go.opentelemetry.io/otel/trace"

	"github.com/vlensq/vlensq/dashboard"
	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/handlers"
	"github.com/vlensq/vlensq/internal/app"
	"github.com/vlensq/vlensq/internal/config"
	"github.com/vlensq/vlensq/internal/metrics"
	"github.com/vlensq/vlensq/internal/tracing"
	"github.com/vlensq/vlensq/outcome"
	"github.com/vlensq/vlensq/tasks"
	"github.com/vlensq/vlensq/tenancy"
	"github.com/vlensq/vlensq/vlens"
	"github.com/vlensq/vlensq/vlens/vlenstest"
)

type demoOpts struct {
	timeout       time.Duration
	dashboardAddr string
	keep          bool
}

func newDemoCmd(g *globals) *cobra.Command {
	o := &demoOpts{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run everything in one process: embedded Redis, fake Vlens, worker, dashboard; enqueue a realistic mix; print the outcomes",
		Long: `demo needs no setup: it starts an embedded Redis (miniredis), the fake Vlens, a worker and the
dashboard in this process, enqueues a realistic mix of tasks (successes, a transient failure that recovers, an
expired token, a document failure reported only under services, a 400 with field errors, an
exhausted bundle, a server that keeps failing, throttling, an unknown code), waits for every
outcome, and prints them by class and category with the support ticket of one dead letter.
It exits 1 if any task ended differently from what its scenario expects.

Needs: nothing (its tenants and their secrets are built in; no setting is read but the log ones).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDemo(cmd.Context(), g, o) },
	}
	cmd.Flags().DurationVar(&o.timeout, "timeout", 2*time.Minute, "give up waiting for outcomes after this long")
	cmd.Flags().StringVar(&o.dashboardAddr, "dashboard-addr", "127.0.0.1:8080", "where the demo serves the dashboard (another free port is used when it is taken; \"off\" for none)")
	cmd.Flags().BoolVar(&o.keep, "keep", false, "keep the worker and the dashboard running after the report, until Ctrl-C")
	return cmd
}

// demoTask is one task of the demo mix and the outcome its scenario expects.
type demoTask struct {
	name     string
	typ      string
	payload  *tasks.Payload
	class    vlens.Class
	category vlens.Category
	status   outcome.Status
	// then builds a follow-up task from this task's outcome (liveness after
	// the ID steps, OTP after the business request).
	then func(o outcome.Outcome) []demoTask
	// requeue, when set, follows a dead letter of this task: the task it
	// returns is enqueued by requeueing the dead letter.
	requeue func(deadLetterID string) demoTask
	// enqueue, when set, enqueues the task instead of Tasks.Enqueue (a
	// requeue of a dead letter); it returns the new task id.
	enqueue func(ctx context.Context) (string, error)

	id string
}

func runDemo(ctx context.Context, g *globals, o *demoOpts) error {
	log, err := g.logger()
	if err != nil {
		return err
	}
	if !g.logLevelSet {
		// Keep the demo's console a readable report: the worker's per-task
		// warnings are what the tables below summarise.
		log = log.Level(zerolog.ErrorLevel)
	}
	r, err := config.OpenRedis(config.Memory)
	if err != nil {
		return err
	}
	defer r.Close()
	// A third tenant whose bundle balance has run out (4002): the circuit
	// breaker pauses it; after the "recharge" a probe resumes it.
	tenantList := append(vlenstest.DemoTenants(), vlens.Tenant{Name: demoRetail, APIKey: "demo-retail-api-key",
		Username: "admin@demo-retail.example", Password: "demo-retail-password"})
	fake := vlenstest.NewServer(vlenstest.Options{Tenants: tenantList})
	defer fake.Close()
	fake.SetAccountError(demoRetail, 4002)
	tenants, err := vlens.NewTenantSet(tenantList...)
	if err != nil {
		return err
	}
	m := metrics.New()
	traces, err := openTracing(ctx)
	if err != nil {
		return err
	}
	defer shutdownTracing(traces, log)
	var tp trace.TracerProvider
	if traces.Enabled() {
		tp = traces.TracerProvider
	}
	a, err := app.New(app.Options{
		Redis: r, Tenants: tenants, VlensBaseURL: fake.URL, Logger: &log,
		Policy: handlers.Policy{}, Metrics: m, TracerProvider: tp,
		Breaker: tenancy.BreakerConfig{ProbeInterval: time.Second},
	})
	if err != nil {
		return err
	}
	defer a.Close()
	dashURL, token, stopDash, err := demoDashboard(a, m, &log, o.dashboardAddr)
	if err != nil {
		return err
	}
	defer stopDash()

	bank, telecom := tenantList[0].Name, tenantList[1].Name
	const user = "amira"
	access, refresh := fake.UserTokens(bank, user)
	if err := a.Sessions.Put(ctx, bank, user, vlens.Session{AccessToken: access, RefreshToken: refresh}); err != nil {
		return err
	}

	srv := a.NewServer(app.ServerOptions{Concurrency: 20, Queues: map[string]int{"default": 1}})
	if err := srv.Start(a.Mux()); err != nil {
		return err
	}
	defer srv.Shutdown()

	fmt.Fprintf(g.stdout, "vlensq demo: embedded Redis (%s), fake Vlens at %s, worker with concurrency 20\n", r.Display, fake.URL)
	fmt.Fprintf(g.stdout, "tenants: %s (identity + business, user %q), %s (OCR)\n", bank, user, telecom)
	if dashURL != "" {
		fmt.Fprintf(g.stdout, "dashboard: %s/dlq/ (Asynqmon at %s/monitoring/); sign in with the one-time token %s\n", dashURL, dashURL, token)
	}
	fmt.Fprintln(g.stdout)

	requeue := func(ctx context.Context, dlID string) (string, error) {
		rep, err := a.DLQ.Requeue(ctx, []string{dlID}, deadletter.Filter{}, deadletter.RequeueOptions{By: "demo", Enqueue: a.RequeueFunc()})
		if err != nil {
			return "", err
		}
		if rep.Requeued != 1 {
			return "", fmt.Errorf("requeue of %s: %+v", dlID, rep.Items)
		}
		return rep.Items[0].NewTaskID, nil
	}
	recharged := func(ctx context.Context, _ string) (string, error) {
		// The tenant's account works again; its new task waits while the
		// tenant is paused, and the breaker's probe runs it.
		fake.SetAccountError(demoRetail, 0)
		info, err := a.Tasks.Enqueue(ctx, tasks.TypeOCRAML, &tasks.Payload{Tenant: demoRetail, IDNumber: "29001011234567", Name: "Omar Farouk"}, tasks.EnqueueOptions{})
		if err != nil {
			return "", err
		}
		return info.ID, nil
	}
	mix := demoMix(bank, telecom, user, requeue, recharged)
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	var done []demoTask
	results := map[string]outcome.Outcome{}
	lastID := "0"
	for round := 1; len(mix) > 0; round++ {
		for i := range mix {
			if mix[i].enqueue != nil {
				if mix[i].id, err = mix[i].enqueue(ctx); err != nil {
					return fmt.Errorf("demo: %s: %w", mix[i].name, err)
				}
				continue
			}
			info, err := demoEnqueue(ctx, a, tp, mix[i])
			if err != nil {
				return fmt.Errorf("demo: enqueue %s: %w", mix[i].name, err)
			}
			mix[i].id = info.ID
		}
		fmt.Fprintf(g.stdout, "round %d: enqueued %d tasks; waiting for their outcomes…\n", round, len(mix))
		if lastID, err = waitOutcomes(ctx, r.Client, mix, results, lastID); err != nil {
			return err
		}
		var next []demoTask
		for _, t := range mix {
			if t.then != nil && results[t.id].Status == outcome.StatusSucceeded {
				next = append(next, t.then(results[t.id])...)
			}
			if t.requeue != nil && results[t.id].Status == outcome.StatusDeadLettered {
				next = append(next, t.requeue(results[t.id].DeadLetterID))
			}
		}
		done = append(done, mix...)
		mix = next
	}
	if err := demoReport(ctx, g.stdout, a.DLQ, done, results); err != nil {
		return err
	}
	if n := fake.ScenarioHits(demoResumed); n != 4 {
		return fmt.Errorf("demo: the resumed verify:identity made %d calls, want 4 (front, back, the failed liveness, liveness)", n)
	}
	fmt.Fprintln(g.stdout, "verify:identity dead-lettered at its liveness step and requeued: it resumed at liveness (4 calls in all: front and back were not repeated)")
	if err := demoBreakerReport(ctx, g.stdout, a); err != nil {
		return err
	}
	if o.keep && dashURL != "" {
		fmt.Fprintf(g.stdout, "\nthe worker and the dashboard keep running at %s/dlq/ (token %s); Ctrl-C to stop\n", dashURL, token)
		<-parent.Done()
	}
	return nil
}

// demoDashboard serves the dashboard for the demo with a random one-time
// token. An address already in use falls back to a free port.
func demoDashboard(a *app.App, m *metrics.Metrics, log *zerolog.Logger, addr string) (url, token string, stop func(), err error) {
	if addr == "off" || addr == "" {
		return "", "", func() {}, nil
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", "", nil, err
	}
	token = hex.EncodeToString(b)
	d, err := dashboard.New(dashboard.Config{Redis: a.Redis, DLQ: a.DLQ, Requeue: a.RequeueFunc(), Metrics: m, Token: token, Logger: log, Tenants: a.Directory})
	if err != nil {
		return "", "", nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			_ = d.Close()
			return "", "", nil, err
		}
	}
	srv := &http.Server{Handler: d.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + displayAddr(ln.Addr()), token, func() { _ = srv.Close(); _ = d.Close() }, nil
}

// waitOutcomes reads the outcome stream until every task of mix has one.
func waitOutcomes(ctx context.Context, rdb redis.UniversalClient, mix []demoTask, into map[string]outcome.Outcome, from string) (string, error) {
	want := map[string]bool{}
	for _, t := range mix {
		if _, ok := into[t.id]; !ok {
			want[t.id] = true
		}
	}
	for len(want) > 0 {
		res, err := rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{outcome.Stream, from}, Block: 500 * time.Millisecond, Count: 100}).Result()
		if err == redis.Nil {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return from, fmt.Errorf("demo: %d tasks still without an outcome: %w", len(want), ctx.Err())
			}
			return from, err
		}
		for _, s := range res {
			for _, m := range s.Messages {
				from = m.ID
				o := outcome.FromFields(m.Values)
				into[o.TaskID] = o
				delete(want, o.TaskID)
			}
		}
	}
	return from, nil
}

func demoReport(ctx context.Context, w io.Writer, dlq *deadletter.Store, done []demoTask, results map[string]outcome.Outcome) error {
	type key struct{ status, class, category string }
	counts := map[key]int{}
	var mismatches []string
	for _, t := range done {
		o := results[t.id]
		counts[key{string(o.Status), o.Class, o.Category}]++
		if o.Status != t.status || o.Class != string(t.class) || o.Category != string(t.category) {
			why := ""
			if rec, err := dlq.Get(ctx, o.DeadLetterID); err == nil {
				why = fmt.Sprintf(" (http %d, error_message %q, reason: %s)", rec.HTTPStatus, rec.ErrorMessage, rec.Resolution)
			}
			mismatches = append(mismatches, fmt.Sprintf("%s: got %s %s/%s, want %s %s/%s%s", t.name, o.Status, o.Class, o.Category, t.status, t.class, t.category, why))
		}
	}
	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		return a.status+a.class+a.category < b.status+b.class+b.category
	})
	fmt.Fprintln(w, "\nOutcomes by class and category")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OUTCOME\tCLASS\tCATEGORY\tTASKS")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", k.status, k.class, dash(k.category), counts[k])
	}
	_ = tw.Flush()

	fmt.Fprintln(w, "\nTasks")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tTYPE\tOUTCOME\tCLASS\tCATEGORY\tCODE\tDEAD LETTER")
	var ticketID string
	for _, t := range done {
		o := results[t.id]
		class := o.Class
		if rec, err := dlq.Get(ctx, o.DeadLetterID); err == nil {
			class = classLabel(rec)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.name, t.typ, o.Status, class, dash(o.Category), codeLabel(o.Code), dash(o.DeadLetterID))
		if ticketID == "" && o.Code == 3011 {
			ticketID = o.DeadLetterID
		}
	}
	_ = tw.Flush()

	if ticketID != "" {
		rec, err := dlq.Get(ctx, ticketID)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "\nSupport ticket for dead letter %s (vlensq dlq show %s --ticket):\n\n%s\n", ticketID, ticketID, deadletter.Ticket(rec))
	}
	if len(mismatches) > 0 {
		return fmt.Errorf("demo: %d tasks ended unexpectedly:\n  %s", len(mismatches), strings.Join(mismatches, "\n  "))
	}
	fmt.Fprintf(w, "\nall %d tasks ended as their scenarios expect\n", len(done))
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// demoImage is a small PNG, different per seed, base64-encoded.
func demoImage(seed int) string {
	img := image.NewRGBA(image.Rect(0, 0, 96, 64))
	for y := range 64 {
		for x := range 96 {
			img.Set(x, y, color.RGBA{uint8(x*2 + seed*40), uint8(y*3 + seed*17), uint8((x + y + seed*23) % 256), 255})
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

// demoResumed scripts the verify:identity task that fails at liveness and
// is requeued: front, back, a failed liveness, then the resumed liveness.
const demoResumed = "sandbox:ok,ok,liveness_false,ok#demo-12"

func demoMix(bank, telecom, user string, requeue, recharged func(ctx context.Context, arg string) (string, error)) []demoTask {
	img := func(seed int) *tasks.Image { return &tasks.Image{Inline: demoImage(seed)} }
	yes := true
	ok := func(name, typ string, p *tasks.Payload) demoTask {
		return demoTask{name: name, typ: typ, payload: p, class: vlens.ClassSuccess, status: outcome.StatusSucceeded}
	}
	fail := func(name, typ string, p *tasks.Payload, class vlens.Class, cat vlens.Category) demoTask {
		return demoTask{name: name, typ: typ, payload: p, class: class, category: cat, status: outcome.StatusDeadLettered}
	}
	ocr := func(scenario string) *tasks.Payload {
		return &tasks.Payload{Tenant: telecom, Image: img(1), Country: "EG", ClientTransactionID: scenario}
	}
	txn := tasks.TextID("7f9c2ba4-e88f-4a1d-9c55-d0b0f2f4a001")
	front := ok("identity: ID front", tasks.TypeVerifyIDFront,
		&tasks.Payload{Tenant: bank, User: user, Image: img(2), TransactionID: txn, ClientTransactionID: "onboarding-1", GetExtractedData: &yes})
	back := ok("identity: ID back", tasks.TypeVerifyIDBack,
		&tasks.Payload{Tenant: bank, User: user, Image: img(3), TransactionID: txn, GetExtractedData: &yes})
	back.then = func(outcome.Outcome) []demoTask {
		return []demoTask{ok("identity: liveness (after front and back)", tasks.TypeVerifyLiveness,
			&tasks.Payload{Tenant: bank, User: user, Face1: img(4), Face2: img(5), Face3: img(6), TransactionID: txn, GetExtractedData: &yes})}
	}
	create := ok("business: create a personal-loan request", tasks.TypeBusinessCreate, &tasks.Payload{
		Tenant: bank, User: user, TypeID: 2,
		GeoLocation: &tasks.GeoLocation{Latitude: 30.0444, Longitude: 31.2357}, UserDeviceUTCTime: time.Now().UTC().Format(time.RFC3339),
		RequestFieldsValues: map[string]any{"amount": 250000, "tenorMonths": 36},
	})
	create.then = func(o outcome.Outcome) []demoTask {
		// The outcome names the new request's id (a UUID at Vlens and in
		// the sandbox): the signing steps are chained from it.
		id := tasks.TextID(o.RequestID)
		geo := &tasks.GeoLocation{Latitude: 30.0444, Longitude: 31.2357}
		now := time.Now().UTC().Format(time.RFC3339)
		return []demoTask{
			ok("business: request signing OTP", tasks.TypeBusinessRequestOTP, &tasks.Payload{Tenant: bank, User: user, BusinessRequestID: id, GeoLocation: geo, UserDeviceUTCTime: now}),
			ok("business: request status", tasks.TypeBusinessStatus, &tasks.Payload{Tenant: bank, User: user, BusinessRequestID: id}),
			fail("business: wrong OTP code", tasks.TypeBusinessValidateOTP, &tasks.Payload{Tenant: bank, User: user, BusinessRequestID: id,
				OTPRequestID: tasks.TextID("otp-1"), OTPCode: "000000", GeoLocation: geo, UserDeviceUTCTime: now}, vlens.ClassPermanent, vlens.CategoryBusinessRequest),
		}
	}
	identity := func(scenario string) *tasks.Payload {
		return &tasks.Payload{Tenant: bank, User: user, FrontImage: img(2), BackImage: img(3),
			Face1: img(4), Face2: img(5), Face3: img(6), ClientTransactionID: scenario, GetExtractedData: &yes}
	}
	failedFlow := fail("verify:identity: liveness fails (front, back passed)", tasks.TypeVerifyIdentity, identity(demoResumed),
		vlens.ClassPermanent, vlens.CategoryIdentityVerification)
	failedFlow.requeue = func(dlID string) demoTask {
		t := ok("verify:identity: requeued, resumes at liveness", tasks.TypeVerifyIdentity, nil)
		t.enqueue = func(ctx context.Context) (string, error) { return requeue(ctx, dlID) }
		return t
	}
	broken := fail("bundle balance exhausted (4002): the circuit breaker pauses "+demoRetail, tasks.TypeOCRAML,
		&tasks.Payload{Tenant: demoRetail, IDNumber: "29001011234567", Name: "Omar Farouk"}, vlens.ClassPermanent, vlens.CategoryAccount)
	broken.requeue = func(string) demoTask {
		t := ok(demoRetail+" after its recharge: held while paused, run by the breaker's probe", tasks.TypeOCRAML, nil)
		t.enqueue = func(ctx context.Context) (string, error) { return recharged(ctx, "") }
		return t
	}
	return []demoTask{
		front, back, create,
		ok("verify:identity: front, back, liveness as one task", tasks.TypeVerifyIdentity, identity("onboarding-2")),
		ok("verify:identity: back 503, only back retried", tasks.TypeVerifyIdentity, identity("sandbox:ok,http503,ok,ok#demo-11")),
		failedFlow,
		ok("ocr: ID front", tasks.TypeOCRIDFront, ocr("kiosk-17")),
		ok("ocr: AML screening", tasks.TypeOCRAML, &tasks.Payload{Tenant: telecom, IDNumber: "29001011234567", Name: "Amira Hassan"}),
		ok("transient 503, then success", tasks.TypeOCRIDFront, ocr("sandbox:http503,ok#demo-1")),
		ok("HTML 502 from a gateway, then success", tasks.TypeOCRIDBack, ocr("sandbox:http502html,ok#demo-2")),
		ok("expired token: refresh, replay once", tasks.TypeVerifyIDFront,
			&tasks.Payload{Tenant: bank, User: user, Image: img(7), ClientTransactionID: "sandbox:expire,ok#demo-3"}),
		ok("throttled 429 (Retry-After 1), then success", tasks.TypeOCRIDFront, ocr("sandbox:http429:1,ok#demo-4")),
		fail("card not detected: 3011 only under services", tasks.TypeOCRIDFront, ocr("sandbox:services3011#demo-5"), vlens.ClassPermanent, vlens.CategoryIdentityVerification),
		fail("400 with error_descriptions", tasks.TypeOCRIDBack, ocr("sandbox:http400desc#demo-6"), vlens.ClassPermanent, vlens.CategoryValidation),
		broken,
		fail("fake document", tasks.TypeOCRIDFront, ocr("sandbox:fake#demo-8"), vlens.ClassPermanent, vlens.CategoryIdentityVerification),
		fail("server keeps failing: retries exhausted", tasks.TypeOCRIDFront, ocr("sandbox:http500#demo-9"), vlens.ClassTransient, vlens.CategoryServer),
		fail("unknown code 9999", tasks.TypeOCRIDFront, ocr("sandbox:code:9999#demo-10"), vlens.ClassPermanent, vlens.CategoryUnknown),
	}
}

// demoEnqueue enqueues t; with tracing on, under a producer span of its
// own, so that each task's trace starts at its enqueue.
func demoEnqueue(ctx context.Context, a *app.App, tp trace.TracerProvider, t demoTask) (*asynq.TaskInfo, error) {
	if tp != nil {
		var span trace.Span
		ctx, span = tp.Tracer(tracing.ScopeName).Start(ctx, "demo enqueue "+t.typ, trace.WithSpanKind(trace.SpanKindProducer))
		defer span.End()
	}
	return a.Tasks.Enqueue(ctx, t.typ, t.payload, tasks.EnqueueOptions{})
}

// demoRetail is the demo tenant whose account answers 4002 at first.
const demoRetail = "demo-retail"

// demoBreakerReport prints the pause and resume of the demo's broken
// tenant, from the tenant history, and checks the breaker did its work.
func demoBreakerReport(ctx context.Context, w io.Writer, a *app.App) error {
	events, err := a.States.Events(ctx, 10)
	if err != nil {
		return err
	}
	var seen []string
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		if e.Tenant != demoRetail {
			continue
		}
		seen = append(seen, e.Event)
		line := fmt.Sprintf("%s %s by %s", e.Tenant, strings.TrimPrefix(e.Event, "tenant_"), e.By)
		if e.Cause != nil {
			line += fmt.Sprintf(" (%s, dead letter %s)", e.Cause.Message, e.Cause.DeadLetterID)
		}
		fmt.Fprintln(w, line)
	}
	if strings.Join(seen, ",") != tenancy.EventPaused+","+tenancy.EventResumed {
		return fmt.Errorf("demo: %s's circuit breaker events = %v, want a pause then a resume", demoRetail, seen)
	}
	return nil
}
