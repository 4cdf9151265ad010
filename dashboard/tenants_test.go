package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/outcome"
	"github.com/vlensq/vlensq/tenancy"
	"github.com/vlensq/vlensq/vlens"
)

// tenantsBundle is a dashboard that knows two tenants of its own: busy, which
// has held tasks, and broke, whose breaker tripped.
type tenantsBundle struct {
	*testBundle
	busy, broke string
	states      *tenancy.States
}

func setupTenants(t *testing.T, mods ...func(*Config)) *tenantsBundle {
	t.Helper()
	tb := &tenantsBundle{busy: unique("busy"), broke: unique("broke")}
	set, err := vlens.NewTenantSet(
		vlens.Tenant{Name: tb.busy, APIKey: "k", Username: "u", Password: "p", RatePerSecond: 5, RatePerMinute: 40, Weight: 3},
		vlens.Tenant{Name: tb.broke, APIKey: "k", Username: "u", Password: "p"},
	)
	if err != nil {
		t.Fatal(err)
	}
	tb.testBundle = setup(t, append([]func(*Config){func(c *Config) { c.Tenants = set }}, mods...)...)
	if tb.states, err = tenancy.NewStates(tenancy.StatesConfig{Redis: tb.rdb}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Leave no paused tenant behind for the banners of other tests.
		for _, n := range []string{tb.busy, tb.broke} {
			_ = tb.states.Resume(context.Background(), n, "test")
		}
	})
	return tb
}

// hold parks n tasks of tenant in a queue of their own and holds them, due
// a minute ago.
func (tb *tenantsBundle) hold(tenant string, n int) {
	t := tb.t
	t.Helper()
	q := unique("q")
	cl := asynq.NewClientFromRedisClient(tb.rdb)
	fair, err := tenancy.New(tenancy.Config{Redis: tb.rdb})
	if err != nil {
		t.Fatal(err)
	}
	due := time.Now().Add(-time.Minute)
	for i := range n {
		id := fmt.Sprintf("%s-%d", q, i)
		payload, _ := json.Marshal(map[string]string{"tenant": tenant})
		if _, err := cl.Enqueue(asynq.NewTask("ocr:id_front", payload), asynq.Queue(q), asynq.TaskID(id), asynq.ProcessAt(tenancy.ParkAt)); err != nil {
			t.Fatal(err)
		}
		if err := fair.Hold(context.Background(), nil, q, tenant, id, due); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		insp := asynq.NewInspectorFromRedisClient(tb.rdb)
		_ = insp.DeleteQueue(q, true)
		tb.rdb.Del(context.Background(), "vlensq:{"+q+"}:fair:h:"+tenant, "vlensq:{"+q+"}:fair:due")
	})
}

// trip pauses broke by its breaker, with a real dead-letter record as the
// evidence, and returns the record's id.
func (tb *tenantsBundle) trip() string {
	t := tb.t
	t.Helper()
	dl := tb.add(func(r *deadletter.Record) {
		r.Tenant, r.ErrorCode, r.ErrorMessage, r.Category = tb.broke, 4002, "Bundle balance exhausted", "account"
	})
	ctx := context.Background()
	ok, err := tb.states.Trip(ctx, tb.broke, tenancy.Cause{Code: 4002, HTTPStatus: 200, Message: "Bundle balance exhausted", Category: "account"})
	if err != nil || !ok {
		t.Fatalf("Trip = %v, %v", ok, err)
	}
	tb.states.Tripped(ctx, tb.broke, dl)
	return dl
}

