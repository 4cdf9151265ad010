package tasks

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/vlensq/vlensq/internal/redistest"
	"github.com/vlensq/vlensq/vlens"
)

// fakeJPEG returns n bytes that sniff as a JPEG; different seeds give
// different images.
func fakeJPEG(n int, seed uint64) []byte {
	b := make([]byte, n)
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	_, _ = rand.NewChaCha8(key).Read(b)
	copy(b, []byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00})
	return b
}

// fakePNG returns n bytes that sniff as a PNG.
func fakePNG(n int, seed uint64) []byte {
	b := fakeJPEG(n, seed)
	copy(b, "\x89PNG\x0D\x0A\x1A\x0A")
	return b
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func img(seed uint64) *Image { return ImageBytes(fakeJPEG(2048, seed)) }

func ptr[T any](v T) *T { return &v }

// validPayload returns a minimal valid payload for each task type.
func validPayload(t testing.TB, taskType string) *Payload {
	t.Helper()
	geo := &GeoLocation{Latitude: 30.0444, Longitude: 31.2357}
	const when = "2025-01-02T15:04:05Z"
	switch taskType {
	case TypeVerifyIDFront, TypeVerifyIDBack:
		return &Payload{Tenant: "acme", User: "user-1", Image: img(1), TransactionID: TextID("tx-1"), GetExtractedData: ptr(true)}
	case TypeVerifyLiveness:
		return &Payload{Tenant: "acme", User: "user-1", Face1: img(11), Face2: img(12), Face3: img(13), TransactionID: TextID("tx-1")}
	case TypeVerifyIdentity:
		return &Payload{Tenant: "acme", User: "user-1", FrontImage: img(1), BackImage: img(2),
			Face1: img(11), Face2: img(12), Face3: img(13), GetExtractedData: ptr(true)}
	case TypeOCRIDFront, TypeOCRIDBack:
		return &Payload{Tenant: "acme", Image: img(1), Country: "EG"}
	case TypeOCRFaceMatch:
		return &Payload{Tenant: "acme", Image: img(2), TransactionID: TextID("tx-1")}
	case TypeOCRAML:
		return &Payload{Tenant: "acme", IDNumber: "29001011234567", Name: "Mona Test"}
	case TypeBusinessCreate:
		return &Payload{Tenant: "acme", User: "user-1", TypeID: 3, GeoLocation: geo, UserDeviceUTCTime: when,
			RequestFieldsValues: map[string]any{"amount": json.Number("1000")}}
	case TypeBusinessRequestOTP:
		return &Payload{Tenant: "acme", User: "user-1", GeoLocation: geo, UserDeviceUTCTime: when, BusinessRequestID: TextID(testRequestID)}
	case TypeBusinessRevalidateLiveness:
		return &Payload{Tenant: "acme", User: "user-1", GeoLocation: geo, UserDeviceUTCTime: when,
			ScanTransaction: &ScanTransaction{Image: img(20), Face1: img(21), Face2: img(22), Face3: img(23)}}
	case TypeBusinessValidateOTP:
		return &Payload{Tenant: "acme", User: "user-1", GeoLocation: geo, UserDeviceUTCTime: when,
			OTPRequestID: NumberID(9001), OTPCode: "123456", BusinessRequestID: TextID(testRequestID)}
	case TypeBusinessStatus:
		return &Payload{Tenant: "acme", User: "user-1", BusinessRequestID: TextID(testRequestID)}
	}
	t.Fatalf("no valid payload for %q", taskType)
	return nil
}

// asValidation returns err as a *ValidationError or fails the test.
func asValidation(t testing.TB, err error) *ValidationError {
	t.Helper()
	ve, ok := errors.AsType[*ValidationError](err)
	if !ok {
		t.Fatalf("error %v (%T) is not a *ValidationError", err, err)
	}
	return ve
}

var queueSeq atomic.Int64

// testBundle is what the Redis-backed tests share.
type testBundle struct {
	rdb       *redis.Client
	blobs     *BlobStore
	client    *Client
	inspector *asynq.Inspector
	queue     string
}

// setup returns a client with a blob store over the package's test DB and a
// queue of its own, deleted when the test ends.
func setup(t testing.TB, mods ...func(*ClientConfig)) *testBundle {
	t.Helper()
	return setupOn(t, redistest.Client(t, redistest.DBTasks), mods...)
}

// setupOn is setup over the given client; mods adjust the Client's
// configuration.
func setupOn(t testing.TB, rdb *redis.Client, mods ...func(*ClientConfig)) *testBundle {
	t.Helper()
	blobs := NewBlobStore(rdb, 0)
	q := fmt.Sprintf("q%d-%s", queueSeq.Add(1), strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()))
	if len(q) > 90 {
		q = q[:90]
	}
	cfg := ClientConfig{
		Tenants:      tenantMap{"acme": {Name: "acme"}, "globex": {Name: "globex"}},
		Blobs:        blobs,
		DefaultQueue: q,
	}
	for _, m := range mods {
		m(&cfg)
	}
	client, err := NewClient(rdb, cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	insp := asynq.NewInspectorFromRedisClient(rdb)
	t.Cleanup(func() {
		_ = insp.DeleteQueue(q, true)
		_ = client.Close()
	})
	return &testBundle{rdb: rdb, blobs: blobs, client: client, inspector: insp, queue: q}
}

// pending returns the ids of the pending tasks of q.
func (b *testBundle) pending(t testing.TB, q string) []string {
	t.Helper()
	var ids []string
	for page := 1; ; page++ {
		infos, err := b.inspector.ListPendingTasks(q, asynq.Page(page), asynq.PageSize(1000))
		if err != nil {
			if errors.Is(err, asynq.ErrQueueNotFound) {
				return nil
			}
			t.Fatalf("list pending %s: %v", q, err)
		}
		for _, in := range infos {
			ids = append(ids, in.ID)
		}
		if len(infos) < 1000 {
			return ids
		}
	}
}

// payloadMembers returns the json names of Payload's members, in order.
func payloadMembers() []string {
	var out []string
	for _, f := range payloadFields().list {
		out = append(out, f.name)
	}
	return out
}

// tenantMap is a vlens.TenantSource over a map, for tests.
type tenantMap map[string]vlens.Tenant

func (m tenantMap) Tenant(name string) (vlens.Tenant, bool) {
	t, ok := m[name]
	return t, ok
}

// testRequestID is a business request id in Vlens's shape (a UUID).
const testRequestID = "5f2c7a1e-93b4-4c1d-8e0a-2b6f4d9c1a77"
