package dashboard

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/vlensq/vlensq/deadletter"
	"github.com/vlensq/vlensq/internal/config"
)

func TestReadyzFollowsRedis(t *testing.T) {
	t.Parallel()
	// A Redis that can be stopped: the shared test server must stay up.
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1})
	defer rdb.Close()
	store, err := deadletter.New(rdb, deadletter.Config{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Config{
		Redis: &config.Redis{Client: rdb, ConnOpt: asynq.RedisClientOpt{Addr: mr.Addr()}, Kind: "standalone", Display: "mini"},
		DLQ:   store, Token: testToken, ReadOnly: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	srv := httptest.NewServer(d.Handler())
	defer srv.Close()
	status := func(path string) int {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status("/readyz"); got != http.StatusOK {
		t.Fatalf("readyz with Redis up = %d", got)
	}
	mr.Close()
	if got := status("/readyz"); got != http.StatusServiceUnavailable {
		t.Errorf("readyz with Redis down = %d, want 503", got)
	}
	if got := status("/healthz"); got != http.StatusOK {
		t.Errorf("healthz with Redis down = %d, want 200 (the process is up)", got)
	}
}
