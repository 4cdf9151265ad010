package flows

import (
	"crypto/rand"
	"fmt"

	"github.com/vlensq/vlensq/tasks"
)

// Step is one Vlens call of a flow.
type Step struct {
	// Name is the step's stable name, as it appears in the step journal,
	// the dead-letter record ("step") and the outcome's result: "front",
	// "back" or "liveness".
	Name string
	// Type is the single-call task type whose Spec the step calls with, and
	// whose retry policy it keeps.
	Type string
}

// Step names of verify:identity.
const (
	StepFront    = "front"
	StepBack     = "back"
	StepLiveness = "liveness"
)

// Identity are the steps of verify:identity, in the order they run: the
// two ID card sides (Vlens accepts them in any order), then liveness, which
// Vlens only accepts once a side of the same transaction is verified.
var Identity = []Step{
	{Name: StepFront, Type: tasks.TypeVerifyIDFront},
	{Name: StepBack, Type: tasks.TypeVerifyIDBack},
	{Name: StepLiveness, Type: tasks.TypeVerifyLiveness},
}

// StepsOf returns the steps of a flow task type, nil for other types.
func StepsOf(taskType string) []Step {
	if taskType == tasks.TypeVerifyIdentity {
		return Identity
	}
	return nil
}

// StepPayload returns the single-call payload of step cut from the flow's
// payload p, with transactionID as its transaction_id. Images are the
// flow's own (claim-checked once at enqueue): nothing is copied.
func StepPayload(p *tasks.Payload, step Step, transactionID tasks.ID) *tasks.Payload {
	sp := &tasks.Payload{
		Tenant: p.Tenant, User: p.User,
		TransactionID: transactionID, ClientTransactionID: p.ClientTransactionID,
		GetExtractedData: p.GetExtractedData,
	}
	switch step.Name {
	case StepFront, StepBack:
		sp.Image = p.FrontImage
		if step.Name == StepBack {
			sp.Image = p.BackImage
		}
		sp.RequestID, sp.Country, sp.NameCheckValue = p.RequestID, p.Country, p.NameCheckValue
	case StepLiveness:
		sp.Face1, sp.Face2, sp.Face3 = p.Face1, p.Face2, p.Face3
	}
	return sp
}

// NewTransactionID returns a random UUID (version 4), the form Vlens
// accepts as a client-generated transaction_id.
func NewTransactionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
