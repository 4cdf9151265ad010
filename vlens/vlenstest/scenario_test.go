package vlenstest

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseScenario(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc  string
		in    string
		steps []step
	}{
		{desc: "one step", in: "sandbox:ok", steps: []step{{text: "ok", act: actOK, retryAfter: -1}}},
		{desc: "key is ignored", in: "sandbox:http500,ok#k1", steps: []step{
			{text: "http500", act: actHTTP500, retryAfter: -1}, {text: "ok", act: actOK, retryAfter: -1}}},
		{desc: "429 with and without Retry-After", in: "sandbox:http429:7,http429", steps: []step{
			{text: "http429:7", act: actHTTP429, status: 429, retryAfter: 7}, {text: "http429", act: actHTTP429, status: 429, retryAfter: -1}}},
		{desc: "code and http", in: "sandbox:code:3011,http:422:5002,http:403", steps: []step{
			{text: "code:3011", act: actCode, code: 3011, retryAfter: -1},
			{text: "http:422:5002", act: actHTTP, status: 422, code: 5002, retryAfter: -1},
			{text: "http:403", act: actHTTP, status: 403, retryAfter: -1}}},
		{desc: "delay combined with an outcome", in: "sandbox:delay:200ms+code:5000", steps: []step{
			{text: "delay:200ms+code:5000", act: actCode, code: 5000, delay: 200 * time.Millisecond, retryAfter: -1}}},
		{desc: "delay alone is ok after the delay", in: "sandbox:delay:1s", steps: []step{
			{text: "delay:1s", act: actOK, delay: time.Second, retryAfter: -1}}},
		{desc: "msg is percent-decoded and may hold colons", in: "sandbox:msg:User not eligible%2C sorry: KYC", steps: []step{
			{text: "msg:User not eligible%2C sorry: KYC", act: actMsg, msg: "User not eligible, sorry: KYC", retryAfter: -1}}},
		{desc: "every simple step", in: "sandbox:http502html,http503,http408,reset,truncated,empty,services3011,http400desc,fake,liveness_false,src_invalid,expire",
			steps: []step{
				{text: "http502html", act: actHTTP502HTML, retryAfter: -1}, {text: "http503", act: actHTTP503, retryAfter: -1},
				{text: "http408", act: actHTTP408, retryAfter: -1}, {text: "reset", act: actReset, retryAfter: -1},
				{text: "truncated", act: actTruncated, retryAfter: -1}, {text: "empty", act: actEmpty, retryAfter: -1},
				{text: "services3011", act: actServices3011, retryAfter: -1}, {text: "http400desc", act: actHTTP400Desc, retryAfter: -1},
				{text: "fake", act: actFake, retryAfter: -1}, {text: "liveness_false", act: actLivenessFalse, retryAfter: -1},
				{text: "src_invalid", act: actSRCInvalid, retryAfter: -1}, {text: "expire", act: actExpire, retryAfter: -1},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			sc, err := parseScenario(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.steps, sc.steps, cmp.AllowUnexported(step{})); diff != "" {
				t.Fatalf("steps (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseScenarioErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, item string
	}{
		{"sandbox:", "sandbox:"},
		{"sandbox:#only-key", "sandbox:#only-key"},
		{"sandbox:ok,,ok", ""},
		{"sandbox:http600", "http600"},
		{"sandbox:ok,boom", "boom"},
		{"sandbox:code:abc", "code:abc"},
		{"sandbox:code", "code"},
		{"sandbox:code:0", "code:0"},
		{"sandbox:http:99", "http:99"},
		{"sandbox:http:500:x", "http:500:x"},
		{"sandbox:http:204", "http:204"},
		{"sandbox:http429:-1", "http429:-1"},
		{"sandbox:delay:soon", "delay:soon"},
		{"sandbox:delay:1h", "delay:1h"},
		{"sandbox:ok:1", "ok:1"},
		{"sandbox:msg:", "msg:"},
		{"sandbox:code:5000+http500", "http500"},
		{"sandbox:delay:1ms+", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			_, err := parseScenario(tc.in)
			var se *SpecError
			if !errors.As(err, &se) {
				t.Fatalf("error %v, want a *SpecError", err)
			}
			if se.Item != tc.item {
				t.Fatalf("item %q, want %q (%v)", se.Item, tc.item, err)
			}
		})
	}
}

func TestScenarioAtRepeatsTheLastStep(t *testing.T) {
	t.Parallel()
	sc, err := parseScenario("sandbox:http500,http503,ok")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for n := range 5 {
		got = append(got, sc.at(n).text)
	}
	if diff := cmp.Diff([]string{"http500", "http503", "ok", "ok", "ok"}, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestFindScenario(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, body, want string
	}{
		{"top level", `{"image":"abc","client_transaction_id":"sandbox:http500#1"}`, "sandbox:http500#1"},
		{"first in document order", `{"a":"sandbox:ok#first","b":"sandbox:http500#second"}`, "sandbox:ok#first"},
		{"one level down in an object", `{"requestId":5,"requestFieldsValues":{"x":"sandbox:code:5000"}}`, "sandbox:code:5000"},
		{"one level down in an array", `{"list":[1,"x","sandbox:empty"]}`, "sandbox:empty"},
		{"scanTransaction", `{"scanTransaction":{"image":"QUJD","face_1":"sandbox:fake"}}`, "sandbox:fake"},
		{"two levels down is ignored", `{"a":{"b":{"c":"sandbox:ok"}}}`, ""},
		{"nested containers skipped before a later hit", `{"a":{"b":{"c":"sandbox:x"},"d":[["sandbox:y"]]},"e":"sandbox:reset"}`, "sandbox:reset"},
		{"keys do not count", `{"sandbox:ok":"v"}`, ""},
		{"prefix must start the string", `{"a":"x sandbox:ok"}`, ""},
		{"prefix is case-sensitive", `{"a":"Sandbox:ok"}`, ""},
		{"none", `{"image":"abc"}`, ""},
		{"not an object", `["sandbox:ok"]`, ""},
		{"broken JSON", `{"a":`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, found := findScenario([]byte(tc.body))
			if got != tc.want || found != (tc.want != "") {
				t.Fatalf("findScenario = %q, %v; want %q", got, found, tc.want)
			}
		})
	}
}

func TestFindScenarioInURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ raw, want string }{
		{"/api/BusinessRequest/GetBusinessRequestById/sandbox:http500,ok%23k", "sandbox:http500,ok#k"},
		{"/api/BusinessRequest/GetBusinessRequestById/17", ""},
		{"/x?b=sandbox:code:5000&a=plain", "sandbox:code:5000"},
		{"/x?b=sandbox:ok%23b&a=sandbox:empty%23a", "sandbox:empty#a"},
	}
	for _, tc := range tests {
		u, err := url.Parse(tc.raw)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := findScenarioInURL(u); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.raw, got, tc.want)
		}
	}
}