func TestTenantsPageShowsBacklogAndBreakerCause(t *testing.T) {
	tb := setupTenants(t)
	tb.hold(tb.busy, 2)
	dl := tb.trip()

	page := tb.get("/tenants/", http.StatusOK)
	busy := tenantRowOf(t, page, tb.busy)
	if !regexp.MustCompile(`>1m\d+s</span>`).MatchString(busy) {
		t.Errorf("row of %s does not show its oldest task waiting about a minute:\n%s", tb.busy, busy)
	}
	for _, want := range []string{`class="num backlog">2<`, "5/s, 40/min", `<td class="num">3</td>`, `action="/tenants/` + tb.busy + `/pause"`} {
		if !strings.Contains(busy, want) {
			t.Errorf("row of %s lacks %q:\n%s", tb.busy, want, busy)
		}
	}
	broke := tenantRowOf(t, page, tb.broke)
	for _, want := range []string{"paused", "account", "4002", "Bundle balance exhausted", `href="/dlq/` + dl + `"`, "next probe", `action="/tenants/` + tb.broke + `/resume"`} {
		if !strings.Contains(broke, want) {
			t.Errorf("row of %s lacks %q:\n%s", tb.broke, want, broke)
		}
	}
	if !strings.Contains(page, `href="/tenants/"`) {
		t.Error("the layout has no link to the tenants page")
	}
	// The history shows the breaker's pause.
	if h := page[strings.Index(page, `id="tenant-events"`):]; !strings.Contains(h, tb.broke) || !strings.Contains(h, "breaker") {
		t.Errorf("history lacks the breaker's pause of %s", tb.broke)
	}
	// The dead-letter record the link points to exists.
	tb.get("/dlq/"+dl, http.StatusOK)
}

// tenantRowOf returns the table row of tenant on the tenants page.
func tenantRowOf(t *testing.T, page, tenant string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<tr id="tenant-` + regexp.QuoteMeta(tenant) + `".*?</tr>`).FindString(page)
	if m == "" {
		t.Fatalf("the tenants page has no row for %s:\n%s", tenant, page)
	}
	return m
}

func TestBannerNamesPausedTenantsOnEveryPage(t *testing.T) {
	tb := setupTenants(t)
	dl := tb.trip()
	rec := tb.add(nil)
	for _, path := range []string{"/dlq/", "/dlq/" + rec, "/tenants/"} {
		page := tb.get(path, http.StatusOK)
		i := strings.Index(page, `id="paused-banner"`)
		if i < 0 {
			t.Fatalf("%s has no paused-tenants banner", path)
		}
		banner := page[i : i+strings.Index(page[i:], "</div>")]
		for _, want := range []string{tb.broke, "code 4002", "Bundle balance exhausted", "dead letter " + dl, `href="/tenants/"`} {
			if !strings.Contains(banner, want) && !strings.Contains(banner, strings.ReplaceAll(want, `"`, "&#34;")) {
				t.Errorf("banner on %s lacks %q:\n%s", path, want, banner)
			}
		}
		if strings.Contains(banner, tb.busy) {
			t.Errorf("banner on %s names the running tenant %s", path, tb.busy)
		}
	}
	// Not before sign-in: the login page names no tenant.
	_, login := tb.do(nil, http.MethodGet, "/login", nil, nil)
	if strings.Contains(login, tb.broke) {
		t.Error("the login page names a paused tenant")
	}
}

