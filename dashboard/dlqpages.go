package dashboard

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/vlens"
)

// CountTimeout bounds the count of records matching a filter on the list
// page; a slower count (a broad filter over millions of records) is shown
// as unknown rather than holding the page.
const CountTimeout = 2 * time.Second

// kv is a key and value for templates (hidden form fields, breakdowns).
type kv struct {
	Key, Value string
}

// breakdownItem is one line of a count breakdown, linking to its filter.
type breakdownItem struct {
	Label string
	N     int64
	Link  string
}

// listData is the data of the list page.
type listData struct {
	pageBase
	// Form holds the filter as typed, to fill the inputs again.
	Form map[string]string
	// Links that carry the filter.
	ExportCSV, ExportNDJSON, RequeueURL, PurgeURL string
	Filtered                                      bool
	Err                                           string
	Records                                       []*deadletter.Record
	Count                                         int64
	CountKnown                                    bool
	Stats                                         deadletter.Stats
	ByCategory                                    []breakdownItem
	ByCode                                        []breakdownItem
	Tenants                                       []string
	Types                                         []string
	Categories                                    []vlens.Category
	Classes                                       []vlens.Class
	NextURL                                       string
	FirstURL                                      string
	IsFirst                                       bool
}

// filterQuery keeps the filter keys of q that are set, as typed.
func filterQuery(q url.Values) url.Values {
	v := url.Values{}
	for _, k := range filterKeys {
		if s := strings.TrimSpace(q.Get(k)); s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// withQuery appends the encoded v to a path that may have a query already.
func withQuery(path string, v url.Values) string {
	if len(v) == 0 {
		return path
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + v.Encode()
}

// listPage shows the records matching the filter, with counts and paging.
func (d *Dashboard) listPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	fq := filterQuery(q)
	data := listData{
		pageBase: d.base(w, r, "Dead letters"), Form: map[string]string{},
		ExportCSV: withQuery("/api/dlq/export?format=csv", fq), ExportNDJSON: withQuery("/api/dlq/export?format=ndjson", fq),
		RequeueURL: withQuery("/dlq/requeue", fq), PurgeURL: withQuery("/dlq/purge", fq), Filtered: len(fq) > 0,
		Categories: vlens.Categories, Classes: vlens.Classes,
		FirstURL: withQuery("/dlq/", fq), IsFirst: q.Get("cursor") == "",
	}
	for _, k := range filterKeys {
		data.Form[k] = fq.Get(k)
	}
	st, err := d.dlq.Stats(ctx)
	if err != nil {
		d.pageStoreError(w, r, err)
		return
	}
	data.Stats = st
	data.Tenants, data.Types = sortedKeys(st.ByTenant), sortedKeys(st.ByType)
	data.ByCategory = breakdown(st.ByCategory, fq, "category", 0)
	codes := make(map[string]int64, len(st.ByCode))
	for c, n := range st.ByCode {
		codes[strconv.Itoa(c)] = n
	}
	data.ByCode = breakdown(codes, fq, "code", 15)

	status := http.StatusOK
	f, err := d.parseFilter(q)
	if err != nil {
		data.Err, status = inputMessage(err), http.StatusBadRequest
		d.render(w, status, "list", data)
		return
	}
	page, err := d.dlq.List(ctx, f, d.cfg.PageSize, q.Get("cursor"))
	if err != nil {
		var in *deadletter.InputError
		if !errors.As(err, &in) {
			d.pageStoreError(w, r, err)
			return
		}
		data.Err, status = inputMessage(err), http.StatusBadRequest
	}
	data.Records = page.Records
	if page.NextCursor != "" {
		next := filterQuery(q)
		next.Set("cursor", page.NextCursor)
		data.NextURL = withQuery("/dlq/", next)
	}
	if f.IsZero() {
		data.Count, data.CountKnown = st.Total, true
	} else {
		cctx, cancel := context.WithTimeout(ctx, CountTimeout)
		n, err := d.dlq.Count(cctx, f)
		cancel()
		data.Count, data.CountKnown = n, err == nil
	}
	d.render(w, status, "list", data)
}

// breakdown turns counts into links that add key=value to the filter,
// largest first; limit 0 keeps all.
func breakdown(m map[string]int64, fq url.Values, key string, limit int) []breakdownItem {
	items := make([]breakdownItem, 0, len(m))
	for v, n := range m {
		link := url.Values{}
		for k, vs := range fq {
			link[k] = vs
		}
		link.Set(key, v)
		items = append(items, breakdownItem{Label: v, N: n, Link: withQuery("/dlq/", link)})
	}
	slices.SortFunc(items, func(a, b breakdownItem) int {
		return cmp.Or(cmp.Compare(b.N, a.N), strings.Compare(a.Label, b.Label))
	})
	if limit > 0 && len(items) > limit {
		items = items[:limit]
	}
	return items
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func inputMessage(err error) string {
	var in *deadletter.InputError
	if errors.As(err, &in) {
		return strings.TrimPrefix(in.Error(), "deadletter: ")
	}
	return err.Error()
}

// pageStoreError shows a store error as a page: not found 404, bad input
// 400, the rest 500 (details logged only).
func (d *Dashboard) pageStoreError(w http.ResponseWriter, r *http.Request, err error) {
	var in *deadletter.InputError
	switch {
	case errors.As(err, &in):
		d.renderError(w, r, http.StatusBadRequest, inputMessage(err), "/dlq/")
	case errors.Is(err, deadletter.ErrNotFound):
		d.renderError(w, r, http.StatusNotFound, "This dead-letter record does not exist (it may have been purged or trimmed by retention).", "/dlq/")
	case errors.Is(err, context.Canceled):
	default:
		d.log.Error().Err(err).Str("path", r.URL.Path).Msg("dashboard: dead-letter store")
		d.renderError(w, r, http.StatusInternalServerError, "The dead-letter store failed; see the dashboard log.", "/dlq/")
	}
}

// requeueView is one requeue of a record with the state of its new task.
type requeueView struct {
	deadletter.Requeue
	taskState
}

// taskState is where a task stands: its outcome when it ended, else its
// asynq state.
type taskState struct {
	State string
	// DeadLetterID is the record of a requeued task that failed again.
	DeadLetterID string
}

// taskStatus finds the state of a task: the published outcome (succeeded,
// dead_lettered) first, else asynq's state (pending, active, retry, ...).
func (d *Dashboard) taskStatus(ctx context.Context, queue, taskID string) taskState {
	status, dl, ok, err := d.outcomes.Seen(ctx, taskID)
	if err == nil && ok {
		return taskState{State: string(status), DeadLetterID: dl}
	}
	info, err := d.insp.GetTaskInfo(queue, taskID)
	switch {
	case err == nil:
		return taskState{State: info.State.String()}
	case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
		return taskState{State: "not in the queue"}
	default:
		d.log.Error().Err(err).Str("task_id", taskID).Msg("dashboard: task state")
		return taskState{State: "unknown"}
	}
}

// recordData is the data of the record page.
type recordData struct {
	pageBase
	Rec      *deadletter.Record
	Request  string
	Response string
	Ticket   string
	Requeues []requeueView
}

// recordPage shows one record in full.
func (d *Dashboard) recordPage(w http.ResponseWriter, r *http.Request) {
	rec, err := d.dlq.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		d.pageStoreError(w, r, err)
		return
	}
	data := recordData{
		pageBase: d.base(w, r, "Dead letter "+rec.ID), Rec: rec,
		Request: prettyBody(rec.Request), Response: prettyBody(rec.Response), Ticket: deadletter.Ticket(rec),
	}
	for _, rq := range rec.Requeued {
		data.Requeues = append(data.Requeues, requeueView{Requeue: rq, taskState: d.taskStatus(r.Context(), rec.Queue, rq.NewTaskID)})
	}
	d.render(w, http.StatusOK, "record", data)
}

// actionData is the data of the requeue and purge pages: a confirmation
// after a dry run, or the result.
type actionData struct {
	pageBase
	// Hidden are the form fields that carry the selection to the POST.
	Hidden []kv
	// Desc describes the selection; RecordID is set for one record.
	Desc     string
	RecordID string
	Back     string
	Done     bool
	Force    bool
	// Refused explains why the action cannot run (too many records).
	Refused string
	// Requeue: the dry-run or real report.
	Report deadletter.RequeueReport
	// Purge: the number of records (to be) deleted, and the age bound.
	Count     int
	OlderThan string
}

// pageSelection reads the records a requeue or purge page acts on: id
// fields, or filter keys. pin bounds a filter to the records that exist
// now (for the confirmation step).
func (d *Dashboard) pageSelection(form url.Values, pin bool) (ids []string, f deadletter.Filter, a actionData, err error) {
	ids = slices.DeleteFunc(slices.Clone(form["id"]), func(s string) bool { return strings.TrimSpace(s) == "" })
	if f, err = d.parseFilter(form); err != nil {
		return nil, f, a, err
	}
	if len(ids) > 0 {
		for _, id := range ids {
			a.Hidden = append(a.Hidden, kv{"id", id})
		}
		if len(ids) == 1 {
			a.RecordID = ids[0]
			a.Desc = "record " + ids[0]
			a.Back = "/dlq/" + url.PathEscape(ids[0])
		} else {
			a.Desc = strconv.Itoa(len(ids)) + " records"
			a.Back = "/dlq/"
		}
		return ids, f, a, nil
	}
	if pin && !f.IsZero() {
		f = pinUntil(f, d.cfg.Now())
	}
	v := f.Values()
	for _, k := range filterKeys {
		if s := v.Get(k); s != "" {
			a.Hidden = append(a.Hidden, kv{k, s})
		}
	}
	a.Desc = "records matching " + describeFilter(f)
	a.Back = withQuery("/dlq/", filterQuery(form))
	return ids, f, a, nil
}

// requeuePage shows what a requeue would do (a dry run) and asks to
// confirm.
func (d *Dashboard) requeuePage(w http.ResponseWriter, r *http.Request) {
	if d.cfg.ReadOnly {
		d.renderError(w, r, http.StatusForbidden, "The dashboard is read-only: requeue is disabled.", "/dlq/")
		return
	}
	d.requeueAction(w, r, r.URL.Query(), true)
}

// requeueSubmit runs the confirmed requeue.
func (d *Dashboard) requeueSubmit(w http.ResponseWriter, r *http.Request) {
	if !d.guardPage(w, r) {
		return
	}
	d.requeueAction(w, r, r.PostForm, false)
}

func (d *Dashboard) requeueAction(w http.ResponseWriter, r *http.Request, form url.Values, dryRun bool) {
	ids, f, a, err := d.pageSelection(form, dryRun)
	if err == nil && len(ids) == 0 && f.IsZero() {
		err = &deadletter.InputError{Field: "filter", Reason: "choose a record or filter the list first (requeueing every record takes the command line)"}
	}
	if err != nil {
		d.pageStoreError(w, r, err)
		return
	}
	a.pageBase = d.base(w, r, "Requeue")
	a.Force = form.Get("force") == "1"
	a.Done = !dryRun
	rep, status, err := d.requeue(r.Context(), ids, f, dryRun, a.Force)
	switch {
	case status != 0:
		a.Refused = err.Error()
	case err != nil:
		d.pageStoreError(w, r, err)
		return
	default:
		status = http.StatusOK
	}
	a.Report = rep
	d.render(w, status, "requeue", a)
}

// purgePage shows how many records a purge would delete and asks to
// confirm.
func (d *Dashboard) purgePage(w http.ResponseWriter, r *http.Request) {
	if d.cfg.ReadOnly {
		d.renderError(w, r, http.StatusForbidden, "The dashboard is read-only: purge is disabled.", "/dlq/")
		return
	}
	d.purgeAction(w, r, r.URL.Query(), true)
}

// purgeSubmit runs the confirmed purge.
func (d *Dashboard) purgeSubmit(w http.ResponseWriter, r *http.Request) {
	if !d.guardPage(w, r) {
		return
	}
	d.purgeAction(w, r, r.PostForm, false)
}

func (d *Dashboard) purgeAction(w http.ResponseWriter, r *http.Request, form url.Values, dryRun bool) {
	ids, f, a, err := d.pageSelection(form, dryRun)
	if err != nil {
		d.pageStoreError(w, r, err)
		return
	}
	var older time.Duration
	if s := strings.TrimSpace(form.Get("older_than")); s != "" {
		if older, err = deadletter.ParseAge(s); err != nil {
			d.renderError(w, r, http.StatusBadRequest, "older than: want a duration such as 90m, 24h or 30d", a.Back)
			return
		}
		a.OlderThan = s
		a.Hidden = append(a.Hidden, kv{"older_than", s})
		a.Desc += ", failed more than " + s + " ago"
	}
	if len(ids) == 0 && f.IsZero() && older == 0 {
		d.renderError(w, r, http.StatusBadRequest, "Choose a record, filter the list, or give an age first (purging every record takes the command line).", "/dlq/")
		return
	}
	a.pageBase = d.base(w, r, "Purge")
	a.Done = !dryRun
	if a.Count, err = d.purge(r.Context(), ids, f, older, dryRun); err != nil {
		d.pageStoreError(w, r, err)
		return
	}
	if a.Done && a.RecordID != "" {
		a.Back = "/dlq/"
	}
	d.render(w, http.StatusOK, "purge", a)
}

// guardPage checks a form POST: not read-only, and a good CSRF token. It
// parses the form.
func (d *Dashboard) guardPage(w http.ResponseWriter, r *http.Request) bool {
	if d.cfg.ReadOnly {
		d.renderError(w, r, http.StatusForbidden, "The dashboard is read-only.", "/dlq/")
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		d.renderError(w, r, http.StatusBadRequest, "Could not read the form.", "/dlq/")
		return false
	}
	if p := principalOf(r.Context()); csrfNeeded(p) && !d.checkCSRF(r, p) {
		d.renderError(w, r, http.StatusForbidden, "Missing or bad CSRF token: go back, reload the page and try again.", "/dlq/")
		return false
	}
	return true
}
