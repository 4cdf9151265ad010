package vlenstest

import (
	"encoding/base64"
	"testing"
)

func TestDemoTenants(t *testing.T) {
	t.Parallel()
	ts := DemoTenants()
	if len(ts) != 2 {
		t.Fatalf("%d demo tenants, want 2", len(ts))
	}
	if err := (Options{Tenants: ts}).Validate(); err != nil {
		t.Fatalf("demo tenants are not valid options: %v", err)
	}
	ts[0].Name = "changed"
	if DemoTenants()[0].Name == "changed" {
		t.Fatal("DemoTenants returns shared state")
	}
	// Each demo tenant can log in with its credentials.
	s := NewTestServer(t, Options{Tenants: DemoTenants()})
	b := &testBundle{srv: s, client: s.Client()}
	for _, tn := range DemoTenants() {
		b.a = tn
		r := b.post(t, pathLogin, "", map[string]any{"tenancyName": tn.Name, "userNameOrEmailAddress": tn.Username, "password": tn.Password})
		wantSuccess(t, r)
	}
}

func TestSampleImage(t *testing.T) {
	t.Parallel()
	seen := map[string]int{}
	for n := range 300 {
		img := SampleImage(n)
		if prev, dup := seen[img]; dup {
			t.Fatalf("SampleImage(%d) == SampleImage(%d)", n, prev)
		}
		seen[img] = n
		if _, r := checkImage("image", img, FrameMaxBytes); r != nil {
			t.Fatalf("SampleImage(%d) rejected: %s", n, r.body())
		}
	}
	if SampleImage(5) != SampleImage(5) {
		t.Fatal("SampleImage is not deterministic")
	}
	raw, _ := base64.StdEncoding.DecodeString(SampleImage(0))
	if !isJPEG(raw) {
		t.Fatal("not a JPEG")
	}
}
