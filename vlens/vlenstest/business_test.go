package vlenstest

import (
	"errors"
	"math"
	"net/url"
	"regexp"
	"testing"
	"time"
)

var (
	cairo      = map[string]any{"latitude": 30.0444, "longitude": 31.2357}
	giza       = map[string]any{"latitude": 30.0131, "longitude": 31.2089} // ~4 km from Cairo
	alexandria = map[string]any{"latitude": 31.2001, "longitude": 29.9187} // ~180 km from Cairo
)

const deviceTime = "2025-03-01T09:00:00Z"

func createBody(values map[string]any) map[string]any {
	return map[string]any{"geoLocation": cairo, "userDeviceUtcTime": deviceTime, "requestFieldsValues": values}
}

// createRequest creates an approved account-opening request and returns its id.
func (b *testBundle) createRequest(t *testing.T, token string) string {
	t.Helper()
	r := b.post(t, pathCreate+"1", token, createBody(map[string]any{"accountType": "savings"}))
	wantSuccess(t, r)
	v, _ := r.get("data.id")
	id, ok := v.(string)
	if !ok || !uuidPattern.MatchString(id) {
		t.Fatalf("data.id = %#v, want a UUID string (as Vlens issues)", v)
	}
	return id
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestBusinessSigningFlow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token := b.userToken("sign-user")

	el := b.get(t, pathEligibility, token)
	wantSuccess(t, el)
	for _, k := range []string{"data.isEligible", "data.isDigitalIdentityVerified", "data.isEmailConfirmed"} {
		if v, _ := el.get(k); v != true {
			t.Fatalf("%s = %v", k, v)
		}
	}
	if el.code(t) != 0 {
		t.Fatalf("CheckEligibility success code %v, want 0", el.code(t))
	}

	cr := b.post(t, pathCreate+"1", token, createBody(map[string]any{"accountType": "savings"}))
	wantSuccess(t, cr)
	if cr.code(t) != nil {
		t.Fatalf("Create success code %v, want null", cr.code(t))
	}
	if v, _ := cr.get("data.requeststatus"); v != float64(StatusPendingApproval) {
		t.Fatalf("created requeststatus = %v, want 1", v)
	}
	if cr.str(t, "data.requestStatusName") != "Pending Approval" || cr.str(t, "data.requestNumber") == "" {
		t.Fatalf("create data %s", cr.short())
	}
	id := cr.str(t, "data.id")
	if !uuidPattern.MatchString(id) {
		t.Fatalf("data.id = %q, want a UUID", id)
	}

	st := b.get(t, pathGetBusinessReq+id, token)
	wantSuccess(t, st)
	if v, _ := st.get("data.requeststatus"); v != float64(StatusApproved) {
		t.Fatalf("requeststatus = %v, want 2 (approved at once)", v)
	}

	otp := b.post(t, pathRequestOTP, token, map[string]any{"geoLocation": giza, "userDeviceUtcTime": deviceTime, "requestId": id})
	wantSuccess(t, otp)
	otpID := otp.str(t, "data.otpRequestId")
	if got := b.srv.OTPsSent(id); got != 1 {
		t.Fatalf("OTPsSent = %d, want 1", got)
	}

	validate := func(code string) reply {
		return b.post(t, pathValidateOTP, token, map[string]any{
			"geoLocation": giza, "userDeviceUtcTime": deviceTime, "otpRequestId": otpID, "otpCode": code, "requestId": id,
		})
	}
	wantFailure(t, validate("000000"), 200, nil, "Invalid OTP")
	ok := validate(OTPCodeDefault)
	wantSuccess(t, ok)
	if v, _ := ok.get("data.requeststatus"); v != float64(StatusCustomerSigned) {
		t.Fatalf("requeststatus after signing = %v", v)
	}
	if name := b.get(t, pathGetBusinessReq+id, token).str(t, "data.requestStatusName"); name != "Customer Signed" {
		t.Fatalf("requestStatusName = %q", name)
	}
	// The OTP is used up and the request is signed.
	wantFailure(t, validate(OTPCodeDefault), 200, nil, "OTP expired or request not found")
	wantFailure(t, b.post(t, pathRequestOTP, token, map[string]any{"geoLocation": giza, "userDeviceUtcTime": deviceTime, "requestId": id}),
		200, nil, "Wrong request status")
}

