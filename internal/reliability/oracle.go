package reliability

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/outcome"
	"github.com/vlensq/vlensq/vlens"
	"github.com/vlensq/vlensq/vlens/vlenstest"
)

// call is one Vlens call of a task, as the fake saw it.
type call struct {
	RequestID string
	// Fault is the fault the fake injected ("" for none).
	Fault string
	// Status is the HTTP status sent; 0 for a reset connection, -1 when the
	// fake has no record of the call.
	Status int
}

func (c call) String() string { return fmt.Sprintf("%s:%d", cmp.Or(c.Fault, "-"), c.Status) }

// correlate joins the request ids recorded per task key with the fake's
// records of those requests.
func correlate(ids map[string][]string, reqs []vlenstest.Request) map[string][]call {
	byID := make(map[string]vlenstest.Request, len(reqs))
	for _, r := range reqs {
		if r.RequestID != "" {
			byID[r.RequestID] = r
		}
	}
	out := make(map[string][]call, len(ids))
	for key, list := range ids {
		cs := make([]call, len(list))
		for i, id := range list {
			cs[i] = call{RequestID: id, Status: -1}
			if r, ok := byID[id]; ok {
				cs[i].Fault, cs[i].Status = r.Fault, r.Status
			}
		}
		out[key] = cs
	}
	return out
}

// classOf is the class a call's answer must get: what the fault kind means
// per DESIGN.md's classification table.
func classOf(c call) vlens.Class {
	switch c.Fault {
	case vlenstest.FaultServerError, vlenstest.FaultReset, vlenstest.FaultHTML, vlenstest.FaultTruncated, vlenstest.FaultEmpty:
		return vlens.ClassTransient
	case vlenstest.FaultTooManyRequests, vlenstest.FaultTooManyTrials:
		return vlens.ClassThrottled
	case vlenstest.FaultTokenExpiry:
		return vlens.ClassAuthExpired
	}
	switch {
	case c.Status == 401:
		// A token expired by another task's 401 fault.
		return vlens.ClassAuthExpired
	case c.Status >= 200 && c.Status < 300:
		return vlens.ClassSuccess
	}
	return vlens.ClassTransient // no answer, or an error the fake did not inject
}

// expect is the outcome ("status/class") a task's calls imply, and how many
// of them failed transiently. An expired token is refreshed and the call
// replayed once; a second 401 in a row is a permanent authentication
// failure. Throttled calls spend no attempt and cannot end a task.
func expect(calls []call) (want string, transient int) {
	for _, c := range calls {
		if classOf(c) == vlens.ClassTransient {
			transient++
		}
	}
	if len(calls) == 0 {
		return "no outcome without a call", 0
	}
	switch classOf(calls[len(calls)-1]) {
	case vlens.ClassSuccess:
		return string(outcome.StatusSucceeded) + "/" + string(vlens.ClassSuccess), transient
	case vlens.ClassTransient:
		return string(outcome.StatusDeadLettered) + "/" + string(vlens.ClassTransient), transient
	case vlens.ClassAuthExpired:
		return string(outcome.StatusDeadLettered) + "/" + string(vlens.ClassPermanent), transient
	}
	return "no outcome after a throttled call", transient
}

// check compares a task's outcome (and dead-letter record) with its calls.
func check(taskID string, o outcome.Outcome, dl *deadletter.Record, calls []call, maxAttempts int) (Mismatch, bool) {
	want, transient := expect(calls)
	got := string(o.Status) + "/" + o.Class
	m := Mismatch{TaskID: taskID, Want: want, Got: got}
	for _, c := range calls {
		m.Calls = append(m.Calls, c.String())
	}
	fail := func(format string, a ...any) (Mismatch, bool) {
		m.Detail = fmt.Sprintf(format, a...)
		return m, false
	}
	if got != want {
		return fail("the outcome is not the last call's class")
	}
	switch {
	case o.Class == string(vlens.ClassSuccess) && transient >= maxAttempts:
		return fail("succeeded after %d transient failures; only %d attempts are allowed", transient, maxAttempts)
	case o.Class == string(vlens.ClassTransient) && transient != maxAttempts:
		return fail("dead-lettered after %d transient failures, want %d", transient, maxAttempts)
	}
	if o.Status != outcome.StatusDeadLettered {
		return m, true
	}
	if dl == nil {
		return fail("dead-lettered without a record")
	}
	if o.Class == string(vlens.ClassTransient) && !dl.RetriesExhausted {
		return fail("transient dead letter not marked retries_exhausted")
	}
	for _, h := range dl.History {
		i := slices.IndexFunc(calls, func(c call) bool { return c.RequestID == h.XRequestID })
		if i < 0 {
			return fail("history entry x_request_id %q is none of the task's calls", h.XRequestID)
		}
		wantClass := classOf(calls[i])
		if wantClass == vlens.ClassAuthExpired {
			wantClass = vlens.ClassPermanent // the refreshed call was refused too
		}
		if h.Class != string(wantClass) {
			return fail("history entry %s has class %s, its call %s implies %s", h.XRequestID, h.Class, calls[i], wantClass)
		}
	}
	return m, true
}
