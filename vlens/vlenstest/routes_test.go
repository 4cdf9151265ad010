package vlenstest

import (
	"strings"
	"testing"
)

func TestRouting(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token := b.userToken("route-user")

	t.Run("unknown path is a 404 envelope", func(t *testing.T) {
		wantFailure(t, b.post(t, "/api/DigitalIdentity/verify/passport", token, frontBody(nil)), 404, nil, "No endpoint")
	})
	t.Run("wrong method is a 405 envelope with Allow", func(t *testing.T) {
		r := b.get(t, pathFront, token)
		wantFailure(t, r, 405, nil, "not allowed")
		if got := r.header.Get("Allow"); got != "POST" {
			t.Fatalf("Allow = %q", got)
		}
	})
	t.Run("paths are case-insensitive", func(t *testing.T) {
		wantSuccess(t, b.post(t, strings.ToLower(pathFront), token, frontBody(nil)))
		wantSuccess(t, b.get(t, strings.ToUpper(pathEligibility), token))
	})
	t.Run("a trailing slash is tolerated", func(t *testing.T) {
		wantSuccess(t, b.get(t, pathEligibility+"/", token))
	})
	t.Run("a parameter route needs its parameter", func(t *testing.T) {
		wantStatus(t, b.get(t, pathGetBusinessReq, token), 404)
		wantStatus(t, b.get(t, pathGetBusinessReq+"1/2", token), 404)
	})
}

func TestRoute(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method, path string
		wantPath     string
		param        string
		status       int
	}{
		{"POST", "/api/BusinessRequest/Create/7", "/api/businessrequest/create", "7", 0},
		{"GET", "/api/BusinessRequest/GetBusinessRequestById/sandbox:Ok#K", "/api/businessrequest/getbusinessrequestbyid", "sandbox:Ok#K", 0},
		{"POST", "/V1/OCR/ID/FRONT/", "/v1/ocr/id/front", "", 0},
		{"PUT", "/v1/ocr/id/front", "", "", 405},
		{"GET", "/", "", "", 404},
	}
	for _, tc := range tests {
		ep, param, resp := route(tc.method, tc.path)
		switch {
		case tc.status != 0:
			if resp == nil || resp.status != tc.status {
				t.Errorf("%s %s: want %d", tc.method, tc.path, tc.status)
			}
		case resp != nil:
			t.Errorf("%s %s: %d", tc.method, tc.path, resp.status)
		case ep.path != tc.wantPath || param != tc.param:
			t.Errorf("%s %s: endpoint %s param %q, want %s %q", tc.method, tc.path, ep.path, param, tc.wantPath, tc.param)
		}
	}
}