// TestScenarioSteps drives every step through the HTTP server.
func TestScenarioSteps(t *testing.T) {
	t.Parallel()
	b := setup(t)

	tests := []struct {
		step  string
		check func(t *testing.T, r reply)
	}{
		{"ok", func(t *testing.T, r reply) { wantSuccess(t, r); r.str(t, "data.transaction_id") }},
		{"http500", func(t *testing.T, r reply) { wantFailure(t, r, 500, nil, "internal error") }},
		{"http503", func(t *testing.T, r reply) { wantFailure(t, r, 503, nil, "unavailable") }},
		{"http408", func(t *testing.T, r reply) { wantFailure(t, r, 408, nil, "timeout") }},
		{"http502html", func(t *testing.T, r reply) {
			wantStatus(t, r, 502)
			if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.raw), "<html>") || r.env != nil {
				t.Fatalf("want an HTML page, got %q %q", r.header.Get("Content-Type"), r.short())
			}
		}},
		{"truncated", func(t *testing.T, r reply) {
			wantStatus(t, r, 200)
			if json.Valid(r.raw) || !strings.HasPrefix(string(r.raw), `{"data":`) || len(r.raw) < 20 {
				t.Fatalf("want the first half of a JSON envelope, got %q", r.short())
			}
		}},
		{"empty", func(t *testing.T, r reply) {
			wantStatus(t, r, 200)
			if len(r.raw) != 0 {
				t.Fatalf("body %q, want empty", r.short())
			}
		}},
		{"http429:3", func(t *testing.T, r reply) {
			wantFailure(t, r, 429, nil, "Too many requests")
			if got := r.header.Get("Retry-After"); got != "3" {
				t.Fatalf("Retry-After %q, want 3", got)
			}
		}},
		{"http429", func(t *testing.T, r reply) {
			wantStatus(t, r, 429)
			if got := r.header.Get("Retry-After"); got != "" {
				t.Fatalf("Retry-After %q, want none", got)
			}
		}},
		{"code:3011", func(t *testing.T, r reply) { wantFailure(t, r, 200, 3011, "Card not detected") }},
		{"code:4003", func(t *testing.T, r reply) { wantFailure(t, r, 200, 4003, "Too many trials") }},
		{"code:9999", func(t *testing.T, r reply) { wantFailure(t, r, 200, 9999, "Error 9999") }},
		{"http:422:5002", func(t *testing.T, r reply) { wantFailure(t, r, 422, 5002, "5 MB") }},
		{"http:403", func(t *testing.T, r reply) { wantFailure(t, r, 403, nil, "Forbidden") }},
		{"services3011", func(t *testing.T, r reply) {
			wantSuccess(t, r)
			if v, _ := r.get("data.isVerificationProcessCompleted"); v != false {
				t.Fatalf("isVerificationProcessCompleted = %v", v)
			}
			v, _ := r.get("services.Validations.validation_errors")
			list, _ := v.([]any)
			if len(list) != 1 {
				t.Fatalf("validation_errors = %v", v)
			}
			errs := list[0].(map[string]any)["errors"].([]any)
			if code := errs[0].(map[string]any)["code"]; code != float64(3011) {
				t.Fatalf("inner code %v, want 3011", code)
			}
		}},
		{"http400desc", func(t *testing.T, r reply) {
			wantFailure(t, r, 400, 400, "Validation failed")
			if diff := cmp.Diff([]string{"image: image is required"}, r.descriptions()); diff != "" {
				t.Fatalf("descriptions (-want +got):\n%s", diff)
			}
		}},
		{"fake", func(t *testing.T, r reply) {
			wantSuccess(t, r)
			if v, _ := r.get("services.spoofing.fake"); v != true {
				t.Fatalf("services.spoofing.fake = %v", v)
			}
		}},
		{"liveness_false", func(t *testing.T, r reply) {
			wantSuccess(t, r)
			if v, ok := r.get("services.liveness"); !ok || v != false {
				t.Fatalf("services.liveness = %v", v)
			}
		}},
		{"src_invalid", func(t *testing.T, r reply) {
			wantSuccess(t, r)
			if v, _ := r.get("services.SRC.isValid"); v != false {
				t.Fatalf("services.SRC.isValid = %v", v)
			}
		}},
		{"msg:User not eligible", func(t *testing.T, r reply) { wantFailure(t, r, 200, nil, "User not eligible") }},
		{"expire", func(t *testing.T, r reply) { wantFailure(t, r, 401, nil, "expired") }},
		{"location_changed", func(t *testing.T, r reply) { wantFailure(t, r, 200, nil, "Location changed: liveness required") }},
		{"bogus", func(t *testing.T, r reply) {
			wantFailure(t, r, 400, nil, `bad item "bogus"`)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.step, func(t *testing.T) {
			token := b.userToken("steps-user")
			sc := "sandbox:" + tc.step + "#" + t.Name()
			r := b.post(t, pathFront, token, frontBody(map[string]any{"client_transaction_id": sc}))
			tc.check(t, r)
		})
	}
}

