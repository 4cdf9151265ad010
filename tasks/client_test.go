package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"

	"github.com/vlensq/vlensq/internal/redistest"
)

func TestNewClientConfig(t *testing.T) {
	t.Parallel()
	rdb := redistest.Client(t, redistest.DBTasks)
	tenants := tenantMap{"acme": {Name: "acme"}}
	tests := []struct {
		desc    string
		cfg     ClientConfig
		wantErr string
	}{
		{"no tenants", ClientConfig{}, "tasks: ClientConfig.Tenants is required"},
		{"negative retry", ClientConfig{Tenants: tenants, MaxRetry: -1}, "tasks: ClientConfig.MaxRetry must not be negative, got -1"},
		{"tiny timeout", ClientConfig{Tenants: tenants, Timeout: time.Millisecond}, "tasks: ClientConfig.Timeout must be at least 1s, got 1ms"},
		{"bad queue", ClientConfig{Tenants: tenants, DefaultQueue: "a{b}"}, "tasks: ClientConfig.DefaultQueue must not contain { or }"},
		{"negative batch", ClientConfig{Tenants: tenants, BatchConcurrency: -3}, "tasks: ClientConfig.BatchConcurrency must be positive, got -3"},
		{"defaults", ClientConfig{Tenants: tenants}, ""},
	}
	for _, tt := range tests {
		c, err := NewClient(rdb, tt.cfg)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.desc, err)
		case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
			t.Errorf("%s: err = %v, want %q", tt.desc, err, tt.wantErr)
		}
		if c != nil {
			want := ClientConfig{Tenants: tenants, MaxRetry: 25, Timeout: 3 * time.Minute, Retention: 24 * time.Hour,
				DefaultQueue: "default", BatchConcurrency: 512}
			if d := cmp.Diff(want, c.cfg); d != "" {
				t.Errorf("defaults (-want +got):\n%s", d)
			}
		}
	}
	if _, err := NewClient(nil, ClientConfig{Tenants: tenants}); err == nil {
		t.Error("NewClient(nil) succeeded")
	}
}

// The requirement: with a blob store, three 500 KB liveness frames cost at
// most 10 KB of asynq payload, and no image bytes reach asynq.
func TestNewTaskMovesImagesToBlobs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	frames := [][]byte{fakeJPEG(500_000, 201), fakeJPEG(500_000, 202), fakeJPEG(500_000, 203)}
	p := &Payload{Tenant: "acme", User: "user-9", TransactionID: TextID("tx-9"),
		Face1: ImageBytes(frames[0]), Face2: ImageBytes(frames[1]), Face3: ImageBytes(frames[2])}
	orig := *p

	task, _, err := b.client.NewTask(ctx, TypeVerifyLiveness, p, EnqueueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(task.Payload()); n > 10_000 {
		t.Errorf("asynq payload is %d bytes, want <= 10 KB", n)
	}
	if task.Type() != TypeVerifyLiveness {
		t.Errorf("task type %q", task.Type())
	}
	for i, f := range frames {
		if strings.Contains(string(task.Payload()), b64(f)[:64]) {
			t.Errorf("payload holds bytes of frame %d", i+1)
		}
	}
	if d := cmp.Diff(&orig, p); d != "" {
		t.Errorf("NewTask changed the caller's payload:\n%s", d)
	}

	got, err := DecodePayload(task.Payload())
	if err != nil {
		t.Fatal(err)
	}
	for i, im := range []*Image{got.Face1, got.Face2, got.Face3} {
		if im.Ref == nil || im.Inline != "" {
			t.Fatalf("face_%d is not a blob reference: %v", i+1, im)
		}
		data, err := b.blobs.Get(ctx, *im.Ref)
		if err != nil {
			t.Fatalf("face_%d: %v", i+1, err)
		}
		if string(data) != string(frames[i]) || im.Ref.Type != "image/jpeg" || im.Ref.Size != 500_000 {
			t.Errorf("face_%d: stored blob differs (ref %+v)", i+1, im.Ref)
		}
	}
}