func TestPauseAndResumeFromTheTenantsPage(t *testing.T) {
	tb := setupTenants(t)
	c := tb.client()
	tb.login(c)
	_, page := tb.do(c, http.MethodGet, "/tenants/", nil, nil)
	token := csrfOf(t, page)
	form := func(v url.Values) *strings.Reader { return strings.NewReader(v.Encode()) }
	hdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	ctx := context.Background()
	start := time.Now()

	// Without the CSRF token: refused, nothing paused.
	resp, body := tb.do(c, http.MethodPost, "/tenants/"+tb.busy+"/pause", form(url.Values{"reason": {"x"}}), hdr)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "CSRF") {
		t.Fatalf("pause without CSRF = %d, want 403; body: %s", resp.StatusCode, body)
	}
	if _, paused, _ := tb.states.Get(ctx, tb.busy); paused {
		t.Fatal("a POST without the CSRF token paused the tenant")
	}

	resp, body = tb.do(c, http.MethodPost, "/tenants/"+tb.busy+"/pause", form(url.Values{"csrf_token": {token}, "reason": {"customer asked to stop"}}), hdr)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/tenants/?paused="+tb.busy {
		t.Fatalf("pause = %d to %q, want 303 to the tenants page; body: %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	p, paused, err := tb.states.Get(ctx, tb.busy)
	if err != nil || !paused || p.By != "dashboard:"+testUser || p.Reason != "customer asked to stop" {
		t.Fatalf("after pause: %+v paused=%v err=%v; want paused by dashboard:%s with the reason", p, paused, err, testUser)
	}
	_, page = tb.do(c, http.MethodGet, resp.Header.Get("Location"), nil, nil)
	if row := tenantRowOf(t, page, tb.busy); !strings.Contains(row, "dashboard:"+testUser) || !strings.Contains(row, "customer asked to stop") || !strings.Contains(row, "/resume") {
		t.Errorf("row after pause lacks who, why or the resume button:\n%s", row)
	}
	if !strings.Contains(page, `id="notice"`) {
		t.Error("no notice after the pause")
	}
	ev := tenantEventOnStream(t, tb, tb.busy, tenancy.EventPaused, start)
	if ev["by"] != "dashboard:"+testUser || ev["reason"] != "customer asked to stop" {
		t.Errorf("outcome stream event = %v", ev)
	}

	resp, body = tb.do(c, http.MethodPost, "/tenants/"+tb.busy+"/resume", form(url.Values{"csrf_token": {token}}), hdr)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("resume = %d; body: %s", resp.StatusCode, body)
	}
	if _, paused, _ := tb.states.Get(ctx, tb.busy); paused {
		t.Fatal("the tenant is still paused after resume")
	}
	if ev := tenantEventOnStream(t, tb, tb.busy, tenancy.EventResumed, start); ev["by"] != "dashboard:"+testUser {
		t.Errorf("resume event = %v", ev)
	}
	events, err := tb.states.Events(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, e := range events {
		if e.Tenant == tb.busy {
			seen = append(seen, e.Event+" by "+e.By)
		}
	}
	want := []string{"tenant_resumed by dashboard:alice", "tenant_paused by dashboard:alice"}
	if strings.Join(seen, ";") != strings.Join(want, ";") {
		t.Errorf("history of %s = %v, want %v", tb.busy, seen, want)
	}

	// Resuming a running tenant says so.
	resp, body = tb.do(c, http.MethodPost, "/tenants/"+tb.busy+"/resume", form(url.Values{"csrf_token": {token}}), hdr)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "is not paused") {
		t.Errorf("second resume = %d, want 409 naming the state; body: %s", resp.StatusCode, body)
	}
}

// tenantEventOnStream finds the newest event of tenant on the outcome stream
// since start.
func tenantEventOnStream(t *testing.T, tb *tenantsBundle, tenant, event string, start time.Time) map[string]any {
	t.Helper()
	msgs, err := tb.rdb.XRange(context.Background(), outcome.Stream, strconv.FormatInt(start.Add(-time.Second).UnixMilli(), 10), "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if v := msgs[i].Values; v["tenant"] == tenant && v["event"] == event {
			return v
		}
	}
	t.Fatalf("no %s event of %s on %s", event, tenant, outcome.Stream)
	return nil
}

