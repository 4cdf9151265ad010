package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
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

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/vlensq/vlensq/dashboard"
	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/handlers"
	"github.com/vlensq/vlensq/internal/app"
	"github.com/vlensq/vlensq/internal/config"
	"github.com/vlensq/vlensq/internal/metrics"
	"github.com/vlensq/vlensq/outcome"
	"github.com/vlensq/vlensq/tasks"
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
It exits 1 if any task ended differently from what its scenario expects.`,
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
	// then builds a follow-up task from this task's result (liveness after
	// the ID steps, OTP after the business request).
	then func(result json.RawMessage) []demoTask

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
	tenantList := vlenstest.DemoTenants()
	fake := vlenstest.NewServer(vlenstest.Options{Tenants: tenantList})
	defer fake.Close()
	tenants, err := vlens.NewTenantSet(tenantList...)
	if err != nil {
		return err
	}
	m := metrics.New()
	a, err := app.New(app.Options{
		Redis: r, Tenants: tenants, VlensBaseURL: fake.URL, Logger: &log,
		Policy: handlers.Policy{}, Metrics: m,
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

	mix := demoMix(bank, telecom, user)
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	var done []demoTask
	results := map[string]outcome.Outcome{}
	lastID := "0"
	for round := 1; len(mix) > 0; round++ {
		for i := range mix {
			info, err := a.Tasks.Enqueue(ctx, mix[i].typ, mix[i].payload, tasks.EnqueueOptions{})
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
				next = append(next, t.then(results[t.id].Result)...)
			}
		}
		done = append(done, mix...)
		mix = next
	}
	if err := demoReport(ctx, g.stdout, a.DLQ, done, results); err != nil {
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
	d, err := dashboard.New(dashboard.Config{Redis: a.Redis, DLQ: a.DLQ, Requeue: a.RequeueFunc(), Metrics: m, Token: token, Logger: log, Tenants: a.Tenants})
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

func demoMix(bank, telecom, user string) []demoTask {
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
	txn := "7f9c2ba4-e88f-4a1d-9c55-d0b0f2f4a001"
	front := ok("identity: ID front", tasks.TypeVerifyIDFront,
		&tasks.Payload{Tenant: bank, User: user, Image: img(2), TransactionID: txn, ClientTransactionID: "onboarding-1", GetExtractedData: &yes})
	back := ok("identity: ID back", tasks.TypeVerifyIDBack,
		&tasks.Payload{Tenant: bank, User: user, Image: img(3), TransactionID: txn, GetExtractedData: &yes})
	back.then = func(json.RawMessage) []demoTask {
		return []demoTask{ok("identity: liveness (after front and back)", tasks.TypeVerifyLiveness,
			&tasks.Payload{Tenant: bank, User: user, Face1: img(4), Face2: img(5), Face3: img(6), TransactionID: txn, GetExtractedData: &yes})}
	}
	create := ok("business: create a personal-loan request", tasks.TypeBusinessCreate, &tasks.Payload{
		Tenant: bank, User: user, TypeID: 2,
		GeoLocation: &tasks.GeoLocation{Latitude: 30.0444, Longitude: 31.2357}, UserDeviceUTCTime: time.Now().UTC().Format(time.RFC3339),
		RequestFieldsValues: map[string]any{"amount": 250000, "tenorMonths": 36},
	})
	create.then = func(result json.RawMessage) []demoTask {
		var r struct {
			Data struct {
				ID json.Number `json:"id"`
			} `json:"data"`
		}
		_ = json.Unmarshal(result, &r)
		geo := &tasks.GeoLocation{Latitude: 30.0444, Longitude: 31.2357}
		now := time.Now().UTC().Format(time.RFC3339)
		return []demoTask{
			ok("business: request signing OTP", tasks.TypeBusinessRequestOTP, &tasks.Payload{Tenant: bank, User: user, BusinessRequestID: r.Data.ID, GeoLocation: geo, UserDeviceUTCTime: now}),
			ok("business: request status", tasks.TypeBusinessStatus, &tasks.Payload{Tenant: bank, User: user, BusinessRequestID: r.Data.ID}),
			fail("business: wrong OTP code", tasks.TypeBusinessValidateOTP, &tasks.Payload{Tenant: bank, User: user, BusinessRequestID: r.Data.ID,
				OTPRequestID: "otp-1", OTPCode: "000000", GeoLocation: geo, UserDeviceUTCTime: now}, vlens.ClassPermanent, vlens.CategoryBusinessRequest),
		}
	}
	return []demoTask{
		front, back, create,
		ok("ocr: ID front", tasks.TypeOCRIDFront, ocr("kiosk-17")),
		ok("ocr: AML screening", tasks.TypeOCRAML, &tasks.Payload{Tenant: telecom, IDNumber: "29001011234567", Name: "Amira Hassan"}),
		ok("transient 503, then success", tasks.TypeOCRIDFront, ocr("sandbox:http503,ok#demo-1")),
		ok("HTML 502 from a gateway, then success", tasks.TypeOCRIDBack, ocr("sandbox:http502html,ok#demo-2")),
		ok("expired token: refresh, replay once", tasks.TypeVerifyIDFront,
			&tasks.Payload{Tenant: bank, User: user, Image: img(7), ClientTransactionID: "sandbox:expire,ok#demo-3"}),
		ok("throttled 429 (Retry-After 1), then success", tasks.TypeOCRIDFront, ocr("sandbox:http429:1,ok#demo-4")),
		fail("card not detected: 3011 only under services", tasks.TypeOCRIDFront, ocr("sandbox:services3011#demo-5"), vlens.ClassPermanent, vlens.CategoryIdentityVerification),
		fail("400 with error_descriptions", tasks.TypeOCRIDBack, ocr("sandbox:http400desc#demo-6"), vlens.ClassPermanent, vlens.CategoryValidation),
		fail("bundle balance exhausted (4002)", tasks.TypeOCRIDFront, ocr("sandbox:code:4002#demo-7"), vlens.ClassPermanent, vlens.CategoryAccount),
		fail("fake document", tasks.TypeOCRIDFront, ocr("sandbox:fake#demo-8"), vlens.ClassPermanent, vlens.CategoryIdentityVerification),
		fail("server keeps failing: retries exhausted", tasks.TypeOCRIDFront, ocr("sandbox:http500#demo-9"), vlens.ClassTransient, vlens.CategoryServer),
		fail("unknown code 9999", tasks.TypeOCRIDFront, ocr("sandbox:code:9999#demo-10"), vlens.ClassPermanent, vlens.CategoryUnknown),
	}
}
