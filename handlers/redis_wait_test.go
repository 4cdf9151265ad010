package handlers

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// A failed attempt waits for an unreachable Redis to answer again before it
// hands its error to asynq (whose own retry of the write never succeeds), and
// gives up at RedisWaitMax or when its context ends.
func TestAwaitRedis(t *testing.T) {
	t.Parallel()
	setup := func(t *testing.T, max time.Duration) (*Handler, *miniredis.Miniredis) {
		m := miniredis.RunT(t)
		rdb := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1})
		t.Cleanup(func() { _ = rdb.Close() })
		return &Handler{rdb: rdb, cfg: Config{RedisWaitMax: max}, log: zerolog.Nop()}, m
	}
	t.Run("returns at once when Redis answers", func(t *testing.T) {
		h, _ := setup(t, time.Minute)
		began := time.Now()
		h.awaitRedis(context.Background())
		if d := time.Since(began); d > time.Second {
			t.Errorf("took %v with Redis up", d)
		}
	})
	t.Run("waits until Redis is back", func(t *testing.T) {
		h, m := setup(t, time.Minute)
		m.Close()
		restarted := make(chan time.Time, 1)
		go func() {
			time.Sleep(400 * time.Millisecond) // the outage
			if err := m.Restart(); err != nil {
				t.Error(err)
			}
			restarted <- time.Now()
		}()
		h.awaitRedis(context.Background())
		back := <-restarted
		if time.Now().Before(back) {
			t.Fatal("returned while Redis was still down")
		}
		if d := time.Since(back); d > 3*time.Second {
			t.Errorf("returned %v after Redis came back, want within one probe (<= 2 s)", d)
		}
	})
	t.Run("gives up at RedisWaitMax", func(t *testing.T) {
		h, m := setup(t, 300*time.Millisecond)
		m.Close()
		began := time.Now()
		h.awaitRedis(context.Background())
		if d := time.Since(began); d > 2*time.Second {
			t.Errorf("waited %v, want about RedisWaitMax (300ms)", d)
		}
	})
	t.Run("gives up when the attempt's context ends", func(t *testing.T) {
		h, m := setup(t, time.Minute)
		m.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		began := time.Now()
		h.awaitRedis(ctx)
		if d := time.Since(began); d > 2*time.Second {
			t.Errorf("waited %v after the context ended", d)
		}
	})
}