func TestPausingAnUnknownTenantNamesIt(t *testing.T) {
	tb := setupTenants(t)
	nobody := unique("nobody")
	c := tb.client()
	token := tb.login(c)
	resp, body := tb.do(c, http.MethodPost, "/tenants/"+nobody+"/pause",
		strings.NewReader(url.Values{"csrf_token": {token}}.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "Unknown tenant &#34;"+nobody+"&#34;") {
		t.Errorf("page pause of an unknown tenant = %d; body: %s", resp.StatusCode, body)
	}
	out := tb.postJSON("/api/tenants/"+nobody+"/pause", map[string]string{"reason": "x"}, http.StatusNotFound)
	var e apiError
	if err := json.Unmarshal([]byte(out), &e); err != nil || e.Field != "name" || !strings.Contains(e.Error, `unknown tenant "`+nobody+`"`) {
		t.Errorf("API pause of an unknown tenant = %s", out)
	}
	if _, paused, _ := tb.states.Get(context.Background(), nobody); paused {
		t.Error("an unknown tenant was paused")
	}
}

func TestTenantActionsRefusedWhenReadOnly(t *testing.T) {
	tb := setupTenants(t, func(c *Config) { c.ReadOnly, c.Requeue = true, nil })
	page := tb.get("/tenants/", http.StatusOK)
	if strings.Contains(page, "/pause\"") || strings.Contains(page, "/resume\"") {
		t.Error("the read-only tenants page shows pause or resume buttons")
	}
	c := tb.client()
	token := tb.login(c)
	resp, _ := tb.do(c, http.MethodPost, "/tenants/"+tb.busy+"/pause",
		strings.NewReader(url.Values{"csrf_token": {token}}.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("page pause in read-only mode = %d, want 403", resp.StatusCode)
	}
	tb.postJSON("/api/tenants/"+tb.busy+"/pause", map[string]string{}, http.StatusForbidden)
	tb.trip()
	tb.postJSON("/api/tenants/"+tb.broke+"/resume", nil, http.StatusForbidden)
	ctx := context.Background()
	if _, paused, _ := tb.states.Get(ctx, tb.busy); paused {
		t.Error("read-only mode paused a tenant")
	}
	if _, paused, _ := tb.states.Get(ctx, tb.broke); !paused {
		t.Error("read-only mode resumed a tenant")
	}
}

func TestTenantsAPI(t *testing.T) {
	tb := setupTenants(t)
	tb.hold(tb.busy, 2)
	dl := tb.trip()

	var list tenantsResponse
	if err := json.Unmarshal([]byte(tb.get("/api/tenants", http.StatusOK)), &list); err != nil {
		t.Fatal(err)
	}
	byName := map[string]tenancy.Status{}
	for _, s := range list.Tenants {
		byName[s.Tenant] = s
	}
	if s := byName[tb.busy]; s.State != "running" || s.Backlog != 2 || s.Ready != 2 || s.Weight != 3 || s.RatePerSecond != 5 || s.OldestWaiting.IsZero() {
		t.Errorf("busy = %+v", s)
	}
	if s := byName[tb.broke]; s.State != "paused" || s.Pause == nil || s.Pause.Cause == nil || s.Pause.Cause.Code != 4002 || s.Pause.Cause.DeadLetterID != dl {
		t.Errorf("broke = %+v", s)
	}

	// Bearer: no CSRF token needed.
	out := tb.postJSON("/api/tenants/"+tb.busy+"/pause", map[string]string{"reason": "maintenance"}, http.StatusOK)
	var st tenancy.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.State != "paused" || st.Pause.By != "dashboard:token" || st.Pause.Reason != "maintenance" {
		t.Errorf("pause answer = %s", out)
	}
	tb.postJSON("/api/tenants/"+tb.broke+"/resume", nil, http.StatusOK)
	if _, paused, _ := tb.states.Get(context.Background(), tb.broke); paused {
		t.Error("API resume left the tenant paused")
	}
	tb.postJSON("/api/tenants/"+tb.broke+"/resume", nil, http.StatusConflict)

	// Bad input names the field.
	out = tb.postJSON("/api/tenants/"+tb.busy+"/pause", map[string]string{"reason": strings.Repeat("x", MaxReasonLength+1)}, http.StatusBadRequest)
	if !strings.Contains(out, `"field":"reason"`) {
		t.Errorf("long reason = %s", out)
	}
	tb.postJSON("/api/tenants/"+tb.busy+"/pause", map[string]string{"why": "x"}, http.StatusBadRequest)

	// A browser session needs the CSRF header.
	c := tb.client()
	token := tb.login(c)
	hdr := map[string]string{"Content-Type": "application/json"}
	if resp, _ := tb.do(c, http.MethodPost, "/api/tenants/"+tb.busy+"/resume", nil, hdr); resp.StatusCode != http.StatusForbidden {
		t.Errorf("session resume without CSRF = %d, want 403", resp.StatusCode)
	}
	hdr[csrfHeader] = token
	if resp, body := tb.do(c, http.MethodPost, "/api/tenants/"+tb.busy+"/resume", nil, hdr); resp.StatusCode != http.StatusOK {
		t.Errorf("session resume with CSRF = %d; body: %s", resp.StatusCode, body)
	}
}

func TestCollectorReportsTenants(t *testing.T) {
	tb := setupTenants(t)
	tb.hold(tb.busy, 4)
	tb.trip()
	tb.postJSON("/api/tenants/"+tb.busy+"/pause", nil, http.StatusOK)
	tb.postJSON("/api/tenants/"+tb.busy+"/resume", nil, http.StatusOK)

	body := tb.get("/metrics", http.StatusOK)
	value := func(metric, tenant string) float64 {
		t.Helper()
		m := regexp.MustCompile(`(?m)^` + metric + `\{tenant="` + regexp.QuoteMeta(tenant) + `"\} (\S+)$`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("/metrics has no %s of %s", metric, tenant)
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		return v
	}
	for _, c := range []struct {
		metric, tenant string
		want           float64
	}{
		{"vlensq_tenant_backlog", tb.busy, 4}, {"vlensq_tenant_ready", tb.busy, 4}, {"vlensq_tenant_running", tb.busy, 0},
		{"vlensq_tenant_paused", tb.busy, 0}, {"vlensq_tenant_paused", tb.broke, 1}, {"vlensq_tenant_backlog", tb.broke, 0},
		{"vlensq_tenant_oldest_waiting_seconds", tb.broke, 0},
	} {
		if got := value(c.metric, c.tenant); got != c.want {
			t.Errorf("%s{tenant=%s} = %g, want %g", c.metric, c.tenant, got, c.want)
		}
	}
	if got := value("vlensq_tenant_oldest_waiting_seconds", tb.busy); got < 59 || got > 600 {
		t.Errorf("oldest waiting of %s = %gs, want about 60", tb.busy, got)
	}
	if !strings.Contains(body, `vlensq_collector_up{source="tenants"} 1`) {
		t.Error(`vlensq_collector_up{source="tenants"} is not 1`)
	}
	for _, ev := range []string{"tenant_paused", "tenant_resumed"} {
		if !strings.Contains(body, `vlensq_tenant_events_total{event="`+ev+`",tenant="`+tb.busy+`"} 1`) {
			t.Errorf("vlensq_tenant_events_total does not count the dashboard's %s", ev)
		}
	}
}

func TestTenantsWithoutATenantsFile(t *testing.T) {
	b := setup(t)
	tb := &tenantsBundle{testBundle: b, busy: unique("busy")}
	var err error
	if tb.states, err = tenancy.NewStates(tenancy.StatesConfig{Redis: b.rdb}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tb.states.Resume(context.Background(), tb.busy, "test") })
	tb.hold(tb.busy, 1)
	row := tenantRowOf(t, tb.get("/tenants/", http.StatusOK), tb.busy)
	rps, rpm := vlens.Limits(vlens.Tenant{})
	if want := fmt.Sprintf("%d/s, %d/min", rps, rpm); !strings.Contains(row, want) || !strings.Contains(row, `class="num backlog">1<`) {
		t.Errorf("a tenant known only by its held task shows no backlog or default rate %q:\n%s", want, row)
	}
	tb.postJSON("/api/tenants/"+tb.busy+"/pause", nil, http.StatusOK)
	if _, paused, _ := tb.states.Get(context.Background(), tb.busy); !paused {
		t.Error("pause without a tenants file did not pause")
	}
}
