package vlenstest

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec string
		want Faults
	}{
		{"", Faults{}},
		{"none", Faults{}},
		{"latency=50ms,5xx=0.05,reset=0.02,html=0.02,truncated=0.02,429=0.02,401=0.02,4003=0.01,empty=0.01,seed=7", Faults{
			LatencyMin: 50 * time.Millisecond, LatencyMax: 50 * time.Millisecond,
			ServerError: 0.05, Reset: 0.02, HTML: 0.02, Truncated: 0.02, TooManyRequests: 0.02,
			TokenExpiry: 0.02, TooManyTrials: 0.01, Empty: 0.01, Seed: 7,
		}},
		{"latency=20ms-200ms", Faults{LatencyMin: 20 * time.Millisecond, LatencyMax: 200 * time.Millisecond}},
		{" 5xx = 0.5 , AUTH=on ", Faults{ServerError: 0.5, Auth: true}},
		{"auth=off,reset=1", Faults{Reset: 1}},
		{"5xx=0.5,reset=0.5", Faults{ServerError: 0.5, Reset: 0.5}},
		{"seed=-3", Faults{Seed: -3}},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			got, err := ParseFaults(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
			back, err := ParseFaults(got.String())
			if err != nil {
				t.Fatalf("String() %q does not parse: %v", got.String(), err)
			}
			if diff := cmp.Diff(got, back); diff != "" {
				t.Fatalf("round trip through %q (-want +got):\n%s", got.String(), diff)
			}
		})
	}
}

func TestFaultsString(t *testing.T) {
	t.Parallel()
	fs := Faults{LatencyMin: 20 * time.Millisecond, LatencyMax: 200 * time.Millisecond, TooManyTrials: 0.01, ServerError: 0.05, Auth: true, Seed: 7}
	if got, want := fs.String(), "latency=20ms-200ms,5xx=0.05,4003=0.01,auth=on,seed=7"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	if got := (Faults{}).String(); got != "none" {
		t.Fatalf("zero String() = %q, want none", got)
	}
}

func TestParseFaultsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec, item, reason string
	}{
		{"5xx", "5xx", "key=value"},
		{"5xx=2", "5xx=2", "from 0 to 1"},
		{"5xx=-0.1", "5xx=-0.1", "from 0 to 1"},
		{"5xx=NaN", "5xx=NaN", "from 0 to 1"},
		{"reset=0.1,foo=0.1", "foo=0.1", `unknown key "foo"`},
		{"latency=fast", "latency=fast", "duration"},
		{"latency=200ms-20ms", "latency=200ms-20ms", "MIN <= MAX"},
		{"latency=10ms-x", "latency=10ms-x", "MIN-MAX"},
		{"seed=x", "seed=x", "integer"},
		{"auth=maybe", "auth=maybe", "on or off"},
		{"5xx=0.1,5xx=0.2", "5xx=0.2", "twice"},
		{"5xx=0.1,,reset=0.1", "", "empty item"},
		{"5xx=0.6,reset=0.6", "5xx=0.6,reset=0.6", "more than 1"},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			_, err := ParseFaults(tc.spec)
			var se *SpecError
			if !errors.As(err, &se) {
				t.Fatalf("error %v, want *SpecError", err)
			}
			if se.Item != tc.item || !strings.Contains(se.Reason, tc.reason) {
				t.Fatalf("SpecError{Item: %q, Reason: %q}, want item %q and reason containing %q", se.Item, se.Reason, tc.item, tc.reason)
			}
			if tc.item != "" && !strings.Contains(err.Error(), tc.item) {
				t.Fatalf("error text %q does not name the item", err)
			}
		})
	}
}

func TestFaultsValidate(t *testing.T) {
	t.Parallel()
	for _, fs := range []Faults{{Reset: -0.1}, {HTML: 1.5}, {ServerError: 0.7, Empty: 0.7}, {LatencyMin: time.Second}, {LatencyMin: -1, LatencyMax: -1}} {
		if err := fs.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", fs)
		}
	}
	if err := (Faults{ServerError: 0.5, Reset: 0.5, LatencyMax: time.Second}).Validate(); err != nil {
		t.Errorf("valid faults: %v", err)
	}
}

