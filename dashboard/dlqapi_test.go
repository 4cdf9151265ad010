package dashboard

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vlensq/vlensq/deadletter"
)

// mixedRecords adds 5 records (tenant, 3011), 2 (tenant, 5002, validation),
// 1 of another tenant (3011) and 1 exhausted transient failure of type
// ocr:id_back, failed a minute apart, newest last. It returns the ids by
// group.
func mixedRecords(b *testBundle) (code3011, code5002 []string, otherTenant, exhausted string) {
	base := time.Now().UTC().Add(-time.Hour)
	n := 0
	at := func() time.Time { n++; return base.Add(time.Duration(n) * time.Minute) }
	for range 5 {
		t := at()
		code3011 = append(code3011, b.add(func(r *deadletter.Record) { r.FailedAt = t }))
	}
	for range 2 {
		t := at()
		code5002 = append(code5002, b.add(func(r *deadletter.Record) {
			r.FailedAt, r.ErrorCode, r.ErrorMessage, r.Category = t, 5002, "image larger than 5 MB", "validation"
		}))
	}
	t := at()
	otherTenant = b.add(func(r *deadletter.Record) { r.FailedAt, r.Tenant = t, b.tenant+"-other" })
	t = at()
	exhausted = b.add(func(r *deadletter.Record) {
		r.FailedAt, r.ErrorCode, r.HTTPStatus, r.ErrorMessage = t, 0, 500, "HTTP 500"
		r.Class, r.Category, r.RetriesExhausted, r.Type, r.Attempts = "transient", "server", true, "ocr:id_back", 3
	})
	return code3011, code5002, otherTenant, exhausted
}

func listIDs(t *testing.T, body string) ([]string, string) {
	t.Helper()
	var page deadletter.Page
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatalf("decode page: %v\n%s", err, body)
	}
	ids := make([]string, len(page.Records))
	for i, r := range page.Records {
		ids[i] = r.ID
	}
	return ids, page.NextCursor
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestAPIListFilters(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c3011, c5002, other, exhausted := mixedRecords(b)
	q := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return "/api/dlq?" + v.Encode()
	}
	all := append(append(append([]string{}, c3011...), c5002...), exhausted)
	tests := []struct {
		desc string
		path string
		want []string
	}{
		{"tenant", q("tenant", b.tenant), all},
		{"tenant and code", q("tenant", b.tenant, "code", "3011"), c3011},
		{"code across tenants", q("code", "3011", "tenant", b.tenant+"-other"), []string{other}},
		{"category", q("tenant", b.tenant, "category", "validation"), c5002},
		{"class", q("tenant", b.tenant, "class", "transient"), []string{exhausted}},
		{"type", q("tenant", b.tenant, "type", "ocr:id_back"), []string{exhausted}},
		{"retries exhausted", q("tenant", b.tenant, "retries_exhausted", "true"), []string{exhausted}},
		{"no code", q("tenant", b.tenant, "code", "0"), []string{exhausted}},
		{"since as typed", q("tenant", b.tenant, "since", time.Now().UTC().Add(-time.Hour).Add(5*time.Minute+30*time.Second).Format("2006-01-02T15:04:05")), append(append([]string{}, c5002...), exhausted)},
		{"until as an age", q("tenant", b.tenant, "until", "1h"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, _ := listIDs(t, b.get(tt.path, http.StatusOK))
			if d := cmp.Diff(sorted(tt.want), sorted(got), cmpopts.EquateEmpty()); d != "" {
				t.Errorf("GET %s (-want +got):\n%s", tt.path, d)
			}
		})
	}

	t.Run("newest first", func(t *testing.T) {
		got, _ := listIDs(t, b.get(q("tenant", b.tenant, "code", "3011"), http.StatusOK))
		want := slices.Clone(c3011)
		slices.Reverse(want)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("order (-want +got):\n%s", d)
		}
	})
	t.Run("bad input names the field", func(t *testing.T) {
		for path, field := range map[string]string{
			q("code", "abc"): "code", q("category", "nope"): "category", q("since", "yesterday"): "since",
			q("limit", "0"): "limit", q("cursor", "garbage"): "cursor",
		} {
			var e apiError
			if err := json.Unmarshal([]byte(b.get(path, http.StatusBadRequest)), &e); err != nil || e.Field != field {
				t.Errorf("GET %s: error %+v, want field %q", path, e, field)
			}
		}
	})
}

