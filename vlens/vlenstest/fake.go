package vlenstest

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vlensq/vlensq/vlens"
)

// Fake is an in-process Vlens. It implements http.Handler (the Vlens API
// alone; Handler adds the /_sandbox/ admin routes). All methods are safe for
// concurrent use.
type Fake struct {
	opts     Options
	done     chan struct{}
	stopOnce sync.Once

	mu            sync.Mutex
	tenants       map[string]*tenantState // by lower-case tenancy name
	byKey         map[string]*tenantState // by API key
	tokens        map[string]*token
	issued        uint64 // tokens issued so far; token.seq
	accessCutoff  uint64 // access tokens with seq <= this are expired
	refreshCutoff uint64 // refresh tokens with seq <= this are revoked
	nextUserID    int
	nextBizID     int
	scenarios     *bounded[int] // requests seen per scenario string
	transactions  *bounded[*transaction]
	bizRequests   *bounded[*bizRequest]
	otpRequests   *bounded[*otpRequest]
	otpsSent      *bounded[int]
	logins        map[string]int
	refreshes     map[string]int
	requests      ring[Request]
	injections    ring[Injection]
	faults        Faults
	rng           *rand.Rand
}

type tenantState struct {
	cfg   vlens.Tenant
	key   string // lower-case name
	users map[string]*endUser
	// accountCode, when set, is the account-level error every API call of
	// the tenant gets (see SetAccountError).
	accountCode int
}

type endUser struct {
	name        string
	id          int
	password    string
	hasPassword bool
	verified    bool
	loc         *geoPoint // last active location
}

// New returns a fake serving opts.Tenants. It panics when opts is invalid
// (see Options.Validate): a fake is built by tests and tools, where a bad
// option is a programming error.
func New(opts Options) *Fake {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	opts = opts.withDefaults()
	f := &Fake{
		opts:         opts,
		done:         make(chan struct{}),
		tenants:      map[string]*tenantState{},
		byKey:        map[string]*tenantState{},
		tokens:       map[string]*token{},
		nextUserID:   100,
		nextBizID:    1000,
		scenarios:    newBounded[int](opts.StateLimit),
		transactions: newBounded[*transaction](opts.StateLimit),
		bizRequests:  newBounded[*bizRequest](opts.StateLimit),
		otpRequests:  newBounded[*otpRequest](opts.StateLimit),
		otpsSent:     newBounded[int](opts.StateLimit),
		logins:       map[string]int{},
		refreshes:    map[string]int{},
		requests:     ring[Request]{limit: opts.RecordLimit},
		injections:   ring[Injection]{limit: opts.RecordLimit},
		faults:       opts.Faults,
		rng:          newRand(cmp.Or(opts.Faults.Seed, opts.Seed)),
	}
	for _, t := range opts.Tenants {
		f.AddTenant(t)
	}
	return f
}

// AddTenant accepts t from now on, replacing a tenant of the same name (its
// users and tokens stay valid). It panics when t lacks a name, key,
// username or password.
func (f *Fake) AddTenant(t vlens.Tenant) {
	if err := validateTenant(t); err != nil {
		panic("vlenstest: AddTenant: " + err.Error())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	key := strings.ToLower(t.Name)
	ts := f.tenants[key]
	if ts == nil {
		ts = &tenantState{key: key, users: map[string]*endUser{}}
		f.tenants[key] = ts
	} else {
		delete(f.byKey, ts.cfg.APIKey)
	}
	if other := f.byKey[t.APIKey]; other != nil && other != ts {
		panic(fmt.Sprintf("vlenstest: AddTenant(%s): api key already belongs to tenant %s", t.Name, other.cfg.Name))
	}
	ts.cfg = t
	f.byKey[t.APIKey] = ts
}

// SetAccountError makes every API call of tenant (logins and token
// refreshes aside) answer HTTP 200 with the account-level error code, e.g.
// 4002 "bundle balance exhausted", as Vlens does when the tenant's bundle
// runs out; 0 restores normal answers. It panics on an unknown tenant.
func (f *Fake) SetAccountError(tenant string, code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ts := f.tenants[strings.ToLower(tenant)]
	if ts == nil {
		panic("vlenstest: SetAccountError: unknown tenant " + tenant)
	}
	ts.accountCode = code
}

// accountError answers a call of a tenant whose account is broken (see
// SetAccountError).
func (f *Fake) accountError(c *call) *response {
	if c.tenant == nil || c.ep.auth == authKeyOnly {
		return nil
	}
	f.mu.Lock()
	code := c.tenant.accountCode
	f.mu.Unlock()
	if code == 0 {
		return nil
	}
	return failure(http.StatusOK, code, codeMessage(code))
}

// SetFaults replaces the random faults. A non-zero fs.Seed reseeds the
// random source, so a run is reproducible from this point.
func (f *Fake) SetFaults(fs Faults) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = fs
	if fs.Seed != 0 {
		f.rng = newRand(fs.Seed)
	}
}

