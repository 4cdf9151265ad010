package vlenstest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Faults are random failures injected into requests that carry no scenario.
// Each request draws at most one fault; the rates are probabilities in [0, 1]
// and add up to at most 1. Latency is added to every such request on top.
// Login and refresh calls are spared unless Auth is set.
//
// The zero value injects nothing. Build one with ParseFaults.
type Faults struct {
	// LatencyMin and LatencyMax bound a uniform random delay added before
	// answering ("latency=50ms" sets both; "latency=20ms-200ms" a range).
	LatencyMin, LatencyMax time.Duration
	// ServerError ("5xx") answers HTTP 500 or 503 with an envelope, or 504
	// with a plain-text gateway body.
	ServerError float64
	// Reset ("reset") closes the connection without an answer.
	Reset float64
	// HTML ("html") answers a 502 HTML page from the gateway.
	HTML float64
	// Truncated ("truncated") processes the call, then sends half of the JSON
	// answer with HTTP 200.
	Truncated float64
	// Empty ("empty") processes the call, then sends HTTP 200 with no body.
	Empty float64
	// TooManyRequests ("429") answers HTTP 429 with Retry-After: 1.
	TooManyRequests float64
	// TokenExpiry ("401") really expires the caller's access token and
	// answers HTTP 401. Only calls with a bearer token draw it.
	TokenExpiry float64
	// TooManyTrials ("4003") answers HTTP 200 with error_code 4003.
	TooManyTrials float64
	// Auth ("auth=on") lets faults hit login and refresh calls too.
	Auth bool
	// Seed ("seed=7") reseeds the random source when the faults are set;
	// 0 keeps the current source.
	Seed int64
}

// Fault kinds, as written in a fault spec and in Injection.Fault.
const (
	FaultServerError     = "5xx"
	FaultReset           = "reset"
	FaultHTML            = "html"
	FaultTruncated       = "truncated"
	FaultEmpty           = "empty"
	FaultTooManyRequests = "429"
	FaultTokenExpiry     = "401"
	FaultTooManyTrials   = "4003"
)

// rate returns a pointer to the rate of fault kind k, nil when k is not one.
func (fs *Faults) rate(k string) *float64 {
	switch k {
	case FaultServerError:
		return &fs.ServerError
	case FaultReset:
		return &fs.Reset
	case FaultHTML:
		return &fs.HTML
	case FaultTruncated:
		return &fs.Truncated
	case FaultEmpty:
		return &fs.Empty
	case FaultTooManyRequests:
		return &fs.TooManyRequests
	case FaultTokenExpiry:
		return &fs.TokenExpiry
	case FaultTooManyTrials:
		return &fs.TooManyTrials
	}
	return nil
}

// faultKinds is the fixed order of drawing and of String.
var faultKinds = []string{
	FaultServerError, FaultReset, FaultHTML, FaultTruncated, FaultEmpty,
	FaultTooManyRequests, FaultTokenExpiry, FaultTooManyTrials,
}

// SpecError is a bad item of a fault spec or of a scenario.
type SpecError struct {
	// Item is the offending item as written, e.g. "5xx=2" or "http600".
	Item string
	// Reason says what is wrong with it.
	Reason string
}

func (e *SpecError) Error() string {
	return fmt.Sprintf("vlenstest: bad item %q: %s", e.Item, e.Reason)
}

// ParseFaults parses a fault spec: comma-separated key=value items, e.g.
//
//	latency=50ms,5xx=0.05,reset=0.02,html=0.02,truncated=0.02,429=0.02,401=0.02,4003=0.01,empty=0.01,seed=7
//
// Keys: latency (a duration, or MIN-MAX for a uniform range), 5xx, reset,
// html, truncated, empty, 429, 401, 4003 (rates in [0, 1]), auth (on/off:
// also hit login and refresh), seed (an integer). "" and "none" mean no
// faults. A bad item gives a *SpecError naming it.
func ParseFaults(spec string) (Faults, error) {
	var fs Faults
	spec = strings.TrimSpace(spec)
	if spec == "" || strings.EqualFold(spec, "none") {
		return fs, nil
	}
	seen := map[string]bool{}
	for item := range strings.SplitSeq(spec, ",") {
		item = strings.TrimSpace(item)
		key, val, ok := strings.Cut(item, "=")
		key, val = strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(val)
		bad := func(reason string, a ...any) (Faults, error) {
			return Faults{}, &SpecError{Item: item, Reason: fmt.Sprintf(reason, a...)}
		}
		switch {
		case item == "":
			return bad("empty item (stray comma?)")
		case !ok:
			return bad("want key=value")
		case seen[key]:
			return bad("%s is given twice", key)
		}
		seen[key] = true
		switch key {
		case "latency":
			lo, hi, err := parseLatency(val)
			if err != nil {
				return bad("%v", err)
			}
			fs.LatencyMin, fs.LatencyMax = lo, hi
		case "auth":
			b, err := parseOnOff(val)
			if err != nil {
				return bad("%v", err)
			}
			fs.Auth = b
		case "seed":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return bad("seed must be an integer")
			}
			fs.Seed = n
		default:
			p := fs.rate(key)
			if p == nil {
				return bad("unknown key %q (want latency, 5xx, reset, html, truncated, empty, 429, 401, 4003, auth or seed)", key)
			}
			r, err := strconv.ParseFloat(val, 64)
			if err != nil || r < 0 || r > 1 || math.IsNaN(r) {
				return bad("rate must be a number from 0 to 1")
			}
			*p = r
		}
	}
	if err := fs.Validate(); err != nil {
		return Faults{}, &SpecError{Item: spec, Reason: err.Error()}
	}
	return fs, nil
}