func TestAPIListPagination(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c3011, c5002, _, exhausted := mixedRecords(b)
	want := append(append(append([]string{}, c3011...), c5002...), exhausted)
	var got []string
	cursor := ""
	pages := 0
	for {
		v := url.Values{"tenant": {b.tenant}, "limit": {"3"}, "cursor": {cursor}}
		ids, next := listIDs(t, b.get("/api/dlq?"+v.Encode(), http.StatusOK))
		pages++
		if len(ids) > 3 {
			t.Fatalf("page of %d records with limit 3", len(ids))
		}
		got = append(got, ids...)
		if next == "" {
			break
		}
		cursor = next
	}
	if pages != 3 {
		t.Errorf("%d pages for 8 records by 3, want 3", pages)
	}
	if d := cmp.Diff(sorted(want), sorted(got)); d != "" {
		t.Errorf("pages together (-want +got):\n%s", d)
	}
}

func TestAPIRecordAndTicket(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.add(nil)

	body := b.get("/api/dlq/"+id, http.StatusOK)
	var rec deadletter.Record
	if err := json.Unmarshal([]byte(body), &rec); err != nil || rec.ID != id || rec.Tenant != b.tenant {
		t.Fatalf("record %s: %v", body, err)
	}
	ticket := b.get("/api/dlq/"+id+"/ticket", http.StatusOK)
	for _, want := range []string{
		"1. Endpoint: POST https://api.vlenseg.com/v1/ocr/id/front",
		`"image": "[redacted 412000 B sha256:1a2b3c4d5e6f]"`,
		`error_code 3011, error_message "card not detected"`,
		`"error_code": 3011`,
		"4. Tenant: " + b.tenant,
		"Time (UTC): " + rec.FailedAt.Format("2006-01-02T15:04:05"),
		"X-Request-Id: xrid-" + b.tenant,
	} {
		if !strings.Contains(ticket, want) {
			t.Errorf("ticket lacks %q:\n%s", want, ticket)
		}
	}
	for _, s := range []string{body, ticket} {
		if strings.Contains(s, "CANARYIMG") || strings.Contains(s, canarySecret) {
			t.Error("the task payload reached a response")
		}
	}
	var e apiError
	if err := json.Unmarshal([]byte(b.get("/api/dlq/01NOPE/ticket", http.StatusNotFound)), &e); err != nil || e.Error == "" {
		t.Errorf("unknown record: %+v", e)
	}
	b.get("/api/dlq/01NOPE", http.StatusNotFound)
}

func decodeReport(t *testing.T, body string) deadletter.RequeueReport {
	t.Helper()
	var rep deadletter.RequeueReport
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatalf("decode report: %v\n%s", err, body)
	}
	return rep
}

