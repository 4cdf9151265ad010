package flows

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/tasks"
)

func TestPackUnpackRoundTrip(t *testing.T) {
	t.Parallel()
	payload := []byte(`{"tenant":"acme","user":"u1"}`)
	st := &State{TransactionID: "tx-1", Results: map[string]json.RawMessage{StepFront: json.RawMessage(`{"data":{"a":1}}`)}}
	b, err := Pack(payload, st)
	if err != nil {
		t.Fatal(err)
	}
	got, gst, err := Unpack(b)
	if err != nil || string(got) != string(payload) || gst.TransactionID != "tx-1" || string(gst.Results[StepFront]) != `{"data":{"a":1}}` {
		t.Fatalf("Unpack = %s, %+v, %v", got, gst, err)
	}
	// A single-call task's payload passes through.
	if got, gst, err := Unpack(payload); err != nil || gst != nil || string(got) != string(payload) {
		t.Errorf("Unpack(plain) = %s, %+v, %v", got, gst, err)
	}
	if _, _, err := Unpack([]byte(`{"vlensq_flow":null}`)); err == nil {
		t.Error("an incomplete resume state was accepted")
	}
}

func TestResultOfReadsTheVerdictFromLiveness(t *testing.T) {
	t.Parallel()
	st := &State{TransactionID: "tx-1", Results: map[string]json.RawMessage{
		StepFront:    json.RawMessage(`{"data":{"transaction_id":"tx-1"}}`),
		StepBack:     json.RawMessage(`{"data":{"transaction_id":"tx-1"}}`),
		StepLiveness: json.RawMessage(`{"data":{"isDigitalIdentityVerified":true,"isVerificationProcessCompleted":true}}`),
	}}
	var r Result
	if err := json.Unmarshal(ResultOf(st), &r); err != nil {
		t.Fatal(err)
	}
	if !r.IsDigitalIdentityVerified || !r.IsVerificationProcessCompleted || r.TransactionID != "tx-1" || len(r.Steps) != 3 {
		t.Errorf("result = %+v", r)
	}
	st.Results[StepLiveness] = json.RawMessage(`{"data":{"isVerificationProcessCompleted":true}}`)
	_ = json.Unmarshal(ResultOf(st), &r)
	if r.IsDigitalIdentityVerified {
		t.Error("a missing verdict reads as verified")
	}
}

func TestStepPayloadCutsEachStepsFields(t *testing.T) {
	t.Parallel()
	img := func(s string) *tasks.Image { return tasks.InlineImage(s) }
	p := &tasks.Payload{Tenant: "acme", User: "u1", FrontImage: img("F"), BackImage: img("B"),
		Face1: img("1"), Face2: img("2"), Face3: img("3"), Country: "EG", ClientTransactionID: "c-1"}
	for _, s := range Identity {
		sp := StepPayload(p, s, tasks.TextID("tx-9"))
		if sp.TransactionID != tasks.TextID("tx-9") || sp.ClientTransactionID != "c-1" || sp.FrontImage != nil || sp.BackImage != nil {
			t.Errorf("%s: payload %v", s.Name, sp)
		}
	}
	if StepPayload(p, Identity[0], tasks.TextID("t")).Image.Inline != "F" || StepPayload(p, Identity[1], tasks.TextID("t")).Image.Inline != "B" ||
		StepPayload(p, Identity[2], tasks.TextID("t")).Face3.Inline != "3" || StepPayload(p, Identity[2], tasks.TextID("t")).Country != "" {
		t.Error("steps got the wrong images or fields")
	}
}

func TestNewTransactionIDIsAUUID(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, b := NewTransactionID(), NewTransactionID()
	if !re.MatchString(a) || a == b {
		t.Errorf("NewTransactionID = %q, %q", a, b)
	}
}

func TestSummaryMarksEachStep(t *testing.T) {
	t.Parallel()
	st := &State{Results: map[string]json.RawMessage{StepFront: json.RawMessage(`{}`)}}
	got := Summary(Identity, st, StepBack, func(s Step) deadletter.Endpoint { return deadletter.Endpoint{URL: s.Name} })
	want := []deadletter.StepStatus{deadletter.StepSucceeded, deadletter.StepFailed, deadletter.StepNotRun}
	for i, s := range got {
		if s.Status != want[i] || s.Endpoint.URL != s.Step {
			t.Errorf("steps[%d] = %+v, want status %s", i, s, want[i])
		}
	}
}
