package tasks

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// BlobTTLDefault is how long a stored image lives after its last Put or
// Touch. It outlasts a task's retries and throttling delays by far.
const BlobTTLDefault = 7 * 24 * time.Hour

// BlobKeyPrefix is the Redis key prefix of stored images:
// "vlensq:blob:<sha256 hex>".
const BlobKeyPrefix = "vlensq:blob:"

const blobKeyPrefix = "sha256:"

// ErrBlobMissing is matched (errors.Is) by every error that reports a blob
// that is not in the store: expired, deleted or never stored.
var ErrBlobMissing = errors.New("blob missing")

// BlobMissingError reports a referenced blob that is not in the store. It
// matches ErrBlobMissing with errors.Is.
type BlobMissingError struct {
	// Field names the payload field that refers to the blob, e.g.
	// "payload.image"; empty when the error comes from BlobStore.Get.
	Field string
	Ref   BlobRef
}

func (e *BlobMissingError) Error() string {
	msg := "blob " + e.Ref.Key + " is missing (expired or never stored)"
	if e.Field != "" {
		return e.Field + ": " + msg
	}
	return msg
}

// Is makes errors.Is(err, ErrBlobMissing) true.
func (e *BlobMissingError) Is(target error) bool { return target == ErrBlobMissing }

// BlobRef is a claim-check reference to an image in a BlobStore, as it
// appears in payloads: {"blob":"sha256:<hex>","size":N,"type":"image/jpeg"}.
type BlobRef struct {
	// Key is "sha256:" and the hex SHA-256 of the image bytes.
	Key string `json:"blob"`
	// Size is the image size in bytes (decoded, not base64).
	Size int `json:"size"`
	// Type is the media type, "image/jpeg" or "image/png"; optional.
	Type string `json:"type,omitempty"`
}

// UnmarshalJSON decodes strictly: unknown members are errors, "blob" and
// "size" are required.
func (r *BlobRef) UnmarshalJSON(b []byte) error {
	if err := checkJSON(b); err != nil {
		return err
	}
	return r.decodeRaw(b)
}

func (r *BlobRef) decodeRaw(b []byte) error {
	type plain BlobRef
	return decodeStrict(b, (*plain)(r), "blob", "size")
}

// validate checks the reference's form (not that the blob exists).
func (r BlobRef) validate(field string) error {
	hexPart, ok := strings.CutPrefix(r.Key, blobKeyPrefix)
	if !ok || len(hexPart) != sha256.Size*2 || !isLowerHex(hexPart) {
		return &ValidationError{Field: field + ".blob", Problem: `must be "sha256:" and 64 lowercase hex digits`}
	}
	if r.Size <= 0 || r.Size > MaxImageBytes {
		return &ValidationError{Field: field + ".size", Problem: fmt.Sprintf("must be between 1 and %d bytes", MaxImageBytes)}
	}
	switch r.Type {
	case "", "image/jpeg", "image/png":
	default:
		return &ValidationError{Field: field + ".type", Problem: `must be "image/jpeg" or "image/png"`}
	}
	return nil
}

// redisKey returns the Redis key of the blob.
func (r BlobRef) redisKey() string {
	hexPart, _ := strings.CutPrefix(r.Key, blobKeyPrefix)
	return BlobKeyPrefix + hexPart
}

// BlobReader fetches stored images. *BlobStore implements it.
type BlobReader interface {
	// Get returns the image bytes; an error matching ErrBlobMissing when the
	// blob is gone.
	Get(ctx context.Context, ref BlobRef) ([]byte, error)
}

// BlobStore is the Redis claim-check store for images. It is content
// addressed: the same image is stored once, under "vlensq:blob:<sha256>",
// however many tasks refer to it, and each Put or Touch extends its TTL
// (never shortens it). It is safe for concurrent use.
type BlobStore struct {
	rdb redis.UniversalClient
	ttl time.Duration
}

