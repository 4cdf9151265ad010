package vlenstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ScenarioPrefix starts a scenario string: "sandbox:STEP,STEP,...#KEY".
const ScenarioPrefix = "sandbox:"

// MaxDelay bounds a delay:DUR step.
const MaxDelay = 10 * time.Minute

// action is what a scenario step (or a random fault) makes the fake answer.
type action int

const (
	actOK action = iota
	actHTTP500
	actHTTP502HTML
	actHTTP503
	actHTTP504Text
	actHTTP408
	actReset
	actTruncated
	actEmpty
	actHTTP429
	actCode
	actHTTP
	actServices3011
	actHTTP400Desc
	actFake
	actLivenessFalse
	actSRCInvalid
	actExpire
	actMsg
	actLocationChanged
)

// step is one parsed scenario step.
type step struct {
	text   string
	delay  time.Duration
	act    action
	status int // actHTTP, actHTTP429 (429)
	code   int // actCode, actHTTP (0: null)
	// retryAfter is the Retry-After value in seconds for actHTTP429; -1 for
	// no header.
	retryAfter int
	msg        string // actMsg
}

// scenario is a parsed "sandbox:..." string.
type scenario struct {
	text  string
	steps []step
}

// at returns the step for the n-th request (0-based) carrying the scenario:
// the last step repeats.
func (s *scenario) at(n int) step {
	return s.steps[min(n, len(s.steps)-1)]
}

// simpleSteps are the steps that take no argument.
var simpleSteps = map[string]action{
	"ok": actOK, "http500": actHTTP500, "http502html": actHTTP502HTML, "http503": actHTTP503,
	"http408": actHTTP408, "reset": actReset, "truncated": actTruncated, "empty": actEmpty,
	"services3011": actServices3011, "http400desc": actHTTP400Desc, "fake": actFake,
	"liveness_false": actLivenessFalse, "src_invalid": actSRCInvalid, "expire": actExpire,
	"location_changed": actLocationChanged,
}

// parseScenario parses "sandbox:STEPS[#KEY]". STEPS is a comma-separated
// list; a step is one outcome optionally combined with delays by "+".
func parseScenario(text string) (*scenario, error) {
	body, ok := strings.CutPrefix(text, ScenarioPrefix)
	if !ok {
		return nil, &SpecError{Item: text, Reason: "a scenario starts with " + ScenarioPrefix}
	}
	body, _, _ = strings.Cut(body, "#")
	if strings.TrimSpace(body) == "" {
		return nil, &SpecError{Item: text, Reason: "no steps (want e.g. sandbox:http500,ok)"}
	}
	sc := &scenario{text: text}
	for raw := range strings.SplitSeq(body, ",") {
		st, err := parseStep(strings.TrimSpace(raw))
		if err != nil {
			return nil, err
		}
		sc.steps = append(sc.steps, st)
	}
	return sc, nil
}