func TestRequestOTPIsNotIdempotent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token := b.userToken("otp-count-user")
	id := b.createRequest(t, token)
	body := map[string]any{"geoLocation": cairo, "userDeviceUtcTime": deviceTime, "requestId": id}
	first := b.post(t, pathRequestOTP, token, body)
	second := b.post(t, pathRequestOTP, token, body)
	if first.str(t, "data.otpRequestId") == second.str(t, "data.otpRequestId") {
		t.Fatal("two OTP requests share an otpRequestId")
	}
	if got := b.srv.OTPsSent(id); got != 2 {
		t.Fatalf("OTPsSent = %d, want 2: a retry sends another SMS", got)
	}

	t.Run("a truncated answer still sent the SMS", func(t *testing.T) {
		sc := "sandbox:truncated,ok#otp-trunc"
		body := map[string]any{"geoLocation": cairo, "userDeviceUtcTime": deviceTime, "requestId": sc}
		wantStatus(t, b.post(t, pathRequestOTP, token, body), 200)
		wantSuccess(t, b.post(t, pathRequestOTP, token, body))
		if got := b.srv.OTPsSent(sc); got != 2 {
			t.Fatalf("OTPsSent(%q) = %d, want 2", sc, got)
		}
	})
	t.Run("a 5xx before processing sent none", func(t *testing.T) {
		sc := "sandbox:http500,ok#otp-500"
		body := map[string]any{"geoLocation": cairo, "userDeviceUtcTime": deviceTime, "requestId": sc}
		wantStatus(t, b.post(t, pathRequestOTP, token, body), 500)
		wantSuccess(t, b.post(t, pathRequestOTP, token, body))
		if got := b.srv.OTPsSent(sc); got != 1 {
			t.Fatalf("OTPsSent(%q) = %d, want 1", sc, got)
		}
	})
}

func TestOTPExpiry(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.OTPTTL = time.Minute; o.OTPCode = "424242" })
	token := b.userToken("otp-exp-user")
	id := b.createRequest(t, token)
	otpID := b.post(t, pathRequestOTP, token, map[string]any{"geoLocation": cairo, "userDeviceUtcTime": deviceTime, "requestId": id}).
		str(t, "data.otpRequestId")
	b.clock.Advance(time.Minute)
	r := b.post(t, pathValidateOTP, token, map[string]any{
		"geoLocation": cairo, "userDeviceUtcTime": deviceTime, "otpRequestId": otpID, "otpCode": "424242", "requestId": id,
	})
	wantFailure(t, r, 200, nil, "OTP expired or request not found")
}

func TestLocationChangeNeedsLiveness(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token := b.userToken("move-user")
	id := b.createRequest(t, token) // active location: Cairo
	far := map[string]any{"geoLocation": alexandria, "userDeviceUtcTime": deviceTime, "requestId": id}
	wantFailure(t, b.post(t, pathRequestOTP, token, far), 200, nil, "Location changed")

	scan := map[string]any{"image": SampleImage(1), "face_1": SampleImage(21), "face_2": SampleImage(22), "face_3": SampleImage(23)}
	reval := b.post(t, pathRevalidate, token, map[string]any{"geoLocation": alexandria, "userDeviceUtcTime": deviceTime, "scanTransaction": scan})
	wantSuccess(t, reval)
	wantSuccess(t, b.post(t, pathRequestOTP, token, far))

	t.Run("revalidation checks the scan", func(t *testing.T) {
		bad := map[string]any{"image": SampleImage(1), "face_1": SampleImage(21), "face_2": SampleImage(21), "face_3": SampleImage(23)}
		wantFailure(t, b.post(t, pathRevalidate, token, map[string]any{"geoLocation": cairo, "userDeviceUtcTime": deviceTime, "scanTransaction": bad}),
			200, nil, "Identical face images")
		r := b.post(t, pathRevalidate, token, map[string]any{"geoLocation": cairo, "userDeviceUtcTime": deviceTime, "scanTransaction": map[string]any{"image": SampleImage(1)}})
		wantFailure(t, r, 400, 400, "Validation failed")
		if d := r.descriptions(); len(d) != 3 || d[0] != "scanTransaction.face_1: scanTransaction.face_1 is required" {
			t.Fatalf("descriptions %v", d)
		}
	})
}

func TestCreateValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token := b.userToken("create-user")
	tests := []struct {
		desc, path string
		body       map[string]any
		status     int
		code       any
		msg        string
	}{
		{"unknown type", pathCreate + "99", createBody(map[string]any{}), 200, nil, "Business request type not found"},
		{"type is not a number", pathCreate + "abc", createBody(map[string]any{}), 400, 400, "Validation failed"},
		{"required form field missing", pathCreate + "2", createBody(map[string]any{"amount": 5000}), 200, nil, "Required form field missing: tenorMonths"},
		{"no geoLocation", pathCreate + "1", map[string]any{"userDeviceUtcTime": deviceTime, "requestFieldsValues": map[string]any{}}, 400, 400, "Validation failed"},
		{"bad latitude", pathCreate + "1", map[string]any{"geoLocation": map[string]any{"latitude": 123, "longitude": 1}, "userDeviceUtcTime": deviceTime, "requestFieldsValues": map[string]any{}}, 400, 400, "Validation failed"},
		{"bad device time", pathCreate + "1", map[string]any{"geoLocation": cairo, "userDeviceUtcTime": "yesterday", "requestFieldsValues": map[string]any{}}, 400, 400, "Validation failed"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			wantFailure(t, b.post(t, tc.path, token, tc.body), tc.status, tc.code, tc.msg)
		})
	}
	t.Run("an unverified user is not eligible", func(t *testing.T) {
		if err := b.srv.SetUserVerified(b.a.Name, "create-user", false); err != nil {
			t.Fatal(err)
		}
		wantFailure(t, b.post(t, pathCreate+"1", token, createBody(map[string]any{"accountType": "x"})), 200, nil, "User not eligible")
	})
}

func TestManualApproval(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.ManualApproval = true })
	token := b.userToken("manual-user")
	id := b.createRequest(t, token)
	if v, _ := b.get(t, pathGetBusinessReq+id, token).get("data.requeststatus"); v != float64(StatusPendingApproval) {
		t.Fatalf("requeststatus = %v, want pending", v)
	}
	body := map[string]any{"geoLocation": cairo, "userDeviceUtcTime": deviceTime, "requestId": id}
	wantFailure(t, b.post(t, pathRequestOTP, token, body), 200, nil, "Wrong request status")
	if err := b.srv.SetBusinessRequestStatus(id, StatusApproved); err != nil {
		t.Fatal(err)
	}
	wantSuccess(t, b.post(t, pathRequestOTP, token, body))
	if err := b.srv.SetBusinessRequestStatus("424242", StatusApproved); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown id: %v, want ErrNotFound", err)
	}
}