func parseLatency(s string) (lo, hi time.Duration, err error) {
	a, b, isRange := strings.Cut(s, "-")
	if lo, err = time.ParseDuration(strings.TrimSpace(a)); err != nil {
		return 0, 0, errors.New("latency must be a duration such as 50ms, or a range such as 20ms-200ms")
	}
	hi = lo
	if isRange {
		if hi, err = time.ParseDuration(strings.TrimSpace(b)); err != nil {
			return 0, 0, errors.New("latency range must be MIN-MAX, e.g. 20ms-200ms")
		}
	}
	if lo < 0 || hi < lo {
		return 0, 0, errors.New("latency must be non-negative and MIN <= MAX")
	}
	return lo, hi, nil
}

func parseOnOff(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "on", "true", "1", "yes":
		return true, nil
	case "off", "false", "0", "no":
		return false, nil
	}
	return false, errors.New("auth must be on or off")
}

// Validate reports rates outside [0, 1], rates adding up to more than 1, and
// a bad latency range.
func (fs Faults) Validate() error {
	sum := 0.0
	for _, k := range faultKinds {
		r := *fs.rate(k)
		if r < 0 || r > 1 || math.IsNaN(r) {
			return fmt.Errorf("rate of %s must be from 0 to 1, not %v", k, r)
		}
		sum += r
	}
	if sum > 1+1e-9 {
		return fmt.Errorf("fault rates add up to %.4g, more than 1", sum)
	}
	if fs.LatencyMin < 0 || fs.LatencyMax < fs.LatencyMin {
		return fmt.Errorf("latency %v-%v: must be non-negative and MIN <= MAX", fs.LatencyMin, fs.LatencyMax)
	}
	return nil
}

// String returns the spec ParseFaults reads back into fs: items in a fixed
// order, zero ones left out; "none" for the zero value.
func (fs Faults) String() string {
	var items []string
	switch {
	case fs.LatencyMax > fs.LatencyMin:
		items = append(items, "latency="+fs.LatencyMin.String()+"-"+fs.LatencyMax.String())
	case fs.LatencyMin > 0:
		items = append(items, "latency="+fs.LatencyMin.String())
	}
	for _, k := range faultKinds {
		if r := *fs.rate(k); r != 0 {
			items = append(items, k+"="+strconv.FormatFloat(r, 'g', -1, 64))
		}
	}
	if fs.Auth {
		items = append(items, "auth=on")
	}
	if fs.Seed != 0 {
		items = append(items, "seed="+strconv.FormatInt(fs.Seed, 10))
	}
	if len(items) == 0 {
		return "none"
	}
	return strings.Join(items, ",")
}

// pick maps a uniform draw u in [0, 1) to a fault kind, "" for none. Kinds
// take consecutive slices of [0, 1) in faultKinds order.
func (fs Faults) pick(u float64) string {
	acc := 0.0
	for _, k := range faultKinds {
		r := *fs.rate(k)
		if r <= 0 {
			continue
		}
		acc += r
		if u < acc {
			return k
		}
	}
	return ""
}

// latency draws the added delay.
func (fs Faults) latency(rng *rand.Rand) time.Duration {
	if fs.LatencyMax <= fs.LatencyMin {
		return max(fs.LatencyMin, 0)
	}
	return fs.LatencyMin + time.Duration(rng.Int64N(int64(fs.LatencyMax-fs.LatencyMin)+1))
}

func newRand(seed int64) *rand.Rand {
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	return rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))
}
