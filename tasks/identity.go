package tasks

import (
	"context"

	"github.com/hibiken/asynq"
)

// Identity is what a producer has for one identity verification: the ID
// card's two sides and three liveness frames (JPEG or PNG bytes) of a user.
// EnqueueIdentity turns it into one verify:identity task.
type Identity struct {
	// Tenant and User name the Vlens tenancy and the end user whose token
	// (in the session store) makes the calls. Required.
	Tenant, User string
	// Front and Back are the ID card's sides. Required.
	Front, Back []byte
	// Faces are three distinct liveness frames. Required.
	Faces [3][]byte
	// TransactionID is the verification's transaction_id; empty lets the
	// worker generate one (a UUID) before the first call.
	TransactionID string
	// ClientTransactionID is the producer's own id, echoed back by Vlens.
	ClientTransactionID string
	// GetExtractedData asks Vlens for the extracted ID data; nil leaves
	// Vlens's default.
	GetExtractedData *bool
	// CallbackURL, when set, receives the outcome.
	CallbackURL string
}

// Payload returns the verify:identity payload of id, images inline (the
// Client moves them to the blob store).
func (id Identity) Payload() *Payload {
	return &Payload{
		Tenant: id.Tenant, User: id.User, CallbackURL: id.CallbackURL,
		FrontImage: ImageBytes(id.Front), BackImage: ImageBytes(id.Back),
		Face1: ImageBytes(id.Faces[0]), Face2: ImageBytes(id.Faces[1]), Face3: ImageBytes(id.Faces[2]),
		TransactionID: TextID(id.TransactionID), ClientTransactionID: id.ClientTransactionID,
		GetExtractedData: id.GetExtractedData,
	}
}

// EnqueueIdentity enqueues one verify:identity task: front and back, then
// liveness, with one transaction_id, one outcome, resumable at a failed
// step. Each image is stored once in the claim-check store. Bad input is a
// *ValidationError naming the payload field ("payload.face_2").
func (c *Client) EnqueueIdentity(ctx context.Context, id Identity, o EnqueueOptions) (*asynq.TaskInfo, error) {
	return c.Enqueue(ctx, TypeVerifyIdentity, id.Payload(), o)
}