// NewTask -> DecodePayload -> RequestBody gives the Vlens body with the
// original base64 images, for every type.
func TestClientRoundTrip(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	for _, typ := range Types() {
		t.Run(typ, func(t *testing.T) {
			p := validPayload(t, typ)
			spec, _ := Lookup(typ)
			want, err := p.RequestBody(ctx, spec, nil)
			if err != nil {
				t.Fatal(err)
			}
			task, _, err := b.client.NewTask(ctx, typ, p, EnqueueOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodePayload(task.Payload())
			if err != nil {
				t.Fatal(err)
			}
			if err := got.Validate(task.Type()); err != nil {
				t.Fatalf("decoded payload does not validate: %v", err)
			}
			body, err := got.RequestBody(ctx, spec, b.blobs)
			if err != nil {
				t.Fatal(err)
			}
			wj, _ := json.Marshal(want)
			gj, _ := json.Marshal(body)
			if string(wj) != string(gj) {
				t.Errorf("body after the round trip differs:\n got %.200s\nwant %.200s", gj, wj)
			}
			if got.PathFor(spec) != p.PathFor(spec) {
				t.Errorf("path %q, want %q", got.PathFor(spec), p.PathFor(spec))
			}
		})
	}
}

func TestNewTaskRejects(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	missing := BlobRef{Key: "sha256:" + strings.Repeat("c", 64), Size: 100, Type: "image/jpeg"}
	tests := []struct {
		desc string
		typ  string
		p    func() *Payload
		o    EnqueueOptions
		want ValidationError
	}{
		{"unknown tenant", TypeOCRAML, func() *Payload { p := validPayload(t, TypeOCRAML); p.Tenant = "initech"; return p },
			EnqueueOptions{}, ValidationError{"tenant", `unknown tenant "initech"`}},
		{"missing tenant", TypeOCRAML, func() *Payload { p := validPayload(t, TypeOCRAML); p.Tenant = ""; return p },
			EnqueueOptions{}, ValidationError{"tenant", "required"}},
		{"unknown type", "ocr:selfie", func() *Payload { return validPayload(t, TypeOCRAML) },
			EnqueueOptions{}, ValidationError{"type", `unknown task type "ocr:selfie" (known: ` + strings.Join(Types(), ", ") + ")"}},
		{"nil payload", TypeOCRAML, func() *Payload { return nil }, EnqueueOptions{}, ValidationError{"payload", "required"}},
		{"missing blob", TypeVerifyLiveness, func() *Payload { p := validPayload(t, TypeVerifyLiveness); p.Face2 = RefImage(missing); return p },
			EnqueueOptions{}, ValidationError{"payload.face_2", "blob " + missing.Key + " not found (expired or never stored)"}},
		{"blank queue", TypeOCRAML, func() *Payload { return validPayload(t, TypeOCRAML) },
			EnqueueOptions{Queue: " "}, ValidationError{"queue", "must not be blank"}},
		{"queue with space", TypeOCRAML, func() *Payload { return validPayload(t, TypeOCRAML) },
			EnqueueOptions{Queue: "kyc high"}, ValidationError{"queue", "must not contain spaces or control characters"}},
		{"id with newline", TypeOCRAML, func() *Payload { return validPayload(t, TypeOCRAML) },
			EnqueueOptions{ID: "a\nb"}, ValidationError{"id", "must not contain spaces or control characters"}},
		{"long id", TypeOCRAML, func() *Payload { return validPayload(t, TypeOCRAML) },
			EnqueueOptions{ID: strings.Repeat("x", 257)}, ValidationError{"id", "longer than 256 bytes"}},
		{"negative delay", TypeOCRAML, func() *Payload { return validPayload(t, TypeOCRAML) },
			EnqueueOptions{ProcessIn: -time.Second}, ValidationError{"process_in", "must not be negative"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := b.client.Enqueue(ctx, tt.typ, tt.p(), tt.o)
			if err == nil {
				t.Fatal("enqueued")
			}
			if d := cmp.Diff(tt.want, *asValidation(t, err)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	if ids := b.pending(t, b.queue); len(ids) != 0 {
		t.Errorf("rejected tasks were enqueued: %v", ids)
	}
}

// A payload that fails validation stores no blob: validation runs before
// any image moves.
func TestNewTaskInvalidStoresNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	data := fakeJPEG(1234, 301)
	p := &Payload{Tenant: "acme", Image: ImageBytes(data), Country: "EG", CallbackURL: "mailto:x@example.com"}
	if _, _, err := b.client.NewTask(ctx, TypeOCRIDFront, p, EnqueueOptions{}); err == nil {
		t.Fatal("accepted")
	}
	ci, _ := checkImage("x", ImageBytes(data))
	if n := b.rdb.Exists(ctx, BlobRef{Key: ci.key}.redisKey()).Val(); n != 0 {
		t.Error("an invalid task stored its image")
	}
}

func TestEnqueueDuplicateID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	o := EnqueueOptions{ID: "order-42-front"}
	info, err := b.client.Enqueue(ctx, TypeVerifyIDFront, validPayload(t, TypeVerifyIDFront), o)
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != o.ID {
		t.Errorf("task id %q, want %q", info.ID, o.ID)
	}
	p2 := validPayload(t, TypeVerifyIDFront)
	p2.Image = img(77) // a different payload; the id alone decides
	_, err = b.client.Enqueue(ctx, TypeVerifyIDFront, p2, o)
	if !errors.Is(err, ErrDuplicateID) || !errors.Is(err, asynq.ErrTaskIDConflict) {
		t.Fatalf("second enqueue: err = %v, want ErrDuplicateID wrapping asynq.ErrTaskIDConflict", err)
	}
	if want := `tasks: duplicate task id: "order-42-front" in queue "` + b.queue + `"`; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
	if d := cmp.Diff([]string{o.ID}, b.pending(t, b.queue)); d != "" {
		t.Errorf("tasks in Redis (-want +got):\n%s", d)
	}
	// The same id in another queue is another task.
	other := b.queue + "-other"
	t.Cleanup(func() { _ = b.inspector.DeleteQueue(other, true) })
	if _, err := b.client.Enqueue(ctx, TypeVerifyIDFront, p2, EnqueueOptions{ID: o.ID, Queue: other}); err != nil {
		t.Errorf("same id, other queue: %v", err)
	}
}

func TestEnqueueOptions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	info, err := b.client.Enqueue(ctx, TypeOCRAML, validPayload(t, TypeOCRAML), EnqueueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.inspector.GetTaskInfo(b.queue, info.ID)
	if err != nil {
		t.Fatal(err)
	}
	type opts struct {
		Queue     string
		State     asynq.TaskState
		MaxRetry  int
		Timeout   time.Duration
		Retention time.Duration
	}
	want := opts{b.queue, asynq.TaskStatePending, MaxRetryDefault, TimeoutDefault, RetentionDefault}
	if d := cmp.Diff(want, opts{got.Queue, got.State, got.MaxRetry, got.Timeout, got.Retention}); d != "" {
		t.Errorf("task options (-want +got):\n%s", d)
	}

	// A delayed task is scheduled, and its images outlive the delay.
	c, err := NewClient(b.rdb, ClientConfig{
		Tenants: tenantMap{"acme": {}}, Blobs: NewBlobStore(b.rdb, time.Hour),
		MaxRetry: 4, Timeout: 40 * time.Second, Retention: -1, DefaultQueue: b.queue,
	})
	if err != nil {
		t.Fatal(err)
	}
	p := validPayload(t, TypeOCRIDFront)
	p.Image = img(401)
	info, err = c.Enqueue(ctx, TypeOCRIDFront, p, EnqueueOptions{ProcessIn: 5 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	got, err = b.inspector.GetTaskInfo(b.queue, info.ID)
	if err != nil {
		t.Fatal(err)
	}
	want = opts{b.queue, asynq.TaskStateScheduled, 4, 40 * time.Second, 0}
	if d := cmp.Diff(want, opts{got.Queue, got.State, got.MaxRetry, got.Timeout, got.Retention}); d != "" {
		t.Errorf("task options (-want +got):\n%s", d)
	}
	dp, _ := DecodePayload(got.Payload)
	if ttl := b.rdb.TTL(ctx, dp.Image.Ref.redisKey()).Val(); ttl < 5*time.Hour+59*time.Minute {
		t.Errorf("blob TTL %v does not outlive the 5h delay plus the store TTL", ttl)
	}
}

// An image stored earlier can be referenced; the enqueue refreshes its TTL.
func TestEnqueueWithBlobReference(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	short := NewBlobStore(b.rdb, time.Minute)
	ref, err := short.Put(ctx, fakeJPEG(5000, 501), "")
	if err != nil {
		t.Fatal(err)
	}
	p := validPayload(t, TypeOCRFaceMatch)
	p.Image = RefImage(ref)
	info, err := b.client.Enqueue(ctx, TypeOCRFaceMatch, p, EnqueueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ttl := b.rdb.TTL(ctx, ref.redisKey()).Val(); ttl < BlobTTLDefault-time.Minute {
		t.Errorf("referenced blob TTL = %v, want refreshed to ~%v", ttl, BlobTTLDefault)
	}
	dp, err := DecodePayload(info.Payload)
	if err != nil || dp.Image.Ref == nil || *dp.Image.Ref != ref {
		t.Errorf("enqueued image = %v, %v; want the reference", dp.Image, err)
	}
}

func TestClientWithoutBlobsKeepsImagesInline(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c, err := NewClient(b.rdb, ClientConfig{Tenants: tenantMap{"acme": {}}, DefaultQueue: b.queue})
	if err != nil {
		t.Fatal(err)
	}
	p := validPayload(t, TypeOCRIDBack)
	task, _, err := c.NewTask(context.Background(), TypeOCRIDBack, p, EnqueueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(task.Payload()), p.Image.Inline) {
		t.Error("image is not inline")
	}
}

func TestClientClose(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if err := b.client.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := b.client.Enqueue(context.Background(), TypeOCRAML, validPayload(t, TypeOCRAML), EnqueueOptions{})
	if !errors.Is(err, ErrClientClosed) {
		t.Errorf("Enqueue after Close = %v, want ErrClientClosed", err)
	}
	if err := b.rdb.Ping(context.Background()).Err(); err != nil {
		t.Errorf("Close closed the caller's Redis client: %v", err)
	}
}

func TestEnqueueIdentityStoresEachImageOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	id := Identity{Tenant: "acme", User: "u1", Front: fakeJPEG(2048, 1), Back: fakeJPEG(2048, 2),
		Faces: [3][]byte{fakeJPEG(1024, 3), fakeJPEG(1024, 4), fakeJPEG(1024, 5)}}
	info, err := b.client.EnqueueIdentity(ctx, id, EnqueueOptions{Queue: b.queue})
	if err != nil {
		t.Fatal(err)
	}
	p, err := DecodePayload(info.Payload)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("queue payload: %d bytes for 5 images of 8192 bytes in all", len(info.Payload))
	if len(info.Payload) > 1024 {
		t.Errorf("queue payload is %d bytes; the images are not claim-checked", len(info.Payload))
	}
	for name, im := range map[string]*Image{"front_image": p.FrontImage, "back_image": p.BackImage, "face_1": p.Face1, "face_2": p.Face2, "face_3": p.Face3} {
		if im == nil || im.Ref == nil {
			t.Fatalf("%s is not a blob reference: %v", name, im)
		}
		if _, err := b.blobs.Get(ctx, *im.Ref); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	id.Faces[2] = id.Faces[0]
	_, err = b.client.EnqueueIdentity(ctx, id, EnqueueOptions{Queue: b.queue})
	if ve := asValidation(t, err); ve.Field != "payload.face_3" {
		t.Errorf("repeated frame: %v", err)
	}
}
