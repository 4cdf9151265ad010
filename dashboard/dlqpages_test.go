package dashboard

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/outcome"
)

var rowID = regexp.MustCompile(`<tr data-id="([^"]+)">`)

func rowIDs(page string) []string {
	var ids []string
	for _, m := range rowID.FindAllStringSubmatch(page, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

var nextLink = regexp.MustCompile(`href="([^"]+)" id="next-page"`)

func TestListPage(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) { c.PageSize = 2 })
	c3011, c5002, _, _ := mixedRecords(b)

	t.Run("filter, counts and pages", func(t *testing.T) {
		path := "/dlq/?" + url.Values{"tenant": {b.tenant}, "code": {"3011"}}.Encode()
		var got []string
		for pages := 0; ; pages++ {
			page := b.get(path, http.StatusOK)
			if pages == 0 {
				if !strings.Contains(page, `<div class="num" id="matching">5</div>`) {
					t.Error("the list does not show 5 matching records")
				}
				if !strings.Contains(page, `<div class="num" id="total">9</div>`) {
					t.Error("the list does not show the 9 records of the store")
				}
				if !strings.Contains(page, `value="`+b.tenant+`"`) {
					t.Error("the filter form lost the tenant")
				}
			}
			got = append(got, rowIDs(page)...)
			m := nextLink.FindStringSubmatch(page)
			if m == nil {
				break
			}
			path = html.UnescapeString(m[1])
			if !strings.Contains(path, "code=3011") {
				t.Fatalf("next page link %q lost the filter", path)
			}
		}
		if len(got) != 5 || !sameSet(got, c3011) {
			t.Errorf("pages show %v, want %v", got, c3011)
		}
	})
	t.Run("breakdowns link to their filter", func(t *testing.T) {
		page := b.get("/dlq/", http.StatusOK)
		for _, want := range []string{
			`href="/dlq/?category=validation">validation</a><span class="n">2</span>`,
			`href="/dlq/?code=3011">3011</a><span class="n">6</span>`,
			`href="/dlq/?code=0">no code (0)</a><span class="n">1</span>`,
		} {
			if !strings.Contains(page, want) {
				t.Errorf("list page lacks %s", want)
			}
		}
	})
	t.Run("category and date range from the form", func(t *testing.T) {
		since := time.Now().UTC().Add(-2 * time.Hour).Format("2006-01-02 15:04")
		page := b.get("/dlq/?"+url.Values{"tenant": {b.tenant}, "category": {"validation"}, "since": {since}}.Encode(), http.StatusOK)
		if got := rowIDs(page); !sameSet(got, c5002) {
			t.Errorf("rows %v, want %v", got, c5002)
		}
		if !strings.Contains(page, `<option selected>validation</option>`) {
			t.Error("the category select lost its value")
		}
	})
	t.Run("bad filter names the field", func(t *testing.T) {
		page := b.get("/dlq/?code=abc", http.StatusBadRequest)
		if !strings.Contains(page, `id="filter-error"`) || !strings.Contains(page, "code") {
			t.Error("no error naming the code field")
		}
	})
	t.Run("export links carry the filter", func(t *testing.T) {
		page := b.get("/dlq/?tenant="+url.QueryEscape(b.tenant)+"&code=3011", http.StatusOK)
		want := `href="/api/dlq/export?format=csv&amp;code=3011&amp;tenant=` + url.QueryEscape(b.tenant) + `"`
		if !strings.Contains(page, want) {
			t.Errorf("no CSV link %s", want)
		}
	})
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestRecordPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.add(nil)

	page := b.get("/dlq/"+id, http.StatusOK)
	for _, want := range []string{
		`<pre id="ticket-text">Vlens support ticket`,
		"1. Endpoint: POST https://api.vlenseg.com/v1/ocr/id/front",
		"4. Tenant: " + b.tenant,
		"Re-capture with better lighting",                      // resolution
		"<code>xrid-" + b.tenant + "</code>",                   // attempt history
		`&#34;image&#34;: &#34;[redacted 412000 B`,             // redacted request, pretty-printed
		`&#34;error_message&#34;: &#34;card not detected&#34;`, // envelope
		"Never requeued.",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("record page lacks %s", want)
		}
	}
	if strings.Contains(page, "CANARYIMG") || strings.Contains(page, canarySecret) {
		t.Error("the task payload reached the record page")
	}
	b.get("/dlq/01NOPE", http.StatusNotFound)

	// After a requeue the page follows the new task: first not in the
	// queue (the test's Requeue enqueues nothing), then its outcome.
	b.postJSON("/api/dlq/requeue", map[string]any{"ids": []string{id}}, http.StatusOK)
	page = b.get("/dlq/"+id, http.StatusOK)
	if !strings.Contains(page, "<code>"+id+":rq1</code>") || !strings.Contains(page, "not in the queue") || !strings.Contains(page, "dashboard:token") {
		t.Error("the requeue is not listed with its state")
	}
	pub := outcome.NewPublisher(b.rdb, nil, outcome.Config{})
	if _, err := pub.Publish(context.Background(), outcome.Outcome{TaskID: id + ":rq1", Status: outcome.StatusSucceeded, Class: "success"}, ""); err != nil {
		t.Fatal(err)
	}
	if page = b.get("/dlq/"+id, http.StatusOK); !strings.Contains(page, `state-succeeded">succeeded`) {
		t.Error("the requeued task's success is not shown")
	}
}

var hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// confirmForm returns the hidden fields of a confirmation page.
func confirmForm(t *testing.T, page string) url.Values {
	t.Helper()
	if !strings.Contains(page, `id="confirm-form"`) {
		t.Fatalf("no confirmation form:\n%s", page)
	}
	v := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(page, -1) {
		v.Add(m[1], html.UnescapeString(m[2]))
	}
	return v
}

func TestRequeuePages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, c5002, _, _ := mixedRecords(b)
	id := b.add(nil)
	c := b.client()
	b.login(c)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}

	t.Run("one record: dry run, then confirm", func(t *testing.T) {
		_, page := b.do(c, http.MethodGet, "/dlq/requeue?id="+id, nil, nil)
		if !strings.Contains(page, "Dry run: <strong>1</strong> of 1 would be requeued") {
			t.Fatalf("confirmation page:\n%s", page)
		}
		if len(b.requeueCalls()) != 0 {
			t.Fatal("the confirmation page requeued")
		}
		v := confirmForm(t, page)
		resp, page := b.do(c, http.MethodPost, "/dlq/requeue", strings.NewReader(v.Encode()), form)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, "<strong>1</strong> requeued") {
			t.Fatalf("requeue = %d:\n%s", resp.StatusCode, page)
		}
		if calls := b.requeueCalls(); len(calls) != 1 || calls[0].RecordID != id {
			t.Errorf("calls %+v", calls)
		}
		rec, _ := b.store.Get(context.Background(), id)
		if len(rec.Requeued) != 1 || rec.Requeued[0].By != "dashboard:"+testUser {
			t.Errorf("requeue recorded as %+v, want by dashboard:%s", rec.Requeued, testUser)
		}
	})
	t.Run("filter: the confirmed set is the one counted", func(t *testing.T) {
		_, page := b.do(c, http.MethodGet, "/dlq/requeue?"+url.Values{"tenant": {b.tenant}, "code": {"5002"}}.Encode(), nil, nil)
		if !strings.Contains(page, "Dry run: <strong>2</strong> of 2 would be requeued") {
			t.Fatalf("confirmation page:\n%s", page)
		}
		v := confirmForm(t, page)
		if v.Get("until") == "" {
			t.Fatal("the confirmation does not pin the selection in time")
		}
		// A record that fails after the confirmation page is not requeued.
		late := b.add(func(r *deadletter.Record) {
			r.FailedAt, r.ErrorCode, r.Category = time.Now().UTC().Add(time.Second), 5002, "validation"
		})
		before := len(b.requeueCalls())
		_, page = b.do(c, http.MethodPost, "/dlq/requeue", strings.NewReader(v.Encode()), form)
		if !strings.Contains(page, "<strong>2</strong> requeued") {
			t.Fatalf("result page:\n%s", page)
		}
		var got []string
		for _, call := range b.requeueCalls()[before:] {
			got = append(got, call.RecordID)
		}
		if !sameSet(got, c5002) {
			t.Errorf("requeued %v, want %v (not %s)", got, c5002, late)
		}
	})
	t.Run("no selection", func(t *testing.T) {
		if resp, _ := b.do(c, http.MethodGet, "/dlq/requeue", nil, nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("requeue of everything = %d, want 400", resp.StatusCode)
		}
	})
}

func TestPurgePages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.add(nil)
	keep := b.add(nil)
	c := b.client()
	b.login(c)

	_, page := b.do(c, http.MethodGet, "/dlq/purge?id="+id, nil, nil)
	if !strings.Contains(page, "Dry run: <strong>1</strong> records would be deleted") {
		t.Fatalf("confirmation page:\n%s", page)
	}
	b.get("/api/dlq/"+id, http.StatusOK)
	v := confirmForm(t, page)
	_, page = b.do(c, http.MethodPost, "/dlq/purge", strings.NewReader(v.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if !strings.Contains(page, "<strong>1</strong> records deleted") {
		t.Fatalf("result page:\n%s", page)
	}
	b.get("/api/dlq/"+id, http.StatusNotFound)
	b.get("/api/dlq/"+keep, http.StatusOK)
}

func TestRecordPageShowsAFlowsSteps(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.add(func(r *deadletter.Record) {
		r.Type, r.Step = "verify:identity", "liveness"
		r.Steps = []deadletter.Step{
			{Step: "front", Status: deadletter.StepSucceeded, Endpoint: deadletter.Endpoint{Method: "POST", URL: "/api/DigitalIdentity/verify/id/front"}},
			{Step: "back", Status: deadletter.StepSucceeded, Endpoint: deadletter.Endpoint{Method: "POST", URL: "/api/DigitalIdentity/verify/id/back"}},
			{Step: "liveness", Status: deadletter.StepFailed, Endpoint: deadletter.Endpoint{Method: "POST", URL: "/api/DigitalIdentity/verify/liveness/multi"}},
		}
	})
	page := b.get("/dlq/"+id, http.StatusOK)
	for _, want := range []string{
		`<dd id="failed-step">liveness</dd>`,
		`<tr class="step-succeeded"><td>front</td>`,
		`<tr class="step-failed"><td>liveness</td><td class="state state-failed">failed</td><td><code>POST /api/DigitalIdentity/verify/liveness/multi</code>`,
		`Step &#34;liveness&#34; of a verify:identity task`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("record page lacks %s", want)
		}
	}
	// A single-call record has no steps section.
	if page := b.get("/dlq/"+b.add(nil), http.StatusOK); strings.Contains(page, `id="steps"`) {
		t.Error("a single-call record shows steps")
	}
}
