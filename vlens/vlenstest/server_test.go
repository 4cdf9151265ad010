package vlenstest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vlensq/vlensq/vlens"
)

func TestNewTestServerClosesOnCleanup(t *testing.T) {
	t.Parallel()
	var url string
	t.Run("inner", func(t *testing.T) {
		s := NewTestServer(t, Options{Tenants: DemoTenants()})
		url = s.URL
		resp, err := s.Client().Get(s.URL + pathEligibility)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401 without an ApiKey", resp.StatusCode)
		}
	})
	client := &http.Client{Timeout: 5 * time.Second}
	if resp, err := client.Get(url + pathEligibility); err == nil {
		resp.Body.Close()
		t.Fatal("server still answers after the test ended")
	}
}

func TestServerCloseCutsDelaysShort(t *testing.T) {
	t.Parallel()
	s := NewServer(Options{Tenants: DemoTenants()})
	tenant := DemoTenants()[0]
	access, _ := s.UserTokens(tenant.Name, "slow")
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("POST", s.URL+pathFront, strings.NewReader(`{"image":"`+SampleImage(1)+`","client_transaction_id":"sandbox:delay:10m"}`))
		req.Header.Set("ApiKey", tenant.APIKey)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+access)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	waitFor(t, "the delayed call to arrive", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		n, _ := s.scenarios.get("sandbox:delay:10m")
		return n == 1
	})
	start := time.Now()
	s.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the delayed call did not end after Close")
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("Close took %v", el)
	}
}

func TestFakeCloseEndsDelays(t *testing.T) {
	t.Parallel()
	f := New(Options{Tenants: []vlens.Tenant{tenantA}, Faults: Faults{LatencyMin: time.Hour, LatencyMax: time.Hour}})
	f.Close()
	f.Close() // idempotent
	req := httptest.NewRequest("POST", pathOCRFront, strings.NewReader(`{"image":"`+SampleImage(1)+`"}`))
	req.Header.Set("ApiKey", tenantA.APIKey)
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	done := make(chan struct{})
	go func() { f.ServeHTTP(w, req); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("an hour of latency was not cut short by Close")
	}
	if w.Code != http.StatusOK {
		t.Fatalf("status %d after Close, want the fake to keep answering", w.Code)
	}
	if recs := f.Requests(); len(recs) != 1 || recs[0].Latency != time.Hour {
		t.Fatalf("records %+v", recs)
	}
}