func parseStep(text string) (step, error) {
	st := step{text: text, retryAfter: -1}
	if text == "" {
		return st, &SpecError{Item: text, Reason: "empty step (stray comma?)"}
	}
	outcome := ""
	for part := range strings.SplitSeq(text, "+") {
		part = strings.TrimSpace(part)
		bad := func(reason string, a ...any) (step, error) {
			return step{}, &SpecError{Item: part, Reason: fmt.Sprintf(reason, a...)}
		}
		name, arg, hasArg := strings.Cut(part, ":")
		name = strings.ToLower(name)
		if name == "delay" {
			d, err := time.ParseDuration(arg)
			if err != nil || d < 0 || d > MaxDelay {
				return bad("delay needs a duration from 0 to %v, e.g. delay:200ms", MaxDelay)
			}
			st.delay += d
			continue
		}
		if outcome != "" {
			return bad("step %q already has the outcome %q; combine one outcome with delays only", text, outcome)
		}
		outcome = part
		if a, simple := simpleSteps[name]; simple {
			if hasArg {
				return bad("%s takes no argument", name)
			}
			st.act = a
			continue
		}
		switch name {
		case "http429":
			st.act, st.status = actHTTP429, 429
			if hasArg {
				n, perr := strconv.Atoi(arg)
				if perr != nil || n < 0 {
					return bad("http429:N needs N, the Retry-After seconds, as a whole number >= 0")
				}
				st.retryAfter = n
			}
		case "code":
			n, perr := strconv.Atoi(arg)
			if !hasArg || perr != nil || n <= 0 {
				return bad("code:NNNN needs a positive error code, e.g. code:3011")
			}
			st.act, st.code = actCode, n
		case "http":
			s, c, hasCode := strings.Cut(arg, ":")
			status, perr := strconv.Atoi(s)
			if !hasArg || perr != nil || status < 200 || status > 599 {
				return bad("http:NNN[:CODE] needs an HTTP status from 200 to 599, e.g. http:422:5002")
			}
			if status == http.StatusNoContent || status == http.StatusResetContent || status == http.StatusNotModified {
				return bad("HTTP %d has no body to carry an envelope", status)
			}
			st.act, st.status = actHTTP, status
			if hasCode {
				n, perr := strconv.Atoi(c)
				if perr != nil || n <= 0 {
					return bad("http:NNN:CODE needs a positive error code")
				}
				st.code = n
			}
		case "msg":
			if !hasArg || arg == "" {
				return bad("msg:TEXT needs a text")
			}
			if u, perr := url.PathUnescape(arg); perr == nil {
				arg = u
			}
			st.act, st.msg = actMsg, arg
		default:
			return bad("unknown step %q (see the vlenstest package documentation)", name)
		}
	}
	return st, nil
}

// findScenario returns the first string value starting with ScenarioPrefix
// in a JSON object body, looking at top-level values and one level down
// (members of nested objects and elements of arrays), in document order.
func findScenario(body []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", false
	}
	for dec.More() {
		if _, err := dec.Token(); err != nil { // key
			return "", false
		}
		if s, found, err := scanValue(dec, 0); err != nil {
			return "", false
		} else if found {
			return s, true
		}
	}
	return "", false
}

// scanValue reads one value; strings at depth 0 and 1 are candidates.
func scanValue(dec *json.Decoder, depth int) (string, bool, error) {
	t, err := dec.Token()
	if err != nil {
		return "", false, err
	}
	switch v := t.(type) {
	case string:
		if strings.HasPrefix(v, ScenarioPrefix) {
			return v, true, nil
		}
	case json.Delim:
		isObject := v == json.Delim('{')
		for dec.More() {
			if isObject {
				if _, err := dec.Token(); err != nil {
					return "", false, err
				}
			}
			if depth == 0 {
				if s, found, err := scanValue(dec, 1); err != nil || found {
					return s, found, err
				}
			} else if err := skipValue(dec); err != nil {
				return "", false, err
			}
		}
		if _, err := dec.Token(); err != nil { // closing delimiter
			return "", false, err
		}
	}
	return "", false, nil
}

func skipValue(dec *json.Decoder) error {
	var discard json.RawMessage
	return dec.Decode(&discard)
}

// findScenarioInURL looks at the last path segment, then at query values in
// key order.
func findScenarioInURL(u *url.URL) (string, bool) {
	path := u.Path
	if i := strings.LastIndexByte(strings.TrimSuffix(path, "/"), '/'); i >= 0 {
		if seg := strings.TrimSuffix(path[i+1:], "/"); strings.HasPrefix(seg, ScenarioPrefix) {
			return seg, true
		}
	}
	q := u.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range q[k] {
			if strings.HasPrefix(v, ScenarioPrefix) {
				return v, true
			}
		}
	}
	return "", false
}

// ScenarioHits reports how many requests carrying the scenario string text
// have arrived, counted when they arrive (a request still being answered,
// e.g. in a delay step, is counted). Tests use it to act while a call is in
// flight.
func (f *Fake) ScenarioHits(text string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, _ := f.scenarios.get(text)
	return n
}
