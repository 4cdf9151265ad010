package vlens_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/vlensq/vlensq/vlens"
	"github.com/vlensq/vlensq/vlens/vlenstest"
)

// Example calls the fake Vlens for one tenant: the client logs in with the
// tenant's credentials, keeps the token in Redis for every worker process,
// rate-limits the tenant and classifies each answer.
func Example() {
	ctx := context.Background()
	mr, err := miniredis.Run() // any Redis: standalone, Sentinel or Cluster
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()

	tenant := vlens.Tenant{Name: "demo-bank", APIKey: "demo-api-key", Username: "admin@demo-bank.example", Password: "demo-password"}
	fake := vlenstest.NewServer(vlenstest.Options{Tenants: []vlens.Tenant{tenant}})
	defer fake.Close()

	tenants, err := vlens.NewTenantSet(tenant) // or vlens.LoadTenants("tenants.json")
	if err != nil {
		panic(err)
	}
	client, err := vlens.New(vlens.Config{
		BaseURL:  fake.URL, // default: https://api.vlenseg.com
		Tenants:  tenants,
		Sessions: vlens.NewRedisSessionStore(rdb),
		Limiter:  vlens.NewRedisLimiter(rdb),
	})
	if err != nil {
		panic(err)
	}

	resp, err := client.Do(ctx, vlens.Call{
		Tenant: "demo-bank",
		Token:  vlens.TokenTenant,
		Path:   "/v1/ocr/aml/validate",
		Body:   map[string]string{"idNumber": "29001011234567", "name": "Ahmed Mohamed"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.HTTPStatus, resp.Verdict.Class)

	// The fake answers "sandbox:" values with scripted failures; here HTTP
	// 200 carrying error_code 3011 (card not detected).
	_, err = client.Do(ctx, vlens.Call{
		Tenant: "demo-bank",
		Path:   "/v1/ocr/aml/validate",
		Body:   map[string]string{"idNumber": "29001011234567", "name": "sandbox:code:3011"},
	})
	var verr *vlens.Error
	if errors.As(err, &verr) {
		fmt.Println(verr.HTTPStatus, verr.Code, verr.Class, verr.Category)
	}
	fmt.Println("logins:", fake.Logins("demo-bank"))
	// Output:
	// 200 success
	// 200 3011 permanent identity_verification
	// logins: 1
}

// ExampleRedisSessionStore stores an end user's tokens, as `vlensq session
// put` does, so that user-token calls (identity verification, business
// requests) can use and refresh them.
func ExampleRedisSessionStore() {
	ctx := context.Background()
	mr, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()

	store := vlens.NewRedisSessionStore(rdb)
	err = store.Put(ctx, "demo-bank", "user-42", vlens.Session{AccessToken: "eyJhbGciOi...", RefreshToken: "r-1"})
	if err != nil {
		panic(err)
	}
	s, err := store.Get(ctx, "demo-bank", "user-42")
	if err != nil {
		panic(err)
	}
	fmt.Println(s) // never prints the tokens
	_, err = store.Get(ctx, "demo-bank", "user-7")
	fmt.Println(errors.Is(err, vlens.ErrNoSession))
	fmt.Println(vlens.SessionKey("demo-bank", "user-42"))
	// Output:
	// session(access set, expires unknown; refresh set, expires unknown)
	// true
	// vlensq:session:{demo-bank:user-42}
}