func TestBusinessRequestsBelongToTheirUser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	owner := b.userToken("owner-user")
	other := b.userToken("nosy-user")
	id := b.createRequest(t, owner)
	wantFailure(t, b.get(t, pathGetBusinessReq+id, other), 200, nil, "Business request not found")
	wantFailure(t, b.get(t, pathGetBusinessReq+"777777", owner), 200, nil, "Business request not found")
	r := b.post(t, pathRequestOTP, owner, map[string]any{"geoLocation": cairo, "userDeviceUtcTime": deviceTime, "requestId": 1.5})
	wantFailure(t, r, 400, 400, "Validation failed")
	if d := r.descriptions(); len(d) != 1 || d[0] != "requestId: requestId must be an id" {
		t.Fatalf("descriptions %v", d)
	}
	// A geoLocation given as strings is read like ASP.NET would.
	wantSuccess(t, b.post(t, pathRequestOTP, owner, map[string]any{
		"geoLocation": map[string]any{"latitude": "30.05", "longitude": "31.24"}, "userDeviceUtcTime": deviceTime, "requestId": id,
	}))
}

func TestTemplateFields(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token := b.userToken("tmpl-user")
	r := b.get(t, pathTemplate+"?requestTypeId=2", token)
	wantSuccess(t, r)
	list, _ := r.env["data"].([]any)
	if len(list) != 2 || list[0].(map[string]any)["key"] != "amount" || list[0].(map[string]any)["isRequired"] != true {
		t.Fatalf("fields %v", r.env["data"])
	}
	if v, _ := r.get("totalCount"); v != float64(2) {
		t.Fatalf("totalCount = %v", v)
	}
	wantFailure(t, b.get(t, pathTemplate+"?requestTypeId=x", token), 400, 400, "Validation failed")
	wantFailure(t, b.get(t, pathTemplate+"?requestTypeId="+url.QueryEscape("42"), token), 200, nil, "type not found")
}

func TestDistanceKm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b geoPoint
		km   float64
	}{
		{geoPoint{30.0444, 31.2357}, geoPoint{31.2001, 29.9187}, 179},
		{geoPoint{30.0444, 31.2357}, geoPoint{30.0444, 31.2357}, 0},
		{geoPoint{0, 0}, geoPoint{0, 180}, math.Pi * 6371},
	}
	for _, tc := range tests {
		if got := distanceKm(tc.a, tc.b); math.Abs(got-tc.km) > 2 {
			t.Errorf("distanceKm(%v, %v) = %.1f, want %.1f", tc.a, tc.b, got, tc.km)
		}
	}
}

// The record of a call names the ids its body sent, in their JSON type, and
// GetBusinessRequestById finds a request by its UUID in the path.
func TestRecordedBusinessIDs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token := b.userToken("ids-user")
	id := b.createRequest(t, token)
	otpID := b.post(t, pathRequestOTP, token, map[string]any{"geoLocation": cairo, "userDeviceUtcTime": deviceTime, "requestId": id}).
		str(t, "data.otpRequestId")
	wantSuccess(t, b.post(t, pathValidateOTP, token, map[string]any{
		"geoLocation": cairo, "userDeviceUtcTime": deviceTime, "otpRequestId": otpID, "otpCode": OTPCodeDefault, "requestId": id,
	}))
	st := b.get(t, pathGetBusinessReq+id, token)
	wantSuccess(t, st)
	if got := st.str(t, "data.id"); got != id {
		t.Fatalf("GetBusinessRequestById data.id = %q, want %q", got, id)
	}
	// A number is recorded bare: the fake does not know it, like Vlens.
	wantFailure(t, b.post(t, pathRequestOTP, token, map[string]any{"geoLocation": cairo, "userDeviceUtcTime": deviceTime, "requestId": 77}),
		200, nil, "Business request not found")

	recs := b.srv.Requests()
	want := []BodyIDs{{}, {RequestID: `"` + id + `"`}, {RequestID: `"` + id + `"`, OTPRequestID: `"` + otpID + `"`}, {}, {RequestID: `77`}}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d", len(recs), len(want))
	}
	for i, r := range recs {
		if r.IDs != want[i] {
			t.Errorf("record %d (%s %s) ids = %+v, want %+v", i, r.Method, r.Path, r.IDs, want[i])
		}
	}
	if got := recs[3].Path; got != pathGetBusinessReq+id {
		t.Errorf("status path = %q", got)
	}
}
