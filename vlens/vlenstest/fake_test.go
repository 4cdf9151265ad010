package vlenstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vlensq/vlensq/vlens"
)

func TestRequestRecords(t *testing.T) {
	t.Parallel()
	b := setup(t)
	access, _ := b.srv.UserTokens(b.a.Name, "Rec-User")
	req := b.newRequest(t, http.MethodPost, pathFront, access, frontBody(map[string]any{"client_transaction_id": "sandbox:code:3011#rec"}))
	req.Header.Set("X-Request-Id", "rid-123")
	b.send(t, req)
	wantSuccess(t, b.post(t, pathOCRFront, "", frontBody(nil)))

	recs := b.srv.Requests()
	if len(recs) != 2 {
		t.Fatalf("%d records", len(recs))
	}
	want := Request{
		At: b.clock.Now(), RequestID: "rid-123", Method: "POST", Path: pathFront, Tenant: b.a.Name,
		User: "Rec-User", Token: "user", Status: 200, ErrorCode: 3011, Scenario: "sandbox:code:3011#rec", Step: "code:3011",
	}
	if recs[0] != want {
		t.Fatalf("record\n got %+v\nwant %+v", recs[0], want)
	}
	if recs[1].Token != "" || recs[1].User != "" || recs[1].Status != 200 {
		t.Fatalf("ApiKey-only record %+v", recs[1])
	}
}

// TestNoSecretsInRecords sends canary secrets through every kind of call and
// checks that none reaches Requests(), Injections() or the admin JSON.
func TestNoSecretsInRecords(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.OTPCode = "918273"; o.Faults = Faults{TooManyTrials: 0.5, Seed: 5} })
	tenantAccess, tenantRefresh := b.tenantLogin(t)
	userLogin := b.post(t, pathUserLogin, "", map[string]any{"userNameOrEmailAddress": "canary-user", "password": "canary-user-pass-8d8d"})
	userAccess := userLogin.str(t, "data.accessToken")
	b.post(t, pathUserRefresh, "", map[string]any{"refreshToken": userLogin.str(t, "data.refreshToken")})
	b.post(t, pathRefresh, "", map[string]any{"refreshToken": tenantRefresh})
	b.post(t, pathOCRFront, tenantAccess, frontBody(nil))
	b.post(t, pathValidateOTP, userAccess, map[string]any{
		"geoLocation": cairo, "userDeviceUtcTime": deviceTime, "otpRequestId": "sandbox:ok#o", "otpCode": "918273", "requestId": "sandbox:ok#r",
	})
	b.post(t, pathAML, "", map[string]any{"idNumber": "29912312345678", "name": "Canary Person Name"})

	recJSON, _ := json.Marshal(b.srv.Requests())
	injJSON, _ := json.Marshal(b.srv.Injections())
	all := string(recJSON) + string(injJSON)
	canaries := []string{
		tenantA.APIKey, tenantA.Password, "canary-user-pass-8d8d", tenantAccess, tenantRefresh, userAccess,
		"918273", "29912312345678", "Canary Person Name", SampleImage(1)[:40],
	}
	for _, c := range canaries {
		if strings.Contains(all, c) {
			t.Errorf("records contain the secret %.12q...", c)
		}
	}
	if !strings.Contains(string(recJSON), pathAML) {
		t.Fatal("records are empty: the canary check proves nothing")
	}
}

// TestConcurrentUse hammers one fake from many goroutines: logins,
// refreshes, verification, business calls, scenarios, faults and the
// inspection methods. Run with -race.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	fs, err := ParseFaults("5xx=0.05,truncated=0.05,empty=0.05,429=0.05,401=0.05,4003=0.05,seed=11")
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, func(o *Options) { o.Faults = fs })
	const workers, rounds = 16, 12
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			user := fmt.Sprintf("conc-%d", w)
			access, refresh := b.srv.UserTokens(b.a.Name, user)
			for i := range rounds {
				switch i % 4 {
				case 0:
					r := b.post(t, pathUserRefresh, "", map[string]any{"refreshToken": refresh})
					if r.status == 200 {
						access, refresh = r.str(t, "data.accessToken"), r.str(t, "data.newRefreshToken")
					}
				case 1:
					b.post(t, pathFront, access, frontBody(map[string]any{"client_transaction_id": fmt.Sprintf("sandbox:http500,ok#c%d", i)}))
				case 2:
					b.get(t, pathEligibility, access)
				case 3:
					b.post(t, pathOCRFront, "", frontBody(nil))
				}
				_ = b.srv.Requests()
				_ = b.srv.Injections()
				_ = b.srv.Refreshes(b.a.Name, user)
			}
		})
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 20 {
			b.srv.SetFaults(fs)
			b.srv.AddTenant(vlens.Tenant{Name: "late", APIKey: "late-key", Username: "u", Password: "p"})
			b.srv.ExpireAccessTokens()
			time.Sleep(time.Millisecond)
		}
	}()
	wg.Wait()

	if got := len(b.srv.Requests()); got != workers*rounds {
		t.Fatalf("%d records, want %d", got, workers*rounds)
	}
	// Each "sandbox:http500,ok#cI" string was sent by every worker: the
	// first of them to get past authentication got the 500, the others ok
	// (records are kept in the order calls end, so count, do not order).
	steps := map[string][]string{}
	for _, rec := range b.srv.Requests() {
		if rec.Scenario != "" {
			steps[rec.Scenario] = append(steps[rec.Scenario], rec.Step)
		}
	}
	if len(steps) == 0 {
		t.Fatal("no scenario reached the endpoint")
	}
	for sc, got := range steps {
		n500 := 0
		for _, st := range got {
			if st == "http500" {
				n500++
			} else if st != "ok" {
				t.Fatalf("%s: step %q", sc, st)
			}
		}
		if n500 != 1 {
			t.Fatalf("%s: steps %v, want one http500, the rest ok", sc, got)
		}
	}
}

// BenchmarkServeHTTP measures the fake's own cost per call (no network):
// an OCR front with its image checks, and a user-token business status.
func BenchmarkServeHTTP(b *testing.B) {
	f := New(Options{Tenants: []vlens.Tenant{tenantA}, RecordLimit: 1000})
	access, _ := f.UserTokens(tenantA.Name, "bench-user")
	ocrBody := []byte(`{"image":"` + SampleImage(1) + `","country":"EG"}`)
	cases := []struct {
		name, method, path, token string
		body                      []byte
	}{
		{"ocr_front", "POST", pathOCRFront, "", ocrBody},
		{"business_status", "GET", pathGetBusinessReq + "sandbox:ok", access, nil},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest(bc.method, bc.path, bytes.NewReader(bc.body))
				req.Header.Set("ApiKey", tenantA.APIKey)
				req.Header.Set("Content-Type", "application/json")
				if bc.token != "" {
					req.Header.Set("Authorization", "Bearer "+bc.token)
				}
				w := httptest.NewRecorder()
				f.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}
