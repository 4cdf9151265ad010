package vlens

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/vlensq/vlensq/internal/tracing"
)

// Defaults of [Config].
const (
	// BaseURLDefault is the production Vlens API root.
	BaseURLDefault = "https://api.vlenseg.com"
	// TimeoutDefault bounds one HTTP exchange with Vlens: the SDK's timeout.
	TimeoutDefault = 120 * time.Second
	// MaxResponseBytesDefault bounds the response body read into memory.
	MaxResponseBytesDefault int64 = 8 << 20
	// RefreshAheadDefault is how long before a known expiry a token is
	// refreshed.
	RefreshAheadDefault = 60 * time.Second
	// RefreshTimeoutDefault bounds one login or refresh exchange, and the wait
	// for another process's refresh.
	RefreshTimeoutDefault = 30 * time.Second
)

// TokenKind says which bearer token a call carries.
type TokenKind int

const (
	// TokenTenant is the tenant's admin token, obtained by logging in with the
	// tenant's credentials and shared by all worker processes through the
	// SessionStore. It is the zero value.
	TokenTenant TokenKind = iota
	// TokenUser is an end user's token, taken from the SessionStore, where
	// `vlensq session put` (or a producer) stored it.
	TokenUser
	// TokenNone sends the ApiKey only, without Authorization.
	TokenNone
)

// String returns "tenant", "user" or "none".
func (k TokenKind) String() string {
	switch k {
	case TokenTenant:
		return "tenant"
	case TokenUser:
		return "user"
	case TokenNone:
		return "none"
	}
	return "TokenKind(" + strconv.Itoa(int(k)) + ")"
}

// Call is one Vlens API call.
type Call struct {
	// Tenant is the tenancy name (required); its ApiKey and credentials come
	// from Config.Tenants.
	Tenant string
	// User is the end user whose session a TokenUser call uses.
	User string
	// Token selects the bearer token; the zero value is TokenTenant.
	Token TokenKind
	// Method is the HTTP method; default POST when Body is set, else GET.
	Method string
	// Path is joined to Config.BaseURL, e.g.
	// "/api/DigitalIdentity/verify/id/front". It may carry a query string.
	Path string
	// Route names the endpoint in metrics (CallInfo.Route), e.g.
	// "/api/BusinessRequest/GetBusinessRequestById/{id}". Default: Path
	// without its query, with id-like segments replaced by "{id}".
	Route string
	// Body is sent as JSON: json.RawMessage and []byte as they are, anything
	// else through encoding/json; nil sends no body.
	Body any
	// Timeout bounds each HTTP exchange of this call; default Config.Timeout.
	Timeout time.Duration
	// Reserved reports that the caller already reserved this call against
	// the tenant's rate limit (the fair dispatcher of package tenancy does
	// when it starts a task): Do does not ask the Limiter before the first
	// exchange. A replay after a token refresh still asks.
	Reserved bool
}

// Response is an HTTP answer from Vlens.
type Response struct {
	Method string
	URL    string
	// HTTPStatus is the status code of the answer.
	HTTPStatus int
	// RequestID is the X-Request-Id sent with the request.
	RequestID string
	// Envelope is the decoded body; nil when it was not a JSON object or was
	// over the size limit.
	Envelope *Envelope
	// Body is the raw body, at most Config.MaxResponseBytes.
	Body []byte
	// Verdict is the classification of the call.
	Verdict Verdict
	// Refreshed reports that the access token was refreshed after an
	// auth_expired answer and the call replayed.
	Refreshed bool
	// Duration is the time Do took, token refresh and replay included.
	Duration time.Duration
}

// CallInfo describes one finished Do for metrics. It carries no secret and
// no user identity.
type CallInfo struct {
	Method string
	// Route is the path template (Call.Route or the templated Path).
	Route  string
	Tenant string
	// HTTPStatus is 0 when no answer arrived.
	HTTPStatus int
	Class      Class
	Category   Category
	Code       int
	Duration   time.Duration
	Refreshed  bool
	// Trace is the span context of the caller (invalid when untraced), for
	// metric exemplars.
	Trace trace.SpanContext
}

