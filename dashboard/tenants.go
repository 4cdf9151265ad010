package dashboard

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vlensq/vlensq/internal/metrics"
	"github.com/vlensq/vlensq/outcome"
	"github.com/vlensq/vlensq/tenancy"
)

const (
	// MaxReasonLength bounds the reason given with a pause, in characters.
	MaxReasonLength = 500
	// tenantEventsShown is how much of the pause and resume history the
	// tenants page and GET /api/tenants show.
	tenantEventsShown = 50
	// bannerTenantsShown is how many paused tenants the banner names.
	bannerTenantsShown = 5
)

// tenancy builds the tenant scheduler (for its List) and states from Redis
// and Config.Tenants alone: the dashboard needs no Vlens client.
func (d *Dashboard) tenancy(m *metrics.Metrics) error {
	d.tenantEvents = m.TenantEvents
	sc := tenancy.StatesConfig{Redis: d.rdb, OnEvent: d.tenantEvent}
	if src := d.cfg.Tenants; src != nil {
		sc.Known = func(_ context.Context, name string) (bool, error) { _, ok := src.Tenant(name); return ok, nil }
	}
	var err error
	if d.states, err = tenancy.NewStates(sc); err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	if d.fair, err = tenancy.New(tenancy.Config{Redis: d.rdb, Tenants: d.cfg.Tenants, States: d.states}); err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	return nil
}

// tenantEvent logs a pause or resume made from the dashboard and publishes
// it on the outcome stream, as the worker and the CLI do.
func (d *Dashboard) tenantEvent(ctx context.Context, e tenancy.Event) {
	d.log.Warn().Str("event", e.Event).Str("tenant", e.Tenant).Str("by", e.By).Str("reason", e.Reason).
		Msg("dashboard: tenant " + strings.TrimPrefix(e.Event, "tenant_"))
	cause := ""
	if e.Cause != nil {
		b, _ := json.Marshal(e.Cause)
		cause = string(b)
	}
	err := d.outcomes.PublishTenantEvent(ctx, outcome.TenantEvent{Event: e.Event, Tenant: e.Tenant, At: e.At, By: e.By, Reason: e.Reason, Cause: cause})
	if err != nil {
		d.log.Error().Err(err).Str("tenant", e.Tenant).Msg("dashboard: could not publish the tenant event on the outcome stream")
	}
	if d.tenantEvents != nil {
		d.tenantEvents.WithLabelValues(e.Tenant, e.Event).Inc()
	}
}

// pausedBanner is one paused tenant named by the layout's banner.
type pausedBanner struct {
	Tenant string
	Cause  string
}

// pausedBanners reads the paused tenants for the banner (one HGETALL); a
// failure is logged and shows no banner rather than failing the page.
func (d *Dashboard) pausedBanners(ctx context.Context) (shown []pausedBanner, more int) {
	paused, err := d.states.Paused(ctx)
	if err != nil {
		d.log.Error().Err(err).Msg("dashboard: read paused tenants for the banner")
		return nil, 0
	}
	for name, p := range paused {
		shown = append(shown, pausedBanner{Tenant: name, Cause: p.Describe()})
	}
	slices.SortFunc(shown, func(a, b pausedBanner) int { return cmp.Compare(a.Tenant, b.Tenant) })
	if len(shown) > bannerTenantsShown {
		return shown[:bannerTenantsShown], len(shown) - bannerTenantsShown
	}
	return shown, 0
}

// tenantRow is one line of the tenants page.
type tenantRow struct {
	tenancy.Status
	// Waiting describes the oldest held task: how long it has waited, or
	// when it comes due (a retry's backoff); empty without one.
	Waiting string
}

// tenantsData is the data of the tenants page.
type tenantsData struct {
	pageBase
	Tenants []tenantRow
	Events  []tenancy.Event
	// Notice reports the action just done (after the redirect).
	Notice string
}