// CurrentFaults returns the faults in force.
func (f *Fake) CurrentFaults() Faults {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.faults
}

// Injections returns the injected faults and scripted steps, oldest first
// (at most Options.RecordLimit).
func (f *Fake) Injections() []Injection {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.injections.all()
}

// Requests returns every call, oldest first (at most Options.RecordLimit).
// Records hold no bodies and no secrets.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests.all()
}

// OTPsSent returns how many OTP SMS StepRequestOtp has sent for the business
// request requestID (its id as Create returned it, a UUID, or its
// "sandbox:..." id).
func (f *Fake) OTPsSent(requestID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, _ := f.otpsSent.get(requestID)
	return n
}

// Logins returns how many tenant (admin) logins through
// /api/credentials/Login succeeded for tenant.
func (f *Fake) Logins(tenant string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logins[strings.ToLower(tenant)]
}

// Refreshes returns how many token refreshes succeeded for the token owner:
// user "" counts the tenant token (/api/credentials/RefreshToken), any other
// user that end user's (/api/DigitalIdentity/RefreshToken).
func (f *Fake) Refreshes(tenant, user string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refreshes[ownerKey(strings.ToLower(tenant), strings.ToLower(user))]
}

func ownerKey(tenant, user string) string { return tenant + "\x00" + user }

func (f *Fake) now() time.Time { return f.opts.Now() }

// Close cuts every pending and future delay short (delay: steps and fault
// latency), so that a server serving the fake shuts down promptly. The fake
// keeps answering, without delays. Server.Close calls it.
func (f *Fake) Close() { f.stopOnce.Do(func() { close(f.done) }) }

// call is one request on its way through the fake.
type call struct {
	w      http.ResponseWriter
	r      *http.Request
	ep     *endpoint
	param  string // the {typeId} / {id} path segment
	tenant *tenantState
	tcfg   vlens.Tenant // the tenant's configuration, copied under the lock
	tok    *token       // the access token presented, nil for none
	user   string       // lower-case end user name for user tokens
	body   []byte
	fields map[string]any // the decoded JSON body; nil for GET
	rec    Request
}

// ServeHTTP answers one Vlens API call.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{w: w, r: r, rec: Request{
		At:        f.now(),
		RequestID: r.Header.Get("X-Request-Id"),
		Method:    r.Method,
		Path:      r.URL.Path,
	}}
	defer f.record(c)
	if resp := f.prepare(c); resp != nil {
		f.write(c, resp)
		return
	}
	if resp := f.accountError(c); resp != nil {
		f.write(c, resp)
		return
	}
	sc, st, resp := f.scenarioStep(c)
	if resp != nil {
		f.write(c, resp)
		return
	}
	if sc != nil {
		c.rec.Scenario, c.rec.Step = sc.text, st.text
		f.sleep(r.Context(), st.delay)
		f.perform(c, st, sc.text, st.act != actOK || st.delay > 0, st.text)
		return
	}
	st, fault := f.drawFault(c)
	c.rec.Fault = fault
	f.sleep(r.Context(), c.rec.Latency)
	f.perform(c, st, "", fault != "", fault)
}