// Hooks observe the client, for metrics. All are optional, run synchronously
// and must be cheap and safe for concurrent use: OnCall and OnThrottle run on
// the goroutine of Do, OnRefresh on the one performing the shared refresh.
// They never receive secrets.
type Hooks struct {
	// OnCall runs once per Do, after the call ends.
	OnCall func(CallInfo)
	// OnRefresh runs after every login or token refresh this client performs;
	// user reports an end-user token (else the tenant's); err is nil on
	// success. It runs once more, with an error, when the new tokens could
	// not be written to the SessionStore.
	OnRefresh func(tenant string, user bool, err error)
	// OnThrottle runs when the local rate limiter asks a call to wait.
	OnThrottle func(tenant string, wait time.Duration)
}

// Config configures a [Client].
type Config struct {
	// BaseURL is the Vlens API root. Default BaseURLDefault.
	BaseURL string
	// Tenants resolves Call.Tenant to its ApiKey and credentials. Required.
	Tenants TenantSource
	// Sessions stores tenant and user tokens shared by all processes.
	// Required for TokenTenant and TokenUser calls; a TokenNone-only client
	// may leave it nil.
	Sessions SessionStore
	// Limiter bounds the calls per tenant. Default nil: no local limit.
	Limiter Limiter
	// ThrottleWait is how long Do may wait in-process for the Limiter before
	// it gives up with a throttled error. Default 0: never wait, return the
	// throttled error at once (the queue retries later).
	ThrottleWait time.Duration
	// Table classifies answers. Default DefaultTable().
	Table *Table
	// HTTPClient sends the requests. Default: a client with its own pooled
	// transport (keep-alives, 256 idle connections per host, TLS 1.2+), no
	// global timeout and no redirect following.
	HTTPClient *http.Client
	// Timeout bounds one HTTP exchange (request and body). Default
	// TimeoutDefault (120 s).
	Timeout time.Duration
	// MaxResponseBytes bounds the body read; a larger answer fails as
	// permanent/server. Default MaxResponseBytesDefault (8 MiB).
	MaxResponseBytes int64
	// RefreshAhead refreshes a token this long before its known expiry. Keep
	// it below the token lifetime. Default RefreshAheadDefault (60 s).
	RefreshAhead time.Duration
	// RefreshTimeout bounds one login or refresh exchange and the wait for
	// another process's refresh. Default RefreshTimeoutDefault (30 s).
	RefreshTimeout time.Duration
	// TenantTokenCache is how long a tenant's token, once read from or
	// written to Sessions, is reused from memory instead of reading the
	// store on every call (one Redis round trip less per call). A token
	// another process refreshed meanwhile is picked up when this runs out,
	// or at once when Vlens refuses the cached one (the refresh then finds
	// the newer token in the store and uses it). User tokens are always read
	// from the store. Default 0: off. It is off because, with it on, a Redis
	// restart in the middle of a run left a task for asynq's recoverer (one
	// to two minutes) in about one run in five of the reliability suite's
	// restart test, against none in fourteen with it off; see
	// docs/performance.md.
	TenantTokenCache time.Duration
	// Hooks observe calls, refreshes and throttling. Default none.
	Hooks Hooks
	// Now is the clock for token expiry. Default time.Now.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	c.BaseURL = strings.TrimRight(cmp.Or(c.BaseURL, BaseURLDefault), "/")
	c.Timeout = cmp.Or(c.Timeout, TimeoutDefault)
	c.MaxResponseBytes = cmp.Or(c.MaxResponseBytes, MaxResponseBytesDefault)
	c.RefreshAhead = cmp.Or(c.RefreshAhead, RefreshAheadDefault)
	c.RefreshTimeout = cmp.Or(c.RefreshTimeout, RefreshTimeoutDefault)
	if c.Table == nil {
		c.Table = DefaultTable()
	}
	if c.HTTPClient == nil {
		c.HTTPClient = defaultHTTPClient()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

func (c *Config) validate() error {
	if c.Tenants == nil {
		return errors.New("vlens: config: Tenants is required")
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("vlens: config: BaseURL %q must be an absolute http(s) URL", c.BaseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("vlens: config: BaseURL %q must not have a query or fragment", c.BaseURL)
	}
	switch {
	case c.Timeout < 0:
		return errors.New("vlens: config: Timeout must not be negative")
	case c.MaxResponseBytes < 0:
		return errors.New("vlens: config: MaxResponseBytes must not be negative")
	case c.RefreshAhead < 0:
		return errors.New("vlens: config: RefreshAhead must not be negative")
	case c.RefreshTimeout < 0:
		return errors.New("vlens: config: RefreshTimeout must not be negative")
	case c.ThrottleWait < 0:
		return errors.New("vlens: config: ThrottleWait must not be negative")
	}
	return nil
}

// DefaultHTTPClient returns a new client like the one a Config without
// HTTPClient uses: pooled keep-alive transport, TLS 1.2+, no redirects. Wrap
// its transport (tracing) and pass it as Config.HTTPClient.
func DefaultHTTPClient() *http.Client { return defaultHTTPClient() }

func defaultHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 1024
	tr.MaxIdleConnsPerHost = 256
	tr.IdleConnTimeout = 90 * time.Second
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	return &http.Client{
		Transport: tr,
		// A redirected POST would turn into a GET; classify the 3xx instead.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Client calls Vlens for many tenants. It is safe for concurrent use.
type Client struct {
	cfg     Config
	flights flightGroup
	tenants tokenCache // tenant sessions, see Config.TenantTokenCache
}

// New returns a client, or an error naming the invalid Config field.
func New(cfg Config) (*Client, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Client{cfg: cfg}, nil
}

// CloseIdleConnections closes the idle connections of the client's transport.
func (c *Client) CloseIdleConnections() { c.cfg.HTTPClient.CloseIdleConnections() }

// Do performs one call. On success it returns the response and nil. Any other
// verdict returns the response (nil when no answer arrived) and a *[Error]
// carrying the method, URL, status, Vlens code, message, descriptions, field
// errors, class, category, resolution, the size-bounded raw body, RetryAfter
// and the transport error. Errors never contain request bodies or secrets.
//
// Before sending, Do asks the Limiter (a refusal is a throttled error and
// nothing is sent) and fetches the bearer token (logging in or refreshing
// when needed). An auth_expired answer refreshes the token and replays the
// call exactly once; a second auth_expired is permanent. Transient failures
// are not retried here: retries belong to the queue.
func (c *Client) Do(ctx context.Context, call Call) (*Response, error) {
	start := time.Now()
	resp, err := c.do(ctx, call)
	elapsed := time.Since(start)
	if resp != nil {
		resp.Duration = elapsed
	}
	if c.cfg.Hooks.OnCall != nil {
		info := CallInfo{Method: call.method(), Route: call.route(), Tenant: call.Tenant, Duration: elapsed, Class: ClassSuccess,
			Trace: trace.SpanContextFromContext(ctx)}
		if resp != nil {
			info.HTTPStatus, info.Refreshed = resp.HTTPStatus, resp.Refreshed
			info.Code = resp.Verdict.Code
		}
		if err != nil {
			info.HTTPStatus = err.HTTPStatus
			info.Class, info.Category, info.Code = err.Class, err.Category, err.Code
		}
		c.cfg.Hooks.OnCall(info)
	}
	if err != nil {
		return resp, err
	}
	return resp, nil
}

func (c *Client) do(ctx context.Context, call Call) (*Response, *Error) {
	method, target := call.method(), c.cfg.BaseURL+call.Path
	body, err := call.validate()
	if err != nil {
		return nil, c.newError(method, target, ClassPermanent, CategoryValidation, "", "invalid call: "+err.Error())
	}
	t, ok := c.cfg.Tenants.Tenant(call.Tenant)
	if !ok {
		return nil, c.newError(method, target, ClassPermanent, CategoryAuthentication,
			"Add the tenant to the tenants file (VLENSQ_TENANTS) or fix the task's tenant",
			fmt.Sprintf("unknown tenant %q: not in the tenants file", call.Tenant))
	}
	if !call.Reserved {
		if e := c.throttle(ctx, t, method, target); e != nil {
			return nil, e
		}
	}
	ex := exchange{tenant: t, method: method, url: target, body: body, timeout: cmp.Or(call.Timeout, c.cfg.Timeout)}
	if call.Token != TokenNone {
		tok, e := c.accessToken(ctx, t, call)
		if e != nil {
			return nil, c.rebase(e, method, target)
		}
		ex.bearer = tok
	}
	resp, e := c.send(ctx, ex)
	if e == nil || e.Class != ClassAuthExpired {
		return resp, e
	}
	if call.Token == TokenNone {
		e.Class, e.Category = ClassPermanent, CategoryAuthentication
		e.Resolution = "The endpoint wants a bearer token: call it with a tenant or user token"
		e.Reason = "http 401 on a call without a token (nothing to refresh)"
		setVerdict(resp, e)
		return resp, e
	}

	// The access token expired: refresh it (once per owner, across
	// processes), then replay exactly once.
	sess, re := c.renew(ctx, t, call.owner(), ex.bearer)
	if re != nil {
		// The call's own 401 answer stays in the error (status, body); the
		// text and class are the refresh's, which Unwrap returns.
		out := c.rebase(re, method, target)
		out.HTTPStatus, out.RequestID, out.Envelope, out.Body, out.BodyTruncated = e.HTTPStatus, e.RequestID, e.Envelope, e.Body, e.BodyTruncated
		out.Sent, out.refused = e.Sent, true // Vlens refused the call: 401
		setVerdict(resp, out)
		return resp, out
	}
	if e := c.throttle(ctx, t, method, target); e != nil {
		return nil, e
	}
	ex.bearer = sess.AccessToken
	resp, e = c.send(ctx, ex)
	if resp != nil {
		resp.Refreshed = true
	}
	if e != nil && e.Class == ClassAuthExpired {
		e.Class, e.Category = ClassPermanent, CategoryAuthentication
		e.Resolution = "The refreshed token was refused too: check that the credentials belong to this tenant and have " +
			"permission for the endpoint (role assignments in the Vlens portal), then requeue"
		e.Reason = "token refresh did not help: " + e.Reason
		setVerdict(resp, e)
	}
	return resp, e
}

// setVerdict makes the response agree with the error finally returned.
func setVerdict(resp *Response, e *Error) {
	if resp != nil {
		v := e.Verdict()
		v.RetryAfter = resp.Verdict.RetryAfter
		resp.Verdict = v
	}
}

// throttle asks the Limiter for one call, waiting up to ThrottleWait.
func (c *Client) throttle(ctx context.Context, t Tenant, method, target string) *Error {
	if c.cfg.Limiter == nil {
		return nil
	}
	deadline := time.Now().Add(c.cfg.ThrottleWait)
	var span trace.Span // the wait's span, from the first wait on
	var waited time.Duration
	defer func() {
		if span != nil {
			span.SetAttributes(tracing.AttrWaitMS.Int64(waited.Milliseconds()))
			span.End()
		}
	}()
	for {
		wait, err := c.cfg.Limiter.Allow(ctx, t)
		if err != nil {
			e := c.newError(method, target, ClassTransient, CategoryNetwork, "", "rate limiter unavailable")
			e.Err = err
			return e
		}
		if wait <= 0 {
			return nil
		}
		if c.cfg.Hooks.OnThrottle != nil {
			c.cfg.Hooks.OnThrottle(t.Name, wait)
		}
		if span == nil && tracing.Recording(ctx) {
			_, span = tracing.Start(ctx, tracing.SpanRateLimitWait, tracing.AttrTenant.String(t.Name))
		}
		if time.Now().Add(wait).After(deadline) {
			e := c.newError(method, target, ClassThrottled, CategoryAccount,
				"Wait and retry: the tenant's rate limit (rate_per_second / rate_per_minute) is in use", "local rate limit")
			e.RetryAfter = wait
			return e
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return c.transportError(method, target, "", context.Cause(ctx))
		case <-timer.C:
			waited += wait
		}
	}
}

// exchange is one HTTP request to Vlens.
type exchange struct {
	tenant  Tenant
	method  string
	url     string
	body    []byte
	bearer  string
	timeout time.Duration
}

// send performs one exchange and classifies it. The response is nil when no
// answer arrived; the error is nil on success.
func (c *Client) send(ctx context.Context, ex exchange) (*Response, *Error) {
	requestID := newRequestID()
	ctx, cancel := context.WithTimeout(ctx, ex.timeout)
	defer cancel()
	var rd io.Reader
	if ex.body != nil {
		rd = bytes.NewReader(ex.body)
	}
	req, err := http.NewRequestWithContext(ctx, ex.method, ex.url, rd)
	if err != nil {
		return nil, c.newError(ex.method, ex.url, ClassPermanent, CategoryValidation, "", "invalid request: "+err.Error())
	}
	req.Header.Set("ApiKey", ex.tenant.APIKey)
	req.Header.Set("TenancyName", ex.tenant.Name)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Request-Id", requestID)
	if ex.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+ex.bearer)
	}

	// Whether the request reached a connection decides if a failed call of
	// a non-idempotent type may be repeated (Error.NotProcessed).
	var sent atomic.Bool
	req = req.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteHeaders: func() { sent.Store(true) },
	}))
	hr, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		e := c.transportError(ex.method, ex.url, requestID, err)
		e.Sent = sent.Load()
		return nil, e
	}
	defer hr.Body.Close()
	raw, truncated, readErr := readBounded(hr.Body, c.cfg.MaxResponseBytes)
	resp := &Response{Method: ex.method, URL: ex.url, HTTPStatus: hr.StatusCode, RequestID: requestID, Body: raw}

	var v Verdict
	switch {
	case readErr != nil:
		e := c.transportError(ex.method, ex.url, requestID, readErr)
		e.HTTPStatus, e.Body, e.Sent = hr.StatusCode, raw, true
		resp.Verdict = e.Verdict()
		return resp, e
	case truncated:
		v = Verdict{Class: ClassPermanent, Category: CategoryServer,
			Resolution: "Raise MaxResponseBytes if answers this large are expected; otherwise report the response to Vlens support",
			Reason:     fmt.Sprintf("response body exceeds %d bytes (MaxResponseBytes); not parsed", c.cfg.MaxResponseBytes)}
	default:
		env, decErr := DecodeEnvelope(raw)
		resp.Envelope = env
		v = c.cfg.Table.ClassifyEndpoint(hr.Request.URL.Path, hr.StatusCode, env, decErr)
	}
	resp.Verdict = v
	if v.Class == ClassSuccess {
		return resp, nil
	}
	e := &Error{
		Method: ex.method, URL: ex.url, HTTPStatus: hr.StatusCode, RequestID: requestID,
		Code: v.Code, Class: v.Class, Category: v.Category, Resolution: v.Resolution, Reason: v.Reason, Breaker: v.Breaker,
		Envelope: resp.Envelope, Body: raw, BodyTruncated: truncated, Sent: true,
		// A Retry-After header wins when it asks for longer than the rule.
		RetryAfter: max(ParseRetryAfter(hr.Header.Get("Retry-After"), c.cfg.Now()), v.RetryAfter),
	}
	if env := resp.Envelope; env != nil {
		if e.Code == 0 && env.ErrorCode != nil {
			e.Code = *env.ErrorCode
		}
		e.Message, e.Descriptions = env.ErrorMessage, env.Descriptions
		if env.Services != nil {
			e.FieldErrors = env.Services.ValidationErrors
		}
	}
	return resp, e
}