// TestPickRates checks that pick turns uniform draws into each kind at its
// rate, within 5 standard deviations.
func TestPickRates(t *testing.T) {
	t.Parallel()
	fs := Faults{ServerError: 0.05, Reset: 0.02, HTML: 0.02, Truncated: 0.02, Empty: 0.01, TooManyRequests: 0.02, TokenExpiry: 0.02, TooManyTrials: 0.01}
	const n = 200_000
	rng := newRand(7)
	counts := map[string]int{}
	for range n {
		counts[fs.pick(rng.Float64())]++
	}
	for _, k := range append([]string{""}, faultKinds...) {
		p := 1 - 0.17
		if k != "" {
			p = *fs.rate(k)
		}
		mean, sd := n*p, math.Sqrt(n*p*(1-p))
		if got := float64(counts[k]); math.Abs(got-mean) > 5*sd {
			t.Errorf("kind %q: %v draws, want %v ± %v", k, got, mean, 5*sd)
		}
	}
	if got := fs.pick(0); got != FaultServerError {
		t.Errorf("pick(0) = %q, want the first kind", got)
	}
	if got := (Faults{Reset: 1}).pick(0.999999); got != FaultReset {
		t.Errorf("rate 1 must always fire, got %q", got)
	}
	if got := (Faults{}).pick(0); got != "" {
		t.Errorf("no faults, got %q", got)
	}
}

func TestLatencyDraw(t *testing.T) {
	t.Parallel()
	fs := Faults{LatencyMin: 10 * time.Millisecond, LatencyMax: 30 * time.Millisecond}
	rng := newRand(3)
	seen := map[time.Duration]bool{}
	for range 1000 {
		d := fs.latency(rng)
		if d < fs.LatencyMin || d > fs.LatencyMax {
			t.Fatalf("latency %v outside [10ms, 30ms]", d)
		}
		seen[d] = true
	}
	if len(seen) < 100 {
		t.Fatalf("only %d distinct latencies in 1000 draws: not uniform", len(seen))
	}
	if d := (Faults{LatencyMin: 5 * time.Millisecond, LatencyMax: 5 * time.Millisecond}).latency(rng); d != 5*time.Millisecond {
		t.Fatalf("fixed latency %v, want 5ms", d)
	}
}

// TestFaultsAreDeterministicWithASeed draws on two fakes with the same
// seed: the same sequence of faults.
func TestFaultsAreDeterministicWithASeed(t *testing.T) {
	t.Parallel()
	fs, err := ParseFaults("5xx=0.1,reset=0.1,html=0.1,truncated=0.1,empty=0.1,429=0.1,401=0.1,4003=0.1,latency=1ms-9ms,seed=42")
	if err != nil {
		t.Fatal(err)
	}
	draw := func(f *Fake) []string {
		var out []string
		c := &call{ep: endpoints[4], tok: &token{}}
		for range 500 {
			st, kind := f.drawFault(c)
			out = append(out, kind+"/"+c.rec.Latency.String()+"/"+st.text)
		}
		return out
	}
	a := New(Options{Faults: fs})
	b := New(Options{Seed: 99})
	b.SetFaults(fs) // the spec's seed reseeds
	if diff := cmp.Diff(draw(a), draw(b)); diff != "" {
		t.Fatalf("same seed, different faults (-a +b):\n%s", diff)
	}
}

// TestRandomFaultsEndToEnd sends sequential OCR calls through a fake with
// every fault kind and checks that each kind fires at its rate, that every
// injection is recorded, and that the record matches what the client saw.
func TestRandomFaultsEndToEnd(t *testing.T) {
	t.Parallel()
	fs, err := ParseFaults("5xx=0.1,reset=0.1,html=0.1,truncated=0.1,empty=0.1,429=0.1,4003=0.1,seed=7")
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, func(o *Options) { o.Faults = fs })
	const n = 500
	var seen []string // what the client saw, per request
	for range n {
		req := b.newRequest(t, http.MethodPost, pathOCRFront, "", frontBody(nil))
		resp, err := b.client.Do(req)
		if err != nil {
			seen = append(seen, FaultReset)
			continue
		}
		r := reply{status: resp.StatusCode, header: resp.Header}
		r.raw = readAll(t, resp)
		_ = json.Unmarshal(r.raw, &r.env)
		seen = append(seen, observed(t, r))
	}
	counts := map[string]int{}
	for _, k := range seen {
		counts[k]++
	}
	for _, k := range []string{FaultServerError, FaultReset, FaultHTML, FaultTruncated, FaultEmpty, FaultTooManyRequests, FaultTooManyTrials, ""} {
		p := 0.1
		if k == "" {
			p = 0.3
		}
		mean, sd := n*p, math.Sqrt(n*p*(1-p))
		if got := float64(counts[k]); math.Abs(got-mean) > 5*sd {
			t.Errorf("%q seen %v times in %d calls, want %v ± %v", k, got, n, mean, 5*sd)
		}
	}
	if counts[FaultTokenExpiry] != 0 {
		t.Errorf("401 fired %d times on ApiKey-only calls", counts[FaultTokenExpiry])
	}
	var injected []string
	for _, in := range b.srv.Injections() {
		injected = append(injected, in.Fault)
		if in.Scenario != "" || in.Tenant != b.a.Name || in.Path != pathOCRFront || in.RequestID == "" {
			t.Fatalf("injection %+v", in)
		}
	}
	var want []string
	for _, k := range seen {
		if k != "" {
			want = append(want, k)
		}
	}
	if diff := cmp.Diff(want, injected); diff != "" {
		t.Fatalf("Injections() differ from what the client saw (-seen +recorded):\n%s", diff)
	}
}

