package flows

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// packed is the dead-letter payload of a flow task: the task's original
// payload and the state it had reached. The dead-letter store keeps it
// apart from the record, only for requeueing (never shown or exported), so
// the step results (which hold the extracted ID data) stay out of the
// record, and it lives as long as the record does.
type packed struct {
	Flow    *State          `json:"vlensq_flow"`
	Payload json.RawMessage `json:"payload"`
}

// packMarker starts every packed payload; a task payload never starts so
// (its first member is "tenant" or another payload member).
var packMarker = []byte(`{"vlensq_flow":`)

// Pack returns the dead-letter payload of a flow task whose original
// payload is payload and whose journal is st.
func Pack(payload []byte, st *State) ([]byte, error) {
	b, err := json.Marshal(packed{Flow: st, Payload: payload})
	if err != nil {
		return nil, fmt.Errorf("flows: pack resume state: %w", err)
	}
	return b, nil
}

// Unpack splits a dead-letter payload into the original task payload and
// the flow state it carries; st is nil for the payload of a single-call
// task (returned unchanged).
func Unpack(b []byte) (payload []byte, st *State, err error) {
	if !bytes.HasPrefix(b, packMarker) {
		return b, nil, nil
	}
	var p packed
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, nil, fmt.Errorf("flows: resume state: %w", err)
	}
	if p.Flow == nil || len(p.Payload) == 0 {
		return nil, nil, fmt.Errorf("flows: resume state: incomplete")
	}
	if p.Flow.Results == nil {
		p.Flow.Results = map[string]json.RawMessage{}
	}
	return p.Payload, p.Flow, nil
}