// transportError classifies a failure without an answer (or with a broken
// one).
func (c *Client) transportError(method, target, requestID string, err error) *Error {
	v := c.cfg.Table.ClassifyTransport(err)
	return &Error{Method: method, URL: target, RequestID: requestID, Class: v.Class, Category: v.Category,
		Resolution: v.Resolution, Reason: v.Reason, Code: v.Code, Err: err}
}

func (c *Client) newError(method, target string, class Class, cat Category, resolution, reason string) *Error {
	return &Error{Method: method, URL: target, Class: class, Category: cat, Resolution: resolution, Reason: reason}
}

// rebase turns an error of a token exchange (login, refresh, session store)
// into an error of the call being made; the token error stays reachable via
// Unwrap. Its body is not copied: the token endpoint's answer is not the
// call's.
func (c *Client) rebase(e *Error, method, target string) *Error {
	if e.Method == method && e.URL == target {
		return e
	}
	return &Error{Method: method, URL: target, Class: e.Class, Category: e.Category, Resolution: e.Resolution,
		Reason: e.Reason, RetryAfter: e.RetryAfter, Err: e}
}

// readBounded reads at most limit bytes; truncated reports a longer body.
func readBounded(r io.Reader, limit int64) (body []byte, truncated bool, err error) {
	body, err = io.ReadAll(io.LimitReader(r, limit+1))
	if int64(len(body)) > limit {
		return body[:limit], true, nil
	}
	return body, false, err
}

