package flows

import (
	"encoding/json"

	"github.com/vlensq/vlensq/deadletter"
)

// Result is the outcome result of a finished verify:identity task: each
// step's result (data and services, as a single-call task stores them) and
// the final verdict, read from the liveness step's data.
type Result struct {
	TransactionID string `json:"transaction_id"`
	// IsDigitalIdentityVerified and IsVerificationProcessCompleted are the
	// liveness step's data members of the same names; false when absent.
	IsDigitalIdentityVerified      bool `json:"isDigitalIdentityVerified"`
	IsVerificationProcessCompleted bool `json:"isVerificationProcessCompleted"`
	// Steps are the step results by step name ("front", "back",
	// "liveness").
	Steps map[string]json.RawMessage `json:"steps"`
}

// ResultOf assembles the Result of a flow whose steps have all succeeded.
func ResultOf(st *State) json.RawMessage {
	r := Result{TransactionID: st.TransactionID, Steps: map[string]json.RawMessage{}}
	for _, s := range Identity {
		if res, ok := st.Results[s.Name]; ok {
			r.Steps[s.Name] = res
		}
	}
	var live struct {
		Data struct {
			Verified  *bool `json:"isDigitalIdentityVerified"`
			Completed *bool `json:"isVerificationProcessCompleted"`
		} `json:"data"`
	}
	if json.Unmarshal(st.Results[StepLiveness], &live) == nil {
		r.IsDigitalIdentityVerified = live.Data.Verified != nil && *live.Data.Verified
		r.IsVerificationProcessCompleted = live.Data.Completed != nil && *live.Data.Completed
	}
	b, _ := json.Marshal(r) // maps of valid JSON: cannot fail
	return b
}

// Summary lists every step of steps for a dead-letter record: succeeded,
// failed (the step called failed) or not run.
func Summary(steps []Step, st *State, failed string, endpoint func(Step) deadletter.Endpoint) []deadletter.Step {
	out := make([]deadletter.Step, 0, len(steps))
	for _, s := range steps {
		status := deadletter.StepNotRun
		switch {
		case st.Done(s.Name):
			status = deadletter.StepSucceeded
		case s.Name == failed:
			status = deadletter.StepFailed
		}
		out = append(out, deadletter.Step{Step: s.Name, Status: status, Endpoint: endpoint(s)})
	}
	return out
}
