package vlenstest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/vlensq/vlensq/vlens/vlenstest"
)

// A scenario scripts the answers to the requests that carry it: here a 500,
// then a success.
func Example() {
	srv := vlenstest.NewServer(vlenstest.Options{Tenants: vlenstest.DemoTenants()})
	defer srv.Close()
	tenant := vlenstest.DemoTenants()[0]
	access, _ := srv.UserTokens(tenant.Name, "user-1")

	for range 2 {
		body := `{"image":"` + vlenstest.SampleImage(1) + `","client_transaction_id":"sandbox:http500,ok#example"}`
		req, _ := http.NewRequest("POST", srv.URL+"/api/DigitalIdentity/verify/id/front", strings.NewReader(body))
		req.Header.Set("ApiKey", tenant.APIKey)
		req.Header.Set("TenancyName", tenant.Name)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+access)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		var env struct {
			ErrorCode    *int    `json:"error_code"`
			ErrorMessage *string `json:"error_message"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, env.ErrorCode == nil, env.ErrorMessage != nil)
	}
	for _, in := range srv.Injections() {
		fmt.Println("injected:", in.Fault, in.Status)
	}
	// Output:
	// 500 true true
	// 200 true false
	// injected: http500 500
}

func ExampleParseFaults() {
	fs, err := vlenstest.ParseFaults("latency=20ms-200ms, 5xx=0.05, 429=0.02, seed=7")
	fmt.Println(fs, err)
	_, err = vlenstest.ParseFaults("5xx=0.05,teapot=0.1")
	fmt.Println(err)
	// Output:
	// latency=20ms-200ms,5xx=0.05,429=0.02,seed=7 <nil>
	// vlenstest: bad item "teapot=0.1": unknown key "teapot" (want latency, 5xx, reset, html, truncated, empty, 429, 401, 4003, auth or seed)
}