// ParseRetryAfter reads a Retry-After header value, delay-seconds or an HTTP
// date (relative to now); 0 when empty, invalid or in the past.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(365*24*time.Hour/time.Second))) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0)
	}
	return 0
}

// newRequestID returns a random (version 4) UUID.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (call Call) method() string {
	if call.Method != "" {
		return strings.ToUpper(call.Method)
	}
	if call.Body != nil {
		return http.MethodPost
	}
	return http.MethodGet
}

// owner is the session owner of the call: "" for the tenant's token.
func (call Call) owner() string {
	if call.Token == TokenUser {
		return call.User
	}
	return ""
}

// validate checks the call and encodes its body.
func (call Call) validate() ([]byte, error) {
	switch {
	case call.Tenant == "":
		return nil, errors.New("Tenant is required")
	case !strings.HasPrefix(call.Path, "/"):
		return nil, fmt.Errorf("Path %q must start with /", call.Path)
	case call.Token == TokenUser && call.User == "":
		return nil, errors.New("User is required for a user-token call")
	case call.Token < TokenTenant || call.Token > TokenNone:
		return nil, fmt.Errorf("unknown Token kind %d", call.Token)
	case call.Timeout < 0:
		return nil, errors.New("Timeout must not be negative")
	}
	switch m := call.method(); m {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return nil, fmt.Errorf("unsupported Method %q", m)
	}
	switch b := call.Body.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		return b, nil
	case []byte:
		return b, nil
	}
	body, err := json.Marshal(call.Body)
	if err != nil {
		var typ *json.UnsupportedTypeError
		if errors.As(err, &typ) {
			return nil, fmt.Errorf("Body cannot be encoded as JSON: %v", err)
		}
		// Other encoding errors may quote the body; name only its type.
		return nil, fmt.Errorf("Body (%T) cannot be encoded as JSON", call.Body)
	}
	return body, nil
}

// route returns the metrics name of the call's endpoint.
func (call Call) route() string {
	if call.Route != "" {
		return call.Route
	}
	return RouteTemplate(call.Path)
}

// RouteTemplate returns path as a metrics label: without its query, and with
// id-like segments (numbers, UUIDs, long mixed ids, anything with ':' or '%')
// replaced by "{id}", so that labels stay few. E.g.
// "/api/BusinessRequest/GetBusinessRequestById/123" →
// "/api/BusinessRequest/GetBusinessRequestById/{id}".
func RouteTemplate(path string) string {
	path, _, _ = strings.Cut(path, "?")
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if isIDSegment(s) {
			segs[i] = "{id}"
		}
	}
	return strings.Join(segs, "/")
}

func isIDSegment(s string) bool {
	if s == "" {
		return false
	}
	digits, letters := 0, 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
			letters++
		case r == '-' || r == '_' || r == '.':
		default:
			return true // ':', '%', ... never appear in Vlens route names
		}
	}
	return letters == 0 || (digits > 0 && len(s) >= 16)
}