// prepare routes, authenticates and reads the body; a non-nil response ends
// the call.
func (f *Fake) prepare(c *call) *response {
	ep, param, resp := route(c.r.Method, c.r.URL.Path)
	if resp != nil {
		return resp
	}
	c.ep, c.param = ep, param
	if resp := f.authenticate(c); resp != nil {
		return resp
	}
	if c.r.Method == http.MethodPost {
		return f.readBody(c)
	}
	return nil
}

// scenarioStep finds the scenario of c, if any, and the step for this
// request. A bad scenario answers HTTP 400 naming the bad step.
func (f *Fake) scenarioStep(c *call) (*scenario, step, *response) {
	var text string
	var found bool
	if c.fields != nil {
		text, found = findScenario(c.body)
	} else {
		text, found = findScenarioInURL(c.r.URL)
	}
	if !found {
		return nil, step{}, nil
	}
	sc, err := parseScenario(text)
	if err != nil {
		r := failure(http.StatusBadRequest, 0, "sandbox scenario "+strconv.Quote(text)+": "+err.Error())
		r.env.ErrorDescriptions = []description{{Field: "sandbox", Message: err.Error()}}
		c.rec.Scenario = text
		return nil, step{}, r
	}
	f.mu.Lock()
	n, _ := f.scenarios.get(text)
	f.scenarios.put(text, n+1)
	f.mu.Unlock()
	return sc, sc.at(n), nil
}

// drawFault draws this request's random fault and latency.
func (f *Fake) drawFault(c *call) (step, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fs := f.faults
	if c.ep.auth == authKeyOnly && !fs.Auth {
		return step{act: actOK}, ""
	}
	c.rec.Latency = fs.latency(f.rng)
	kind := fs.pick(f.rng.Float64())
	st := step{retryAfter: -1}
	switch kind {
	case FaultServerError:
		st.act = []action{actHTTP500, actHTTP503, actHTTP504Text}[f.rng.IntN(3)]
	case FaultReset:
		st.act = actReset
	case FaultHTML:
		st.act = actHTTP502HTML
	case FaultTruncated:
		st.act = actTruncated
	case FaultEmpty:
		st.act = actEmpty
	case FaultTooManyRequests:
		st.act, st.status, st.retryAfter = actHTTP429, http.StatusTooManyRequests, 1
	case FaultTokenExpiry:
		if c.tok == nil { // nothing to expire: an ApiKey-only or login call
			return step{act: actOK}, ""
		}
		st.act = actExpire
	case FaultTooManyTrials:
		st.act, st.code = actCode, 4003
	}
	return st, kind
}

// perform answers c according to st and records the injection, if any.
func (f *Fake) perform(c *call, st step, scenarioText string, injected bool, fault string) {
	resp := f.outcome(c, st)
	status := 0
	if resp != nil {
		status = resp.status
	}
	if injected {
		f.mu.Lock()
		f.injections.add(Injection{
			At: c.rec.At, RequestID: c.rec.RequestID, Method: c.rec.Method, Path: c.rec.Path,
			Tenant: c.rec.Tenant, Fault: fault, Scenario: scenarioText, Status: status,
		})
		f.mu.Unlock()
	}
	if resp == nil {
		f.reset(c)
		return
	}
	f.write(c, resp)
}

