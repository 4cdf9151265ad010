package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/vlensq/vlensq/deadletter"
)

// maxBodyBytes bounds a JSON request body.
const maxBodyBytes = 1 << 20

// apiList answers GET /api/dlq: a page of records matching the filter keys
// of the query (tenant, code, category, type, class, since, until,
// retries_exhausted), newest first; limit and cursor page through.
func (d *Dashboard) apiList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := d.parseFilter(q)
	if err != nil {
		d.writeStoreError(w, err)
		return
	}
	limit := d.cfg.PageSize
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 {
			writeJSON(w, http.StatusBadRequest, apiError{Error: fmt.Sprintf("limit %q: want a whole number from 1 to %d", s, deadletter.ListLimitMax), Field: "limit"})
			return
		}
	}
	page, err := d.dlq.List(r.Context(), f, limit, q.Get("cursor"))
	if err != nil {
		d.writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// apiStats answers GET /api/dlq/stats.
func (d *Dashboard) apiStats(w http.ResponseWriter, r *http.Request) {
	st, err := d.dlq.Stats(r.Context())
	if err != nil {
		d.writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// apiGet answers GET /api/dlq/{id}: the record as stored.
func (d *Dashboard) apiGet(w http.ResponseWriter, r *http.Request) {
	rec, err := d.dlq.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		d.writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

// apiTicket answers GET /api/dlq/{id}/ticket: the Vlens support ticket as
// plain text.
func (d *Dashboard) apiTicket(w http.ResponseWriter, r *http.Request) {
	rec, err := d.dlq.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		d.writeStoreError(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, deadletter.Ticket(rec))
}

// apiExport answers GET /api/dlq/export?format=ndjson|csv plus filter keys,
// streaming the records as a download. A failure after the first bytes
// went out aborts the connection, so a client never takes a truncated
// export for a complete one.
func (d *Dashboard) apiExport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := d.parseFilter(q)
	if err != nil {
		d.writeStoreError(w, err)
		return
	}
	format := q.Get("format")
	if format == "" {
		format = deadletter.FormatNDJSON
	}
	var ctype string
	switch format {
	case deadletter.FormatNDJSON:
		ctype = "application/x-ndjson; charset=utf-8"
	case deadletter.FormatCSV:
		ctype = "text/csv; charset=utf-8"
	default:
		writeJSON(w, http.StatusBadRequest, apiError{Error: fmt.Sprintf("format %q: want ndjson or csv", format), Field: "format"})
		return
	}
	name := "vlensq-dead-letters-" + d.cfg.Now().UTC().Format("20060102T150405Z") + "." + format
	cw := &countingWriter{w: w, before: func() {
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	}}
	n, err := d.dlq.Export(r.Context(), cw, f, format)
	if err != nil {
		if cw.n == 0 {
			d.writeStoreError(w, err)
			return
		}
		d.log.Error().Err(err).Int("records", n).Msg("dashboard: export failed midway; aborting the download")
		panic(http.ErrAbortHandler)
	}
	if cw.n == 0 {
		cw.before() // an empty export is still a (header-only for CSV) file
		w.WriteHeader(http.StatusOK)
	}
	p := principalOf(r.Context())
	d.log.Info().Str("user", p.user).Str("format", format).Str("filter", describeFilter(f)).Int("records", n).Msg("dashboard: export")
}

// countingWriter counts bytes and runs before once, before the first write.
type countingWriter struct {
	w      io.Writer
	n      int64
	before func()
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.n == 0 && len(p) > 0 {
		c.before()
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// selectionRequest is the body of POST /api/dlq/requeue and
// POST /api/dlq/purge: record ids, or a filter (the keys of GET /api/dlq).
type selectionRequest struct {
	IDs    []string          `json:"ids"`
	Filter map[string]string `json:"filter"`
	DryRun bool              `json:"dry_run"`
	// Force requeues records that were already requeued.
	Force bool `json:"force"`
	// OlderThan (purge) selects records that failed more than this long
	// ago: a Go duration or days such as "30d".
	OlderThan string `json:"older_than"`
}

func (d *Dashboard) readSelection(w http.ResponseWriter, r *http.Request) (selectionRequest, deadletter.Filter, bool) {
	var req selectionRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "body: want JSON {ids, filter, dry_run, force, older_than}: " + err.Error()})
		return req, deadletter.Filter{}, false
	}
	v := url.Values{}
	for k, s := range req.Filter {
		v.Set(k, s)
	}
	f, err := d.parseFilter(v)
	if err != nil {
		d.writeStoreError(w, err)
		return req, f, false
	}
	return req, f, true
}

// guardWrite refuses a state-changing API call in read-only mode or without
// the CSRF token a cookie-authenticated request needs.
func (d *Dashboard) guardWrite(w http.ResponseWriter, r *http.Request) bool {
	if d.cfg.ReadOnly {
		writeError(w, http.StatusForbidden, "the dashboard is read-only")
		return false
	}
	if p := principalOf(r.Context()); csrfNeeded(p) && !d.checkCSRF(r, p) {
		writeError(w, http.StatusForbidden, "missing or bad CSRF token: send the page's csrf-token as the X-CSRF-Token header")
		return false
	}
	return true
}

// apiRequeue answers POST /api/dlq/requeue with the deadletter.RequeueReport.
func (d *Dashboard) apiRequeue(w http.ResponseWriter, r *http.Request) {
	if !d.guardWrite(w, r) {
		return
	}
	req, f, ok := d.readSelection(w, r)
	if !ok {
		return
	}
	rep, status, err := d.requeue(r.Context(), req.IDs, f, req.DryRun, req.Force)
	if err != nil {
		d.writeActionError(w, status, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// purgeResponse is the answer of POST /api/dlq/purge.
type purgeResponse struct {
	DryRun bool `json:"dry_run,omitempty"`
	// Purged is the number of records deleted (or, in a dry run, that
	// would be).
	Purged int `json:"purged"`
}

// apiPurge answers POST /api/dlq/purge.
func (d *Dashboard) apiPurge(w http.ResponseWriter, r *http.Request) {
	if !d.guardWrite(w, r) {
		return
	}
	req, f, ok := d.readSelection(w, r)
	if !ok {
		return
	}
	var older time.Duration
	if req.OlderThan != "" {
		var err error
		if older, err = deadletter.ParseAge(req.OlderThan); err != nil {
			writeJSON(w, http.StatusBadRequest, apiError{Error: fmt.Sprintf("older_than %q: want a duration such as 90m, 24h or 30d", req.OlderThan), Field: "older_than"})
			return
		}
	}
	n, err := d.purge(r.Context(), req.IDs, f, older, req.DryRun)
	if err != nil {
		d.writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, purgeResponse{DryRun: req.DryRun, Purged: n})
}

// writeStoreError maps a store error to a status: bad input 400 (naming the
// field), not found 404, the rest 500 (details logged, not shown).
func (d *Dashboard) writeStoreError(w http.ResponseWriter, err error) {
	var in *deadletter.InputError
	switch {
	case errors.As(err, &in):
		writeJSON(w, http.StatusBadRequest, apiError{Error: in.Error(), Field: in.Field})
	case errors.Is(err, deadletter.ErrNotFound):
		writeError(w, http.StatusNotFound, "dead-letter record not found")
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads the answer.
	default:
		d.log.Error().Err(err).Msg("dashboard: dead-letter store")
		writeError(w, http.StatusInternalServerError, "the dead-letter store failed; see the dashboard log")
	}
}

func (d *Dashboard) writeActionError(w http.ResponseWriter, status int, err error) {
	if status != 0 {
		writeError(w, status, err.Error())
		return
	}
	d.writeStoreError(w, err)
}