func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return raw
}

// observed names the fault a client-side answer shows, "" for a success.
func observed(t *testing.T, r reply) string {
	t.Helper()
	switch {
	case r.status == 500 || r.status == 503 || r.status == 504:
		return FaultServerError
	case r.status == 502 && strings.Contains(string(r.raw), "<html>"):
		return FaultHTML
	case r.status == 429 && r.header.Get("Retry-After") == "1":
		return FaultTooManyRequests
	case r.status == 401:
		return FaultTokenExpiry
	case r.status == 200 && len(r.raw) == 0:
		return FaultEmpty
	case r.status == 200 && !json.Valid(r.raw):
		return FaultTruncated
	case r.status == 200 && r.code(t) == 4003:
		return FaultTooManyTrials
	case r.status == 200 && r.code(t) == 0:
		return ""
	}
	t.Fatalf("unexpected answer %d %s", r.status, r.short())
	return ""
}

func TestFaultsSpareLoginAndRefreshUnlessAuth(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.Faults = Faults{ServerError: 1} })
	access, refresh := b.tenantLogin(t)
	wantSuccess(t, b.post(t, pathRefresh, "", map[string]any{"refreshToken": refresh}))
	wantSuccess(t, b.post(t, pathUserLogin, "", map[string]any{"userNameOrEmailAddress": "u1", "password": "p"}))
	if r := b.post(t, pathOCRFront, access, frontBody(nil)); r.status < 500 {
		t.Fatalf("OCR call with 5xx=1 answered %d", r.status)
	}

	b.srv.SetFaults(Faults{ServerError: 1, Auth: true})
	r := b.post(t, pathLogin, "", map[string]any{
		"tenancyName": b.a.Name, "userNameOrEmailAddress": b.a.Username, "password": b.a.Password,
	})
	if r.status < 500 {
		t.Fatalf("login with 5xx=1,auth=on answered %d", r.status)
	}
	if got := b.srv.Logins(b.a.Name); got != 1 {
		t.Fatalf("Logins = %d: a faulted login must not count", got)
	}
}

func TestTokenExpiryFault(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.Faults = Faults{TokenExpiry: 1} })
	token := b.userToken("fault-401")
	wantFailure(t, b.get(t, pathEligibility, token), 401, nil, "Access token expired")
	// ApiKey-only calls have no token to expire: they pass untouched.
	wantSuccess(t, b.post(t, pathOCRFront, "", frontBody(nil)))

	b.srv.SetFaults(Faults{})
	wantFailure(t, b.get(t, pathEligibility, token), 401, nil, "Access token expired")
	if inj := b.srv.Injections(); len(inj) != 1 || inj[0].Fault != FaultTokenExpiry || inj[0].Status != 401 {
		t.Fatalf("injections %+v, want one 401", inj)
	}
}

func TestLatencyFault(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) {
		o.Faults = Faults{LatencyMin: 60 * time.Millisecond, LatencyMax: 60 * time.Millisecond}
	})
	start := time.Now()
	wantSuccess(t, b.post(t, pathOCRFront, "", frontBody(nil)))
	if el := time.Since(start); el < 60*time.Millisecond {
		t.Fatalf("answered after %v, want at least 60ms", el)
	}
	recs := b.srv.Requests()
	if len(recs) != 1 || recs[0].Latency != 60*time.Millisecond {
		t.Fatalf("records %+v, want one with Latency 60ms", recs)
	}
	if len(b.srv.Injections()) != 0 {
		t.Fatal("latency alone is recorded on the request, not as an injection")
	}
}