// outcome builds the response of a step; nil means reset the connection.
func (f *Fake) outcome(c *call, st step) *response {
	switch st.act {
	case actReset:
		return nil
	case actOK:
		return c.ep.handle(f, c)
	case actTruncated:
		body := c.ep.handle(f, c).body()
		return &response{status: http.StatusOK, raw: body[:len(body)/2]}
	case actEmpty:
		c.ep.handle(f, c)
		return &response{status: http.StatusOK, raw: []byte{}}
	case actHTTP500:
		return failure(http.StatusInternalServerError, 0, msgInternal)
	case actHTTP502HTML:
		return &response{status: http.StatusBadGateway, raw: []byte(html502), contentType: "text/html"}
	case actHTTP503:
		return failure(http.StatusServiceUnavailable, 0, msgUnavailable)
	case actHTTP504Text:
		return &response{status: http.StatusGatewayTimeout, raw: []byte(text504), contentType: "text/plain; charset=utf-8"}
	case actHTTP408:
		return failure(http.StatusRequestTimeout, 0, msgTimeout)
	case actHTTP429:
		r := failure(http.StatusTooManyRequests, 0, msgTooMany)
		if st.retryAfter >= 0 {
			r.header = http.Header{"Retry-After": {strconv.Itoa(st.retryAfter)}}
		}
		return r
	case actCode:
		return codeFailure(http.StatusOK, st.code)
	case actHTTP:
		if st.code == 0 {
			return failure(st.status, 0, cmp.Or(http.StatusText(st.status), "HTTP "+strconv.Itoa(st.status)))
		}
		return codeFailure(st.status, st.code)
	case actServices3011:
		data := scriptedData(c)
		data["isVerificationProcessCompleted"] = false
		s := &services{ValidationsUpper: &validations{ValidationErrors: []validationError{{
			Field: "image", Value: nil, Errors: []codedText{{Code: 3011, Message: codeMessage(3011)}},
		}}}}
		return &response{status: http.StatusOK, env: &envelope{Data: data, ServicesLower: s}}
	case actHTTP400Desc:
		return validationFailure(description{Field: "image", Message: "image is required"})
	case actFake:
		data := scriptedData(c)
		data["isVerificationProcessCompleted"] = false
		s := &services{Spoofing: &spoofing{Fake: true}, Classification: &classification{DocType: "egyptian_id_front"}}
		c.ep.casing.validations(s)
		return success(c.ep.casing, data, s)
	case actLivenessFalse:
		data := scriptedData(c)
		data["isVerificationProcessCompleted"] = true
		data["isDigitalIdentityVerified"] = false
		s := &services{Liveness: ptr(false)}
		c.ep.casing.validations(s)
		return success(c.ep.casing, data, s)
	case actSRCInvalid:
		data := scriptedData(c)
		data["isVerificationProcessCompleted"] = false
		s := &services{SRC: &srcCheck{
			IsValid: false, ErrorCode: ptr(1), ErrorKey: ptr("NTRA_CHECK_FAILED"),
			ErrorMessage: ptr("NTRA or CSO authority check failed: the ID could not be verified against national records"),
		}}
		c.ep.casing.validations(s)
		return success(c.ep.casing, data, s)
	case actExpire:
		if c.tok != nil {
			f.mu.Lock()
			c.tok.expired = true
			f.mu.Unlock()
		}
		return failure(http.StatusUnauthorized, 0, msgAccessExpired)
	case actMsg:
		return messageFailure(st.msg)
	case actLocationChanged:
		return messageFailure(msgLocationChanged)
	}
	panic(fmt.Sprintf("vlenstest: unhandled action %d", st.act))
}

// scriptedData is the data of a scripted document failure: the request's
// transaction ids echoed back.
func scriptedData(c *call) map[string]any {
	txID, _ := stringField(c.fields, "transaction_id")
	if txID == "" {
		txID = newUUID()
	}
	data := map[string]any{"transaction_id": txID, "client_transaction_id": nil}
	if ct, ok := stringField(c.fields, "client_transaction_id"); ok && ct != "" {
		data["client_transaction_id"] = ct
	}
	return data
}

// write sends resp.
func (f *Fake) write(c *call, resp *response) {
	h := c.w.Header()
	for k, v := range resp.header {
		h[k] = v
	}
	body := resp.body()
	h.Set("Content-Type", cmp.Or(resp.contentType, "application/json; charset=utf-8"))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	c.w.WriteHeader(resp.status)
	_, _ = c.w.Write(body)
	c.rec.Status, c.rec.ErrorCode = resp.status, resp.code()
}

// reset drops the connection without an answer: a TCP RST where the
// connection can be hijacked, an aborted response otherwise.
func (f *Fake) reset(c *call) {
	c.rec.Status = 0
	if hj, ok := c.w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// sleep waits d, or until the caller gives up or the server closes.
func (f *Fake) sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-f.done:
	}
}

func (f *Fake) record(c *call) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests.add(c.rec)
}
