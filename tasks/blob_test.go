package tasks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vlensq/vlensq/internal/redistest"
)

func TestBlobStorePutGet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.Client(t, redistest.DBTasks)
	bs := NewBlobStore(rdb, time.Hour)
	data := fakeJPEG(300_000, 101)

	ref, err := bs.Put(ctx, data, "")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	want := BlobRef{Key: "sha256:" + hex.EncodeToString(sum[:]), Size: len(data), Type: "image/jpeg"}
	if ref != want {
		t.Fatalf("Put = %+v, want %+v", ref, want)
	}
	got, err := bs.Get(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(data) {
		t.Fatal("Get returned other bytes")
	}
	// Stored under the documented key, with the TTL, as raw bytes.
	key := "vlensq:blob:" + hex.EncodeToString(sum[:])
	if n, _ := rdb.StrLen(ctx, key).Result(); n != int64(len(data)) {
		t.Errorf("STRLEN %s = %d, want %d", key, n, len(data))
	}
	if ttl := rdb.TTL(ctx, key).Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Errorf("TTL = %v, want about 1h", ttl)
	}

	// Explicit content type is kept.
	pngRef, err := bs.Put(ctx, fakePNG(100, 101), "image/png")
	if err != nil || pngRef.Type != "image/png" {
		t.Fatalf("Put png = %+v, %v", pngRef, err)
	}
}

// The same image is stored once; a second Put extends but never shortens
// its TTL.
func TestBlobStoreContentAddressed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.Client(t, redistest.DBTasks)
	data := fakeJPEG(1000, 102)

	long := NewBlobStore(rdb, 48*time.Hour)
	ref, err := long.Put(ctx, data, "image/jpeg")
	if err != nil {
		t.Fatal(err)
	}
	short := NewBlobStore(rdb, time.Minute)
	ref2, err := short.Put(ctx, data, "image/jpeg")
	if err != nil {
		t.Fatal(err)
	}
	if ref != ref2 {
		t.Fatalf("same image, two refs: %v %v", ref, ref2)
	}
	keys, err := rdb.Keys(ctx, ref.redisKey()+"*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys = %v, %v; want exactly one", keys, err)
	}
	if ttl := rdb.TTL(ctx, ref.redisKey()).Val(); ttl < 47*time.Hour {
		t.Errorf("TTL after a shorter Put = %v, want it kept at ~48h", ttl)
	}

	// A shorter-lived blob is extended by a longer Put.
	data2 := fakeJPEG(1000, 103)
	ref3, _ := short.Put(ctx, data2, "")
	if _, err := long.Put(ctx, data2, ""); err != nil {
		t.Fatal(err)
	}
	if ttl := rdb.TTL(ctx, ref3.redisKey()).Val(); ttl < 47*time.Hour {
		t.Errorf("TTL after a longer Put = %v, want ~48h", ttl)
	}
}

func TestBlobStoreTouch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.Client(t, redistest.DBTasks)
	bs := NewBlobStore(rdb, time.Minute)
	if bs.TTL() != time.Minute || NewBlobStore(rdb, 0).TTL() != BlobTTLDefault {
		t.Fatal("TTL defaults wrong")
	}
	ref, err := bs.Put(ctx, fakeJPEG(500, 104), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := bs.Touch(ctx, ref, 10*time.Hour); err != nil {
		t.Fatal(err)
	}
	if ttl := rdb.TTL(ctx, ref.redisKey()).Val(); ttl < 9*time.Hour {
		t.Errorf("TTL after Touch = %v, want ~10h", ttl)
	}

	gone := BlobRef{Key: "sha256:" + strings.Repeat("e", 64), Size: 10}
	err = bs.Touch(ctx, gone, 0)
	if !errors.Is(err, ErrBlobMissing) {
		t.Errorf("Touch of a missing blob = %v, want ErrBlobMissing", err)
	}
	if rdb.Exists(ctx, gone.redisKey()).Val() != 0 {
		t.Error("Touch created a key")
	}
	if err := bs.Touch(ctx, BlobRef{Key: "nope", Size: 1}, 0); err == nil || errors.Is(err, ErrBlobMissing) {
		t.Errorf("Touch of a malformed ref = %v, want a validation error", err)
	}
}

func TestBlobStoreGetErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.Client(t, redistest.DBTasks)
	bs := NewBlobStore(rdb, time.Minute)

	gone := BlobRef{Key: "sha256:" + strings.Repeat("d", 64), Size: 10}
	_, err := bs.Get(ctx, gone)
	me, ok := errors.AsType[*BlobMissingError](err)
	if !ok || !errors.Is(err, ErrBlobMissing) || me.Ref != gone {
		t.Fatalf("Get missing = %v, want *BlobMissingError", err)
	}

	// Bytes under a key that do not hash to it are refused.
	ref, err := bs.Put(ctx, fakeJPEG(64, 105), "")
	if err != nil {
		t.Fatal(err)
	}
	rdb.Set(ctx, ref.redisKey(), fakeJPEG(64, 106), time.Minute)
	if _, err := bs.Get(ctx, ref); err == nil || errors.Is(err, ErrBlobMissing) {
		t.Errorf("Get of corrupted blob = %v, want an integrity error", err)
	}

	if _, err := bs.Get(ctx, BlobRef{Key: "sha256:xyz", Size: 1}); err == nil {
		t.Error("Get of a malformed ref succeeded")
	}
	if _, err := bs.Put(ctx, nil, ""); err == nil {
		t.Error("Put of no data succeeded")
	}
}