func TestScenarioSequenceAndCounting(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token := b.userToken("seq-user")
	sc := "sandbox:http500,code:5000,ok#seq"
	type answer struct {
		Status int
		Code   any
	}
	var got []answer
	for range 4 {
		r := b.post(t, pathFront, token, frontBody(map[string]any{"client_transaction_id": sc}))
		got = append(got, answer{r.status, r.code(t)})
	}
	want := []answer{{500, nil}, {200, 5000}, {200, nil}, {200, nil}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("answers (-want +got):\n%s", diff)
	}

	// The same steps with another key count separately.
	r := b.post(t, pathFront, token, frontBody(map[string]any{"client_transaction_id": "sandbox:http500,code:5000,ok#other"}))
	wantStatus(t, r, 500)

	recs := b.srv.Requests()
	if recs[0].Scenario != sc || recs[0].Step != "http500" || recs[2].Step != "ok" {
		t.Fatalf("records do not name scenario and step: %+v", recs[:3])
	}
	inj := b.srv.Injections()
	if len(inj) != 3 || inj[0].Fault != "http500" || inj[0].Scenario != sc || inj[0].Status != 500 || inj[1].Fault != "code:5000" {
		t.Fatalf("injections %+v: want the two scripted failures of each scenario, not the ok steps", inj)
	}
}

