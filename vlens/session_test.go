package vlens

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vlensq/vlensq/internal/redistest"
)

func TestRedisSessionStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redistest.Client(t, redistest.DBVlens)
	store := NewRedisSessionStore(rdb)

	t.Run("absent", func(t *testing.T) {
		t.Parallel()
		_, err := store.Get(ctx, "sess-absent", "u1")
		if !errors.Is(err, ErrNoSession) {
			t.Fatalf("Get = %v, want ErrNoSession", err)
		}
	})

	t.Run("round trip and replace", func(t *testing.T) {
		t.Parallel()
		exp := time.Date(2031, 5, 6, 7, 8, 9, 123_000_000, time.UTC)
		want := Session{AccessToken: "acc-1", RefreshToken: "ref-1", AccessExpiresAt: exp, RefreshExpiresAt: exp.Add(time.Hour)}
		if err := store.Put(ctx, "sess-rt", "alice", want); err != nil {
			t.Fatal(err)
		}
		got, err := store.Get(ctx, "sess-rt", "alice")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
			t.Errorf("Get (-want +got):\n%s", diff)
		}
		// A new session without expiries replaces the old one entirely.
		if err := store.Put(ctx, "sess-rt", "alice", Session{AccessToken: "acc-2"}); err != nil {
			t.Fatal(err)
		}
		got, err = store.Get(ctx, "sess-rt", "alice")
		if err != nil {
			t.Fatal(err)
		}
		if got.AccessToken != "acc-2" || got.RefreshToken != "" || !got.AccessExpiresAt.IsZero() || !got.RefreshExpiresAt.IsZero() {
			t.Errorf("after replace Get = %+v (tokens %q %q), want only the new access token", got, got.AccessToken, got.RefreshToken)
		}
		// Owners are separate: the tenant session (user "") and other users.
		if _, err := store.Get(ctx, "sess-rt", ""); !errors.Is(err, ErrNoSession) {
			t.Errorf("tenant session = %v, want ErrNoSession", err)
		}
		if n := rdb.Exists(ctx, "vlensq:session:{sess-rt:alice}").Val(); n != 1 {
			t.Errorf("key vlensq:session:{sess-rt:alice} exists = %d, want 1", n)
		}
		if err := store.Delete(ctx, "sess-rt", "alice"); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Get(ctx, "sess-rt", "alice"); !errors.Is(err, ErrNoSession) {
			t.Errorf("after Delete Get = %v, want ErrNoSession", err)
		}
	})

	t.Run("put validates", func(t *testing.T) {
		t.Parallel()
		if err := store.Put(ctx, "sess-val", "u", Session{}); err == nil {
			t.Error("Put of an empty session succeeded")
		}
		if err := store.Put(ctx, "", "u", Session{AccessToken: "a"}); err == nil {
			t.Error("Put without tenant succeeded")
		}
	})

	t.Run("lock excludes across stores", func(t *testing.T) {
		t.Parallel()
		other := NewRedisSessionStore(redistest.Client(t, redistest.DBVlens))
		counter := "vlensq:test:sess-lock:counter"
		rdb.Del(ctx, counter)
		const workers, rounds = 8, 10
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for i := range workers {
			s := store
			if i%2 == 1 {
				s = other
			}
			wg.Go(func() {
				for range rounds {
					lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
					unlock, err := s.Lock(lctx, "sess-lock", "bob")
					if err != nil {
						cancel()
						errs <- err
						return
					}
					// Read-modify-write that loses updates without the lock.
					v, _ := rdb.Get(ctx, counter).Int()
					rdb.Set(ctx, counter, strconv.Itoa(v+1), 0)
					unlock()
					cancel()
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if v, _ := rdb.Get(ctx, counter).Int(); v != workers*rounds {
			t.Errorf("counter = %d, want %d (lost updates: the lock did not exclude)", v, workers*rounds)
		}
	})

	t.Run("lock waits up to ctx", func(t *testing.T) {
		t.Parallel()
		unlock, err := store.Lock(ctx, "sess-wait", "")
		if err != nil {
			t.Fatal(err)
		}
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if _, err := store.Lock(short, "sess-wait", ""); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("second Lock = %v, want context.DeadlineExceeded", err)
		}
		unlock()
		unlock() // idempotent
		again, cancel2 := context.WithTimeout(ctx, 5*time.Second)
		defer cancel2()
		unlock2, err := store.Lock(again, "sess-wait", "")
		if err != nil {
			t.Fatalf("Lock after unlock: %v", err)
		}
		unlock2()
	})

	t.Run("expired lock is taken over and not released by its old holder", func(t *testing.T) {
		t.Parallel()
		short := NewRedisSessionStore(rdb)
		short.LockTTL = 50 * time.Millisecond
		unlockOld, err := short.Lock(ctx, "sess-ttl", "carol")
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		unlockNew, err := store.Lock(wctx, "sess-ttl", "carol") // default TTL
		if err != nil {
			t.Fatalf("Lock after the holder's TTL: %v", err)
		}
		unlockOld() // must not release the new holder's lock
		probe, cancel2 := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel2()
		if _, err := store.Lock(probe, "sess-ttl", "carol"); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Lock while held = %v, want DeadlineExceeded", err)
		}
		unlockNew()
	})
}

func TestSessionString(t *testing.T) {
	t.Parallel()
	s := Session{AccessToken: "canary-access", RefreshToken: "canary-refresh",
		AccessExpiresAt: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, s)
		if strings.Contains(out, "canary") {
			t.Errorf("%s prints a token: %s", format, out)
		}
	}
	want := "session(access set, expires 2030-01-02T03:04:05Z; refresh set, expires unknown)"
	if got := s.String(); got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}
