package tasks

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLookupMatchesDesign(t *testing.T) {
	t.Parallel()
	// The table of DESIGN.md "Task types" and api.md "Endpoints used by the
	// task types".
	tests := []struct {
		typ, method, path string
		user, idempotent  bool
	}{
		{TypeVerifyIDFront, "POST", "/api/DigitalIdentity/verify/id/front", true, true},
		{TypeVerifyIDBack, "POST", "/api/DigitalIdentity/verify/id/back", true, true},
		{TypeVerifyLiveness, "POST", "/api/DigitalIdentity/verify/liveness/multi", true, true},
		{TypeVerifyIdentity, "", "", true, true},
		{TypeOCRIDFront, "POST", "/v1/ocr/id/front", false, true},
		{TypeOCRIDBack, "POST", "/v1/ocr/id/back", false, true},
		{TypeOCRFaceMatch, "POST", "/v1/ocr/face/match", false, true},
		{TypeOCRAML, "POST", "/v1/ocr/aml/validate", false, true},
		{TypeBusinessCreate, "POST", "/api/BusinessRequest/Create/{type_id}", true, false},
		{TypeBusinessRequestOTP, "POST", "/api/BusinessRequest/CustomerSign/StepRequestOtp", true, false},
		{TypeBusinessRevalidateLiveness, "POST", "/api/BusinessRequest/CustomerSign/StepReValidateLiveness", true, true},
		{TypeBusinessValidateOTP, "POST", "/api/BusinessRequest/CustomerSign/StepValidateOtp", true, true},
		{TypeBusinessStatus, "GET", "/api/BusinessRequest/GetBusinessRequestById/{requestId}", true, true},
	}
	var names []string
	for _, tt := range tests {
		names = append(names, tt.typ)
		t.Run(tt.typ, func(t *testing.T) {
			s, ok := Lookup(tt.typ)
			if !ok {
				t.Fatalf("Lookup(%q) not found", tt.typ)
			}
			got := []any{s.Type, s.Method, s.Path, s.UserToken, s.Idempotent}
			want := []any{tt.typ, tt.method, tt.path, tt.user, tt.idempotent}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("spec (-want +got):\n%s", d)
			}
		})
	}
	if d := cmp.Diff(names, Types()); d != "" {
		t.Errorf("Types() (-want +got):\n%s", d)
	}
}

func TestLookupUnknown(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{"", "verify", "verify:id_front ", "VERIFY:ID_FRONT", "ocr:id"} {
		if _, ok := Lookup(typ); ok {
			t.Errorf("Lookup(%q) found a spec", typ)
		}
	}
}

func TestLookupReturnsCopy(t *testing.T) {
	t.Parallel()
	s, _ := Lookup(TypeVerifyLiveness)
	s.Required[0] = "changed"
	s.Fields[0] = "changed"
	again, _ := Lookup(TypeVerifyLiveness)
	if again.Required[0] != "face_1" || again.Fields[0] != "face_1" {
		t.Fatalf("Lookup shares its table: %v %v", again.Required, again.Fields)
	}
	ts := Types()
	ts[0] = "changed"
	if Types()[0] != TypeVerifyIDFront {
		t.Fatal("Types shares its slice")
	}
}

// Every name a spec uses must be a Payload member (or a scanTransaction
// image), so the validator and RequestBody can find it.
func TestSpecNamesArePayloadMembers(t *testing.T) {
	t.Parallel()
	members := payloadMembers()
	known := func(name string) bool {
		if sub, ok := strings.CutPrefix(name, "scanTransaction."); ok {
			return slices.Contains([]string{"image", "face_1", "face_2", "face_3"}, sub)
		}
		return slices.Contains(members, name)
	}
	for _, typ := range Types() {
		s, _ := Lookup(typ)
		for _, list := range [][]string{s.Fields, s.Required, s.Images, s.Params()} {
			for _, name := range list {
				if !known(name) {
					t.Errorf("%s: %q is not a Payload member", typ, name)
				}
			}
		}
		for _, name := range s.Required {
			top, _, _ := strings.Cut(name, ".")
			if !slices.Contains(s.Params(), top) {
				t.Errorf("%s: required %q is not a parameter of the type", typ, name)
			}
		}
		for _, name := range s.Images {
			top, _, _ := strings.Cut(name, ".")
			if !slices.Contains(s.Fields, top) && !slices.Contains(s.Extra, top) {
				t.Errorf("%s: image %q is neither sent in the body nor used by the worker", typ, name)
			}
		}
		if s.Method == "GET" && len(s.Fields) > 0 {
			t.Errorf("%s: GET call with body fields %v", typ, s.Fields)
		}
	}
}

func TestSpecParams(t *testing.T) {
	t.Parallel()
	s, _ := Lookup(TypeBusinessCreate)
	want := []string{"tenant", "user", "callback_url", "type_id", "geoLocation", "userDeviceUtcTime", "requestFieldsValues"}
	if d := cmp.Diff(want, s.Params()); d != "" {
		t.Errorf("Params (-want +got):\n%s", d)
	}
}