func TestScenarioReset(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token := b.userToken("reset-user")
	req := b.newRequest(t, http.MethodPost, pathFront, token, frontBody(map[string]any{"client_transaction_id": "sandbox:reset,ok#r"}))
	if resp, err := b.client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("reset step answered HTTP %d, want a connection error", resp.StatusCode)
	}
	wantSuccess(t, b.post(t, pathFront, token, frontBody(map[string]any{"client_transaction_id": "sandbox:reset,ok#r"})))
	inj := b.srv.Injections()
	if len(inj) != 1 || inj[0].Fault != "reset" || inj[0].Status != 0 {
		t.Fatalf("injections %+v", inj)
	}
	waitFor(t, "the reset call's record", func() bool { return len(b.srv.Requests()) == 2 })
}

func TestScenarioDelay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token := b.userToken("delay-user")
	start := time.Now()
	r := b.post(t, pathFront, token, frontBody(map[string]any{"client_transaction_id": "sandbox:delay:150ms+code:5000"}))
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Fatalf("answered after %v, want at least 150ms", el)
	}
	wantFailure(t, r, 200, 5000, "Something went wrong")
}

func TestScenarioExpireExpiresTheCallersToken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token, refresh := b.srv.UserTokens(b.a.Name, "exp-user")
	other := b.userToken("exp-other")
	body := frontBody(map[string]any{"client_transaction_id": "sandbox:expire,ok#e"})
	wantFailure(t, b.post(t, pathFront, token, body), 401, nil, "Access token expired")
	// The token stays expired even without the scenario.
	wantFailure(t, b.get(t, pathEligibility, token), 401, nil, "Access token expired")
	// Other tokens are unaffected.
	wantSuccess(t, b.get(t, pathEligibility, other))
	// Refresh and replay: the replay gets the next step.
	rr := b.post(t, pathUserRefresh, "", map[string]any{"refreshToken": refresh})
	wantSuccess(t, rr)
	wantSuccess(t, b.post(t, pathFront, rr.str(t, "data.accessToken"), body))
}

func TestScenarioOnGetPath(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token := b.userToken("get-user")
	path := pathGetBusinessReq + url.PathEscape("sandbox:http503,ok#g")
	wantStatus(t, b.get(t, path, token), 503)
	r := b.get(t, path, token)
	wantSuccess(t, r)
	if v, _ := r.get("data.requeststatus"); v != float64(StatusApproved) {
		t.Fatalf("a sandbox business request is approved, got requeststatus %v", v)
	}
	if r.code(t) != 0 {
		t.Fatalf("GetBusinessRequestById success code %v, want 0", r.code(t))
	}
}