func TestAPIRequeue(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, c5002, _, _ := mixedRecords(b)
	id := b.add(nil)

	t.Run("dry run enqueues nothing", func(t *testing.T) {
		rep := decodeReport(t, b.postJSON("/api/dlq/requeue", map[string]any{"ids": []string{id}, "dry_run": true}, http.StatusOK))
		if !rep.DryRun || rep.Requeued != 1 || rep.Items[0].NewTaskID != id+":rq1" {
			t.Errorf("dry run report %+v", rep)
		}
		if n := len(b.requeueCalls()); n != 0 {
			t.Errorf("dry run enqueued %d tasks", n)
		}
	})
	t.Run("requeue one", func(t *testing.T) {
		rep := decodeReport(t, b.postJSON("/api/dlq/requeue", map[string]any{"ids": []string{id}}, http.StatusOK))
		if rep.Requeued != 1 || rep.Failed != 0 {
			t.Fatalf("report %+v", rep)
		}
		calls := b.requeueCalls()
		if len(calls) != 1 || calls[0].RecordID != id || calls[0].NewTaskID != id+":rq1" || !strings.Contains(string(calls[0].Payload), "CANARYIMG") {
			t.Fatalf("enqueue calls %+v: want the original payload under %s:rq1", calls, id)
		}
		rec, err := b.store.Get(context.Background(), id)
		if err != nil || len(rec.Requeued) != 1 || rec.Requeued[0].By != "dashboard:token" {
			t.Errorf("record after requeue: %+v %v", rec.Requeued, err)
		}
	})
	t.Run("again is skipped, force requeues", func(t *testing.T) {
		rep := decodeReport(t, b.postJSON("/api/dlq/requeue", map[string]any{"ids": []string{id}}, http.StatusOK))
		if rep.Skipped != 1 || len(b.requeueCalls()) != 1 {
			t.Errorf("second requeue: %+v, %d calls", rep, len(b.requeueCalls()))
		}
		rep = decodeReport(t, b.postJSON("/api/dlq/requeue", map[string]any{"ids": []string{id}, "force": true}, http.StatusOK))
		if rep.Requeued != 1 || rep.Items[0].NewTaskID != id+":rq2" {
			t.Errorf("forced requeue: %+v", rep)
		}
	})
	t.Run("by filter", func(t *testing.T) {
		rep := decodeReport(t, b.postJSON("/api/dlq/requeue", map[string]any{"filter": map[string]string{"tenant": b.tenant, "code": "5002"}}, http.StatusOK))
		var got []string
		for _, it := range rep.Items {
			got = append(got, it.ID)
		}
		if d := cmp.Diff(sorted(c5002), sorted(got)); d != "" || rep.Requeued != 2 {
			t.Errorf("requeue by filter (-want +got):\n%s%+v", d, rep)
		}
	})
	t.Run("empty selection is refused", func(t *testing.T) {
		var e apiError
		_ = json.Unmarshal([]byte(b.postJSON("/api/dlq/requeue", map[string]any{}, http.StatusBadRequest)), &e)
		if e.Field != "filter" {
			t.Errorf("error %+v, want field filter", e)
		}
		b.postJSON("/api/dlq/requeue", map[string]any{"filter": map[string]string{"category": "nope"}}, http.StatusBadRequest)
		b.postJSON("/api/dlq/requeue", map[string]any{"idz": []string{id}}, http.StatusBadRequest)
	})
}

func TestAPIRequeueLimitsAndFailures(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) {
		c.MaxBulk = 2
		c.Requeue = func(context.Context, *deadletter.Record, []byte, string) error {
			return errors.New("image blob expired")
		}
	})
	c3011, _, _, _ := mixedRecords(b)
	var e apiError
	_ = json.Unmarshal([]byte(b.postJSON("/api/dlq/requeue", map[string]any{"filter": map[string]string{"code": "3011", "tenant": b.tenant}}, http.StatusUnprocessableEntity)), &e)
	if !strings.Contains(e.Error, "5 records") || !strings.Contains(e.Error, "vlensq dlq requeue") {
		t.Errorf("too many: %q", e.Error)
	}
	b.postJSON("/api/dlq/requeue", map[string]any{"ids": c3011[:3]}, http.StatusUnprocessableEntity)
	page := b.get("/dlq/requeue?"+url.Values{"tenant": {b.tenant}, "code": {"3011"}}.Encode(), http.StatusUnprocessableEntity)
	if !strings.Contains(page, `id="requeue-refused"`) || strings.Contains(page, `id="confirm-form"`) {
		t.Error("the requeue page offers to requeue more than MaxBulk records")
	}
	rep := decodeReport(t, b.postJSON("/api/dlq/requeue", map[string]any{"ids": c3011[:1]}, http.StatusOK))
	if rep.Failed != 1 || !strings.Contains(rep.Items[0].Error, "image blob expired") {
		t.Errorf("failed enqueue report %+v", rep)
	}
}

