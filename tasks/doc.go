// Package tasks defines vlensq's task types, their typed payloads, the
// claim-check blob store for images, the producer Client that validates and
// enqueues tasks with asynq, and the NDJSON format of `vlensq enqueue --file`.
//
// # Task types
//
// Each type (TypeVerifyIDFront, TypeOCRAML, TypeBusinessCreate, ...) has a
// Spec (see Lookup): the Vlens method and path, whether the call uses the
// end user's token or the tenant token, the request fields passed through,
// the required fields, the image fields and whether the call is idempotent.
// Specs are data; the handler builds each call from them with
// Payload.RequestBody and Payload.PathFor.
//
// # Payloads
//
// A Payload is JSON with Vlens's own request field names ("image",
// "face_1", "transaction_id", "requestId", "geoLocation", ...) plus our
// "tenant", "user", "type_id" and "callback_url". Decoding is strict and
// Payload.Validate checks a payload against its type; every problem is a
// *ValidationError, one line naming the field:
//
//	payload.image: not valid base64 (at byte 12)
//	payload.face_2: same image as payload.face_1; liveness needs three distinct frames
//	tenant: unknown tenant "initech"
//
// Ids that Vlens issues (requestId, otpRequestId, transaction_id,
// request_id) are opaque ID values: a JSON string (a UUID for requestId) or
// number, sent back in the JSON type they came in; only their presence and
// length (MaxIDLength) are checked.
//
// # Images and the claim check
//
// An Image is a base64 string or a reference to a stored blob,
// {"blob":"sha256:<hex>","size":N,"type":"image/jpeg"}. With a BlobStore the
// Client moves every inline image into Redis under
// "vlensq:blob:<sha256>" (content addressed: an image sent twice is stored
// once; BlobTTLDefault 7 days, extended on reuse), so a task with three
// 500 KB liveness frames costs a few hundred bytes of asynq payload and
// Asynqmon never shows image bytes. The handler fetches the images back
// when it builds the request (a *BlobMissingError when one expired).
//
// # Enqueueing
//
// Client.Enqueue validates (including that the tenant is configured), moves
// the images, and enqueues with asynq's Queue, MaxRetry, Timeout and
// Retention, and TaskID when EnqueueOptions.ID is set: an id makes the
// enqueue idempotent, a second enqueue with it fails with ErrDuplicateID.
// Client.EnqueueBatch enqueues many tasks concurrently and reports each
// one's outcome by index; a bad item never stops the others.
//
// # NDJSON files
//
// One task per line: {"type","tenant","payload","queue"?,"id"?}. ParseLine
// decodes and validates a line; ScanFile reads a whole file, hands good
// lines to a callback and reports bad ones with their line numbers, never
// stopping at a bad line. Lines are bounded (MaxLineBytesDefault, 64 MiB);
// a huge line is rejected with a clear message, not a crash.
//
// # Secrets
//
// Payload.String and Image.String print member names and sizes, never
// images, OTP codes or personal data, and no error message quotes them.
// FormatPayload shows a task payload with them redacted (for Asynqmon).
package tasks
