package outcome

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
)

func TestCallbackRetryDelay(t *testing.T) {
	t.Parallel()
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	for n, w := range want {
		if got := CallbackRetryDelay(n); got != w {
			t.Errorf("CallbackRetryDelay(%d) = %v, want %v", n, got, w)
		}
	}
	if got := CallbackRetryDelay(50); got != CallbackBackoffCap {
		t.Errorf("CallbackRetryDelay(50) = %v, want cap %v", got, CallbackBackoffCap)
	}
}

func TestCallbackHandler(t *testing.T) {
	t.Parallel()
	secret := []byte("hook-secret")
	tests := []struct {
		desc     string
		status   int
		wantErr  bool
		wantSkip bool
	}{
		{desc: "2xx delivers", status: 204},
		{desc: "5xx retries", status: 503, wantErr: true},
		{desc: "429 retries", status: 429, wantErr: true},
		{desc: "4xx gives up", status: 404, wantErr: true, wantSkip: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			got := make(chan *http.Request, 1)
			bodies := make(chan []byte, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got <- r
				bodies <- b
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			o := Outcome{TaskID: "t9", Type: "ocr:aml", Status: StatusSucceeded, Class: "success"}
			p, _ := json.Marshal(callbackPayload{URL: srv.URL, Outcome: o})
			h := NewCallbackHandler(CallbackConfig{Secret: secret, AllowPrivate: true, AllowHTTP: true})
			err := h.ProcessTask(context.Background(), asynq.NewTask(TypeCallback, p))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if errors.Is(err, asynq.SkipRetry) != tc.wantSkip {
				t.Fatalf("SkipRetry = %v, want %v (err %v)", errors.Is(err, asynq.SkipRetry), tc.wantSkip, err)
			}
			r, body := <-got, <-bodies
			var sent Outcome
			if err := json.Unmarshal(body, &sent); err != nil || sent.TaskID != "t9" {
				t.Fatalf("callback body %s: %v", body, err)
			}
			m := hmac.New(sha256.New, secret)
			m.Write(body)
			if want := "sha256=" + hex.EncodeToString(m.Sum(nil)); r.Header.Get("X-Vlensq-Signature") != want {
				t.Errorf("signature %q, want %q", r.Header.Get("X-Vlensq-Signature"), want)
			}
			if r.Header.Get("Idempotency-Key") != "t9" {
				t.Errorf("Idempotency-Key = %q", r.Header.Get("Idempotency-Key"))
			}
		})
	}
}

func TestCallbackHandlerNetworkErrorRetries(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens any more
	p, _ := json.Marshal(callbackPayload{URL: url, Outcome: Outcome{TaskID: "t1"}})
	err := NewCallbackHandler(CallbackConfig{Timeout: 2 * time.Second, AllowPrivate: true, AllowHTTP: true}).ProcessTask(context.Background(), asynq.NewTask(TypeCallback, p))
	if err == nil || errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
}

// Callback URLs cannot reach the worker's own network, downgrade to plain
// http or bounce through a redirect unless the configuration allows it.
func TestCallbackTargetsAreRestricted(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/final", http.StatusTemporaryRedirect)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer tlsSrv.Close()
	run := func(cfg CallbackConfig, url string) error {
		p, _ := json.Marshal(callbackPayload{URL: url, Outcome: Outcome{TaskID: "t-target"}})
		return NewCallbackHandler(cfg).ProcessTask(context.Background(), asynq.NewTask(TypeCallback, p))
	}
	refused := func(desc string, err error) {
		t.Helper()
		if !errors.Is(err, ErrCallbackTarget) || !errors.Is(err, asynq.SkipRetry) {
			t.Errorf("%s: err = %v, want ErrCallbackTarget without retry", desc, err)
		}
	}
	refused("plain http", run(CallbackConfig{AllowPrivate: true}, srv.URL))
	refused("loopback literal", run(CallbackConfig{AllowHTTP: true}, srv.URL))
	refused("private literal", run(CallbackConfig{}, "https://10.1.2.3/hook"))
	refused("link-local (cloud metadata)", run(CallbackConfig{}, "https://169.254.169.254/latest"))
	refused("IPv4-mapped loopback", run(CallbackConfig{}, "https://[::ffff:127.0.0.1]/"))
	// A name is checked on the address it resolves to, at dial time (DNS
	// rebinding cannot slip past a check made earlier).
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(tlsSrv.URL, "https://"))
	refused("name resolving to loopback", run(CallbackConfig{HTTPClient: nil}, "https://localhost:"+port+"/hook"))
	if n := hits.Load(); n != 0 {
		t.Fatalf("%d requests reached refused targets", n)
	}
	// Allowed by configuration, the same targets are reached.
	if err := run(CallbackConfig{AllowPrivate: true, AllowHTTP: true}, srv.URL); err != nil {
		t.Errorf("allowed: %v", err)
	}
	// Redirects are not followed: the 307 is the answer, not retried.
	before := hits.Load()
	err := run(CallbackConfig{AllowPrivate: true, AllowHTTP: true}, srv.URL+"/redirect")
	if err == nil || !errors.Is(err, asynq.SkipRetry) || hits.Load() != before+1 {
		t.Errorf("redirect: err = %v, %d requests (want 1, not followed)", err, hits.Load()-before)
	}
}