func TestAPIPurge(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, c5002, _, _ := mixedRecords(b)
	old := b.add(func(r *deadletter.Record) { r.FailedAt = time.Now().UTC().Add(-72 * time.Hour) })
	sel := map[string]any{"filter": map[string]string{"tenant": b.tenant, "code": "5002"}}

	var res purgeResponse
	_ = json.Unmarshal([]byte(b.postJSON("/api/dlq/purge", map[string]any{"filter": sel["filter"], "dry_run": true}, http.StatusOK)), &res)
	if !res.DryRun || res.Purged != 2 {
		t.Errorf("dry run %+v, want 2", res)
	}
	b.get("/api/dlq/"+c5002[0], http.StatusOK)

	res = purgeResponse{}
	_ = json.Unmarshal([]byte(b.postJSON("/api/dlq/purge", sel, http.StatusOK)), &res)
	if res.DryRun || res.Purged != 2 {
		t.Errorf("purge %+v, want 2", res)
	}
	b.get("/api/dlq/"+c5002[0], http.StatusNotFound)

	_ = json.Unmarshal([]byte(b.postJSON("/api/dlq/purge", map[string]any{"filter": map[string]string{"tenant": b.tenant}, "older_than": "2d"}, http.StatusOK)), &res)
	if res.Purged != 1 {
		t.Errorf("purge older than 2d: %+v, want 1", res)
	}
	b.get("/api/dlq/"+old, http.StatusNotFound)

	b.postJSON("/api/dlq/purge", map[string]any{"older_than": "soon"}, http.StatusBadRequest)
	b.postJSON("/api/dlq/purge", map[string]any{}, http.StatusBadRequest)
}

func TestAPIExport(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c3011, _, _, _ := mixedRecords(b)
	filter := "&tenant=" + url.QueryEscape(b.tenant) + "&code=3011"

	t.Run("csv", func(t *testing.T) {
		resp, body := b.do(nil, http.MethodGet, "/api/dlq/export?format=csv"+filter, nil, bearer)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("status %d type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.HasSuffix(cd, `.csv"`) {
			t.Errorf("Content-Disposition %q", cd)
		}
		rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(deadletter.CSVHeader, rows[0]); d != "" {
			t.Errorf("header (-want +got):\n%s", d)
		}
		var ids []string
		for _, r := range rows[1:] {
			ids = append(ids, r[0])
		}
		if d := cmp.Diff(sorted(c3011), sorted(ids)); d != "" {
			t.Errorf("rows (-want +got):\n%s", d)
		}
	})
	t.Run("ndjson", func(t *testing.T) {
		resp, body := b.do(nil, http.MethodGet, "/api/dlq/export?format=ndjson"+filter, nil, bearer)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-ndjson") {
			t.Fatalf("status %d type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var ids []string
		sc := bufio.NewScanner(strings.NewReader(body))
		for sc.Scan() {
			var r deadletter.Record
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			ids = append(ids, r.ID)
		}
		if d := cmp.Diff(sorted(c3011), sorted(ids)); d != "" {
			t.Errorf("lines (-want +got):\n%s", d)
		}
		if strings.Contains(body, "CANARYIMG") || strings.Contains(body, canarySecret) {
			t.Error("the export holds task payloads")
		}
	})
	t.Run("empty", func(t *testing.T) {
		body := b.get("/api/dlq/export?format=csv&tenant=nobody-"+b.tenant, http.StatusOK)
		if strings.Count(body, "\n") != 1 {
			t.Errorf("empty CSV export = %q, want the header only", body)
		}
	})
	t.Run("bad format", func(t *testing.T) {
		b.get("/api/dlq/export?format=xml", http.StatusBadRequest)
	})
}

func TestReadOnly(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) { c.ReadOnly = true; c.Requeue = nil })
	id := b.add(nil)
	b.postJSON("/api/dlq/requeue", map[string]any{"ids": []string{id}}, http.StatusForbidden)
	b.postJSON("/api/dlq/purge", map[string]any{"ids": []string{id}}, http.StatusForbidden)
	b.get("/dlq/requeue?id="+id, http.StatusForbidden)
	b.get("/dlq/purge?id="+id, http.StatusForbidden)
	if page := b.get("/dlq/"+id, http.StatusOK); strings.Contains(page, `id="requeue"`) || !strings.Contains(page, "read-only") {
		t.Error("the record page offers requeue in read-only mode")
	}
	if page := b.get("/dlq/?tenant="+b.tenant, http.StatusOK); strings.Contains(page, "requeue-matching") {
		t.Error("the list offers requeue in read-only mode")
	}
	b.get("/api/dlq/"+id, http.StatusOK)
}