// NewBlobStore returns a store on rdb whose blobs live ttl after their last
// Put or Touch; ttl <= 0 means BlobTTLDefault. The caller keeps ownership of
// rdb.
func NewBlobStore(rdb redis.UniversalClient, ttl time.Duration) *BlobStore {
	if ttl <= 0 {
		ttl = BlobTTLDefault
	}
	return &BlobStore{rdb: rdb, ttl: ttl}
}

// TTL returns the lifetime of a blob after its last Put or Touch.
func (b *BlobStore) TTL() time.Duration { return b.ttl }

// extendScript sets the TTL of an existing key to ARGV[1] ms unless it
// already lives longer; it returns 0 when the key does not exist.
var extendScript = redis.NewScript(`
local t = redis.call('PTTL', KEYS[1])
if t == -2 then return 0 end
if t >= 0 and t < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1`)

// Put stores data (an image's bytes, not base64) and returns its reference.
// contentType is recorded in the reference; empty means detect it. Storing
// an image that is already there only extends its TTL.
func (b *BlobStore) Put(ctx context.Context, data []byte, contentType string) (BlobRef, error) {
	if len(data) == 0 {
		return BlobRef{}, errors.New("tasks: blob put: empty data")
	}
	sum := sha256.Sum256(data)
	ref := BlobRef{Key: blobKeyPrefix + hex.EncodeToString(sum[:]), Size: len(data), Type: contentType}
	if ref.Type == "" {
		ref.Type, _ = sniffImage(data)
	}
	return ref, b.put(ctx, ref, data, b.ttl)
}

// put stores data under ref (whose key the caller computed) for at least ttl.
func (b *BlobStore) put(ctx context.Context, ref BlobRef, data []byte, ttl time.Duration) error {
	ok, err := b.extend(ctx, ref, ttl)
	if err != nil || ok {
		return err
	}
	if err := b.rdb.Set(ctx, ref.redisKey(), data, ttl).Err(); err != nil {
		return fmt.Errorf("tasks: blob put %s: %w", ref.Key, err)
	}
	return nil
}

// Get returns the bytes of a stored image. A blob that is gone gives a
// *BlobMissingError; a blob whose bytes do not match its key is an error too.
func (b *BlobStore) Get(ctx context.Context, ref BlobRef) ([]byte, error) {
	if err := ref.validate("blob"); err != nil {
		return nil, fmt.Errorf("tasks: blob get: %w", err)
	}
	data, err := b.rdb.Get(ctx, ref.redisKey()).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, &BlobMissingError{Ref: ref}
	}
	if err != nil {
		return nil, fmt.Errorf("tasks: blob get %s: %w", ref.Key, err)
	}
	sum := sha256.Sum256(data)
	if blobKeyPrefix+hex.EncodeToString(sum[:]) != ref.Key || len(data) != ref.Size {
		return nil, fmt.Errorf("tasks: blob get %s: stored bytes do not match the reference (%d bytes)", ref.Key, len(data))
	}
	return data, nil
}

// Touch extends the blob's TTL to at least ttl (ttl <= 0: the store's TTL),
// e.g. when a new task refers to an image stored earlier or a task is
// requeued. A blob that is gone gives a *BlobMissingError.
func (b *BlobStore) Touch(ctx context.Context, ref BlobRef, ttl time.Duration) error {
	if err := ref.validate("blob"); err != nil {
		return fmt.Errorf("tasks: blob touch: %w", err)
	}
	ok, err := b.extend(ctx, ref, cmp.Or(max(ttl, 0), b.ttl))
	if err != nil {
		return err
	}
	if !ok {
		return &BlobMissingError{Ref: ref}
	}
	return nil
}

// extend runs extendScript; ok is false when the blob does not exist.
func (b *BlobStore) extend(ctx context.Context, ref BlobRef, ttl time.Duration) (bool, error) {
	n, err := extendScript.Run(ctx, b.rdb, []string{ref.redisKey()}, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("tasks: blob ttl %s: %w", ref.Key, err)
	}
	return n == 1, nil
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