// tenantsPage lists every tenant with its state, backlog, rate and cause,
// the pause and resume history, and the pause and resume buttons.
func (d *Dashboard) tenantsPage(w http.ResponseWriter, r *http.Request) {
	list, err := d.fair.List(r.Context())
	if err == nil {
		var events []tenancy.Event
		if events, err = d.states.Events(r.Context(), tenantEventsShown); err == nil {
			data := tenantsData{pageBase: d.base(w, r, "Tenants"), Events: events}
			data.Nav = "tenants"
			now := d.cfg.Now()
			for _, st := range list {
				data.Tenants = append(data.Tenants, tenantRow{Status: st, Waiting: waiting(now, st.OldestWaiting)})
			}
			q := r.URL.Query()
			switch {
			case q.Get("paused") != "":
				data.Notice = fmt.Sprintf("Tenant %s paused: its tasks wait until it is resumed.", q.Get("paused"))
			case q.Get("resumed") != "":
				data.Notice = fmt.Sprintf("Tenant %s resumed: its backlog runs at its normal rate and fair share.", q.Get("resumed"))
			}
			d.render(w, http.StatusOK, "tenants", data)
			return
		}
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	d.log.Error().Err(err).Msg("dashboard: list tenants")
	d.renderError(w, r, http.StatusInternalServerError, "Could not read the tenants; see the dashboard log.", "/dlq/")
}

// waiting describes how long the oldest held task has waited (at is its
// due time).
func waiting(now, at time.Time) string {
	switch {
	case at.IsZero():
		return ""
	case at.After(now):
		return "due in " + at.Sub(now).Round(time.Second).String()
	default:
		return now.Sub(at).Round(time.Second).String()
	}
}

// tenantAction pauses (reason non-nil) or resumes the tenant named in the
// path on behalf of the request's principal, recorded as "dashboard:<user>".
// A non-zero status comes with a message meant for the client as is.
func (d *Dashboard) tenantAction(r *http.Request, pause bool, reason string) (tenancy.Pause, int, string, error) {
	name := r.PathValue("name")
	if n := utf8.RuneCountInString(reason); n > MaxReasonLength {
		return tenancy.Pause{}, http.StatusBadRequest, fmt.Sprintf("reason: at most %d characters (got %d)", MaxReasonLength, n), nil
	}
	p := principalOf(r.Context())
	by := "dashboard:" + p.user
	// Once asked, the action completes even if the client goes away.
	ctx := context.WithoutCancel(r.Context())
	var (
		ps  tenancy.Pause
		err error
	)
	if pause {
		ps, err = d.states.Pause(ctx, name, by, strings.TrimSpace(reason))
	} else {
		err = d.states.Resume(ctx, name, by)
	}
	switch {
	case err == nil:
		d.log.Info().Str("user", p.user).Str("method", p.method).Str("tenant", name).Bool("pause", pause).Msg("dashboard: tenant state changed")
		return ps, 0, "", nil
	case errors.Is(err, tenancy.ErrUnknownTenant):
		return ps, http.StatusNotFound, fmt.Sprintf("unknown tenant %q: it is not in the tenants file", name), nil
	case errors.Is(err, tenancy.ErrNotPaused):
		return ps, http.StatusConflict, fmt.Sprintf("tenant %q is not paused", name), nil
	case name == "":
		return ps, http.StatusBadRequest, "name: the tenant is required", nil
	default:
		return ps, 0, "", err
	}
}

// tenantPauseSubmit pauses a tenant from the tenants page's form.
func (d *Dashboard) tenantPauseSubmit(w http.ResponseWriter, r *http.Request) {
	d.tenantSubmit(w, r, true)
}

// tenantResumeSubmit resumes a tenant from the tenants page's form.
func (d *Dashboard) tenantResumeSubmit(w http.ResponseWriter, r *http.Request) {
	d.tenantSubmit(w, r, false)
}

func (d *Dashboard) tenantSubmit(w http.ResponseWriter, r *http.Request, pause bool) {
	if !d.guardPage(w, r) {
		return
	}
	_, status, msg, err := d.tenantAction(r, pause, r.PostForm.Get("reason"))
	switch {
	case status != 0:
		d.renderError(w, r, status, upperFirst(msg)+".", "/tenants/")
	case err != nil:
		d.log.Error().Err(err).Str("tenant", r.PathValue("name")).Msg("dashboard: pause or resume a tenant")
		d.renderError(w, r, http.StatusInternalServerError, "Could not change the tenant's state; see the dashboard log.", "/tenants/")
	default:
		key := "resumed"
		if pause {
			key = "paused"
		}
		http.Redirect(w, r, "/tenants/?"+url.Values{key: {r.PathValue("name")}}.Encode(), http.StatusSeeOther)
	}
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// tenantsResponse is the answer of GET /api/tenants.
type tenantsResponse struct {
	Tenants []tenancy.Status `json:"tenants"`
	// Events are the most recent pauses and resumes, newest first.
	Events []tenancy.Event `json:"events"`
}

// apiTenants answers GET /api/tenants.
func (d *Dashboard) apiTenants(w http.ResponseWriter, r *http.Request) {
	list, err := d.fair.List(r.Context())
	var events []tenancy.Event
	if err == nil {
		events, err = d.states.Events(r.Context(), tenantEventsShown)
	}
	if err != nil {
		d.writeTenantError(w, err)
		return
	}
	if list == nil {
		list = []tenancy.Status{}
	}
	writeJSON(w, http.StatusOK, tenantsResponse{Tenants: list, Events: events})
}

// pauseRequest is the body of POST /api/tenants/{name}/pause (optional).
type pauseRequest struct {
	Reason string `json:"reason"`
}

// apiTenantPause answers POST /api/tenants/{name}/pause with the pause.
func (d *Dashboard) apiTenantPause(w http.ResponseWriter, r *http.Request) {
	if !d.guardWrite(w, r) {
		return
	}
	var req pauseRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "body: want JSON {reason}: " + err.Error()})
		return
	}
	p, status, msg, err := d.tenantAction(r, true, req.Reason)
	if d.writeTenantActionError(w, status, msg, err) {
		return
	}
	writeJSON(w, http.StatusOK, tenancy.Status{Tenant: p.Tenant, State: "paused", Pause: &p})
}

// apiTenantResume answers POST /api/tenants/{name}/resume.
func (d *Dashboard) apiTenantResume(w http.ResponseWriter, r *http.Request) {
	if !d.guardWrite(w, r) {
		return
	}
	_, status, msg, err := d.tenantAction(r, false, "")
	if d.writeTenantActionError(w, status, msg, err) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"tenant": r.PathValue("name"), "state": "running"})
}

// writeTenantActionError writes the error of a tenant action, if any.
func (d *Dashboard) writeTenantActionError(w http.ResponseWriter, status int, msg string, err error) bool {
	switch {
	case status != 0:
		field := "name"
		if strings.HasPrefix(msg, "reason:") {
			field = "reason"
		}
		writeJSON(w, status, apiError{Error: msg, Field: field})
	case err != nil:
		d.writeTenantError(w, err)
	default:
		return false
	}
	return true
}

func (d *Dashboard) writeTenantError(w http.ResponseWriter, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	d.log.Error().Err(err).Msg("dashboard: tenants")
	writeError(w, http.StatusInternalServerError, "reading or changing the tenant states failed; see the dashboard log")
}
