package dashboard

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/hibiken/asynq"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/internal/app"
	"github.com/vlensq/vlensq/internal/redistest"
	"github.com/vlensq/vlensq/tasks"
	"github.com/vlensq/vlensq/vlens"
	"github.com/vlensq/vlensq/vlens/vlenstest"
)

// findChrome returns the browser to drive: VLENSQ_CHROME, or chromium /
// google-chrome on the PATH. A missing browser fails the test under CI and
// skips it elsewhere.
func findChrome(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("VLENSQ_CHROME"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "no chromium found for the browser test: apt-get install -y chromium (or set VLENSQ_CHROME)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// cspWatch records Content-Security-Policy violations of every page.
const cspWatch = `window.__csp = []; document.addEventListener("securitypolicyviolation",
  function (e) { window.__csp.push(e.violatedDirective + " " + e.blockedURI); });`

// TestBrowser drives the dashboard in headless chromium against a real
// worker and the fake Vlens: sign in, filter the dead letters, open one,
// copy its ticket, requeue it and see the task succeed, pause and resume
// the tenant on the tenants page (with the banner), then check that
// Asynqmon shows payloads redacted. With VLENSQ_SCREENSHOTS=dir it saves
// screenshots of the list, the record, the tenants page and Asynqmon there.
func TestBrowser(t *testing.T) {
	t.Parallel()
	chrome := findChrome(t)
	r := testRedis(t)
	ctx := context.Background()

	// The fake Vlens, a worker on its own queue, and a dead letter whose
	// task succeeds when run again (scenario: card not detected, then ok).
	bank := vlens.Tenant{Name: unique("bank"), APIKey: unique("key"), Username: "admin@bank.example", Password: unique("pw")}
	fake := vlenstest.NewTestServer(t, vlenstest.Options{Tenants: []vlens.Tenant{bank}})
	ts, err := vlens.NewTenantSet(bank)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(app.Options{
		Redis: r, Tenants: ts, VlensBaseURL: fake.URL,
		DeadLetters: deadletter.Config{Prefix: unique("browser-dlq")},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	queue := unique("browser")
	worker := a.NewServer(app.ServerOptions{Queues: map[string]int{queue: 1}, Concurrency: 4})
	if err := worker.Start(a.Mux()); err != nil {
		t.Fatal(err)
	}
	defer worker.Shutdown()
	for i, scenario := range []string{"services3011,ok", "http400desc"} {
		_, err := a.Tasks.Enqueue(ctx, tasks.TypeOCRIDFront, &tasks.Payload{
			Tenant: bank.Name, Image: tasks.InlineImage(vlenstest.SampleImage(i + 1)), Country: "EG",
			ClientTransactionID: "sandbox:" + scenario + "#" + unique("k"),
		}, tasks.EnqueueOptions{Queue: queue})
		if err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 30*time.Second, "two dead letters", func() bool {
		n, err := a.DLQ.Count(ctx, deadletter.Filter{Tenant: bank.Name})
		return err == nil && n == 2
	})

	// A task nobody processes, with an image and a secret in its payload,
	// for Asynqmon.
	aq := asynq.NewClient(redistest.Opt(t, redistest.DBDashboard))
	defer aq.Close()
	idle := unique("browser-idle")
	pending, err := aq.Enqueue(asynq.NewTask(tasks.TypeOCRIDFront, canaryPayload(t)), asynq.Queue(idle))
	if err != nil {
		t.Fatal(err)
	}

	d, err := New(Config{Redis: r, DLQ: a.DLQ, Requeue: a.RequeueFunc(), Users: map[string]string{testUser: aliceHash(t)}, Tenants: ts})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	srv := httptest.NewServer(d.Handler())
	defer srv.Close()
	base := srv.URL

	// The browser: the first Do starts it; later actions get the deadline.
	actx, cancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chrome), chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1400, 1000),
	)
	defer cancel()
	cctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(cctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspWatch})
		return err
	})); err != nil {
		t.Fatalf("start chromium (%s): %v", chrome, err)
	}
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(cctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name}, Setting: browser.PermissionSettingGranted, Origin: base,
		}); err != nil {
			t.Fatalf("grant %s: %v", name, err)
		}
	}
	bctx, cancel := context.WithTimeout(cctx, 60*time.Second)
	defer cancel()

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// follow runs steps that end in a page load (a click on a link or a
	// submit button) and waits for that load.
	follow := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if _, err := chromedp.RunResponse(bctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	eval := func(expr string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		return s
	}
	shots := os.Getenv("VLENSQ_SCREENSHOTS")
	screenshot := func(name string) {
		t.Helper()
		if shots == "" {
			return
		}
		buf, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(shots, name), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	noCSPViolations := func(where string) {
		t.Helper()
		if v := eval(`(window.__csp || []).join("; ")`); v != "" {
			t.Errorf("%s: Content-Security-Policy violations: %s", where, v)
		}
	}

	// Sign in: the list sends the browser to /login first.
	do("open the list",
		chromedp.Navigate(base+"/dlq/"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), testUser),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
	)
	follow("sign in", chromedp.Click(chromedp.ID("sign-in")))
	do("see the list", chromedp.WaitVisible(chromedp.ID("filters")))
	if loc := eval(`location.pathname`); loc != "/dlq/" {
		t.Errorf("after sign-in at %s, want /dlq/", loc)
	}

	// Filter the dead letters: the tenant and code 3011 leave one.
	do("fill the filter",
		chromedp.SetValue(chromedp.ID("f-tenant"), bank.Name),
		chromedp.SetValue(chromedp.ID("f-code"), "3011"),
	)
	follow("filter", chromedp.Click(chromedp.ID("apply-filter")))
	do("see the rows", chromedp.WaitVisible(chromedp.CSS("tr[data-id]")))
	rows := eval(`String(document.querySelectorAll("tr[data-id]").length)`)
	if q := eval(`location.search`); !strings.Contains(q, "code=3011") || rows != "1" || text("#matching") != "1" {
		t.Fatalf("filtered list at %s shows %s rows, %q matching; want 1", q, rows, text("#matching"))
	}
	screenshot("dlq-list.png")
	noCSPViolations("list page")

	// Open the record and copy its ticket.
	follow("open the record", chromedp.Click(chromedp.CSS("a.record-link")))
	do("see the ticket", chromedp.WaitVisible(chromedp.ID("ticket-text")))
	ticket := text("#ticket-text")
	for _, want := range []string{
		"1. Endpoint: POST " + fake.URL + "/v1/ocr/id/front",
		"2. Request body (images and personal data redacted)", "[redacted",
		"error_code 3011", "4. Tenant: " + bank.Name, "Time (UTC): ",
	} {
		if !strings.Contains(ticket, want) {
			t.Errorf("ticket block lacks %q:\n%s", want, ticket)
		}
	}
	do("copy the ticket", chromedp.Click(chromedp.ID("copy-ticket")))
	status, err := chromedp.Run(bctx, chromedp.Poll[string](`document.getElementById("copy-status").textContent || null`, chromedp.WithPollingTimeout(5*time.Second)))
	if err != nil {
		t.Fatalf("copy status: %v", err)
	}
	clip, err := chromedp.Run(bctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	switch {
	case err != nil:
		// A headless build may keep the clipboard to itself; the button
		// must then at least have selected the ticket.
		t.Logf("clipboard not readable (%v); checking the selection instead", err)
		clip = eval(`window.getSelection().toString()`)
	case status != "Copied to the clipboard.":
		t.Errorf("copy status %q", status)
	}
	if strings.TrimSpace(clip) != strings.TrimSpace(ticket) {
		t.Errorf("copied text differs from the ticket block:\n%s\n---\n%s", clip, ticket)
	}
	noCSPViolations("record page")

	// Requeue it: a dry run first, then the confirmed requeue.
	follow("requeue", chromedp.Click(chromedp.ID("requeue")))
	do("see the dry run", chromedp.WaitVisible(chromedp.ID("confirm")))
	if s := text("#requeue-summary"); !strings.Contains(s, "Dry run: 1 of 1 would be requeued") {
		t.Errorf("dry run summary %q", s)
	}
	follow("confirm the requeue", chromedp.Click(chromedp.ID("confirm")))
	do("see the result", chromedp.WaitVisible(chromedp.ID("back")))
	if s := text("#requeue-summary"); !strings.Contains(s, "1 requeued") {
		t.Fatalf("requeue summary %q", s)
	}

	// The worker runs the requeued task; the fake answers ok this time.
	follow("back to the record", chromedp.Click(chromedp.ID("back")))
	do("see the requeues", chromedp.WaitVisible(chromedp.ID("requeues")))
	deadline := time.Now().Add(30 * time.Second)
	for {
		state := text("#requeues tbody td.state")
		if strings.HasPrefix(state, "succeeded") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the requeued task did not succeed: state %q", state)
		}
		time.Sleep(300 * time.Millisecond)
		follow("reload", chromedp.Reload())
	}
	screenshot("dlq-record.png")

	// Pause the tenant on the tenants page: the banner names it on every
	// page until it is resumed.
	row := `tr[id="tenant-` + bank.Name + `"]`
	follow("open the tenants page", chromedp.Navigate(base+"/tenants/"))
	do("type a reason", chromedp.SendKeys(chromedp.CSS(row+` input[name="reason"]`), "balance check"))
	follow("pause", chromedp.Click(chromedp.CSS(row+" button.pause")))
	do("see the banner", chromedp.WaitVisible(chromedp.ID("paused-banner")))
	if s := text("#paused-banner"); !strings.Contains(s, bank.Name) || !strings.Contains(s, "dashboard:"+testUser) || !strings.Contains(s, "balance check") {
		t.Errorf("banner after the pause: %q", s)
	}
	if s := text(row + " td.cause"); !strings.Contains(s, "balance check") {
		t.Errorf("cause cell after the pause: %q", s)
	}
	screenshot("tenants.png")
	noCSPViolations("tenants page")
	follow("resume", chromedp.Click(chromedp.CSS(row+" button.resume")))
	do("see the pause button again", chromedp.WaitVisible(chromedp.CSS(row+" button.pause")))

	// Asynqmon shows the idle task's payload redacted.
	do("open asynqmon", chromedp.Navigate(base+"/monitoring/queues/"+idle+"/tasks/"+pending.ID))
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`document.body.innerText.includes("[redacted") || null`, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("Asynqmon did not show the task's payload: %v; the page says:\n%s", err, eval(`document.body.innerText`))
	}
	html, err := chromedp.Run(bctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatal(err)
	}
	screenshot("monitoring.png")
	for _, c := range monitoringCanaries {
		if strings.Contains(html, c) {
			t.Errorf("Asynqmon's page shows %q", c)
		}
	}
	if !strings.Contains(html, "kiosk-17") {
		t.Error("Asynqmon's page does not show the payload's plain fields")
	}
	noCSPViolations("Asynqmon")
}
