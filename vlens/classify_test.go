package vlens

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Resolution texts copied from the Vlens errors page (shared/vlens/errors-page.md),
// kept here independently of the table so that a changed text fails a test.
const (
	pageAPIKey          = "Verify the `ApiKey` is present and active in the dashboard"
	pageAuthorization   = "Add `Authorization: Bearer <token>`"
	pageRefresh         = "Refresh via `/api/credentials/RefreshToken`"
	pageRelogin         = "Re-authenticate via `/api/credentials/Login`"
	pagePermission      = "Use an admin token; check role assignments in the portal"
	pageTenant          = "Use credentials for the correct tenant"
	pageAlreadyExists   = "Call `/api/DigitalIdentity/CheckExistenceOfEmailOrPhone` first"
	pageInvalidOTP      = "Request a new OTP after the user re-enters"
	pageOTPExpired      = "Restart the OTP flow from `StepVerifyPhone`"
	pageImageQuality    = "Re-capture with better lighting and the ID filling most of the frame"
	pageFake            = "Re-capture the **physical** ID — photocopies and screen captures fail spoofing"
	pageLiveness        = "Re-capture three distinct frames within 0.5s — see [Digital Identity](https://docs.vlenseg.com/digital-identity)"
	pageIdentical       = "Capture three distinct, sequential frames"
	pageNoTransaction   = "Restart from `verify/id/front` to obtain a new transaction"
	pageNational        = "The ID could not be verified against national records — escalate via support"
	pageNotEligible     = "Inspect `CheckEligibility` and fix the specific failure (KYC, email, pending request)"
	pageRequestStatus   = "Confirm `requeststatus` via `GetBusinessRequestById` matches what the endpoint expects"
	pageLocationChanged = "Call `StepReValidateLiveness` before retrying `StepRequestOtp`"
	pageSigningOTP      = "Request a new OTP via `StepRequestOtp`"
	pageFormField       = "Inspect the field list from `GetBusinessRequestTypeTemplateFields`"
)

func decode(t *testing.T, body string) (*Envelope, error) {
	t.Helper()
	return DecodeEnvelope([]byte(body))
}

func classify(t *testing.T, status int, body string) Verdict {
	t.Helper()
	env, err := decode(t, body)
	return DefaultTable().Classify(status, env, err)
}

func TestClassifyEveryCode(t *testing.T) {
	t.Parallel()
	type group struct {
		codes []int
		class Class
		cat   Category
		res   string
	}
	groups := []group{
		{[]int{3001, 3002, 3003, 3004, 3005, 3006, 3007, 3008, 3009, 3011, 3013, 3014, 5006},
			ClassPermanent, CategoryIdentityVerification, pageImageQuality},
		{[]int{4206, 4207, 4208, 4209, 4210}, ClassPermanent, CategoryIdentityVerification, pageLiveness},
		{[]int{3010}, ClassPermanent, CategoryIdentityVerification, resDocExpired},
		{[]int{3101}, ClassPermanent, CategoryIdentityVerification, resIDMismatch},
		{[]int{3102}, ClassPermanent, CategoryIdentityVerification, resNameMismatch},
		{[]int{4001, 4002, 4004, 4005, 4006, 4007}, ClassPermanent, CategoryAccount, resAccount},
		{[]int{4003}, ClassThrottled, CategoryAccount, resTooManyTrials},
		{[]int{5000, 5008, 7000, 7001, 7002, 7003, 7004, 7005, 7006, 7008}, ClassTransient, CategoryServer, resRetry},
		{[]int{5001}, ClassPermanent, CategoryValidation, resUnsupportedDoc},
		{[]int{5002}, ClassPermanent, CategoryValidation, resImageTooLarge},
		{[]int{5003}, ClassPermanent, CategoryValidation, resTooManyPixels},
		{[]int{5007}, ClassPermanent, CategoryValidation, resEndpointSide},
		{[]int{5004}, ClassPermanent, CategoryIdentityVerification, pageNoTransaction},
		{[]int{5005}, ClassPermanent, CategoryIdentityVerification, pageFake},
	}
	var all []int
	for _, g := range groups {
		for _, code := range g.codes {
			all = append(all, code)
			// The code decides whatever the HTTP status (200 trap, 422 wrapping, a 500).
			for _, status := range []int{200, 400, 422, 500} {
				body := fmt.Sprintf(`{"data": null, "error_code": %d, "error_message": "whatever Vlens says"}`, code)
				got := classify(t, status, body)
				want := Verdict{Class: g.class, Category: g.cat, Resolution: g.res, Code: code}
				if code == 4003 {
					want.RetryAfter = 60 * time.Second
				}
				// The account's bundle codes pause the tenant (circuit breaker).
				want.Breaker = g.cat == CategoryAccount && g.class == ClassPermanent
				if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Verdict{}, "Reason")); diff != "" {
					t.Errorf("code %d on http %d (-want +got):\n%s", code, status, diff)
				}
				if prefix := fmt.Sprintf("error_code %d: ", code); !strings.HasPrefix(got.Reason, prefix) {
					t.Errorf("code %d: Reason %q, want it to start with %q and say what the code means", code, got.Reason, prefix)
				}
			}
		}
	}
	slices.Sort(all)
	if diff := cmp.Diff(all, slices.Sorted(maps.Keys(DefaultTable().Codes))); diff != "" {
		t.Errorf("default table codes differ from the Vlens code table (-api.md +table):\n%s", diff)
	}
}

func TestClassifyHTTPStatus(t *testing.T) {
	t.Parallel()
	const noCode = `{"data": null, "error_code": null, "error_message": null, "error_descriptions": null}`
	tests := []struct {
		status int
		class  Class
		cat    Category
		res    string
		// class and category when the body is empty / HTML instead.
		bareClass Class
		bareCat   Category
	}{
		{400, ClassPermanent, CategoryValidation, resBadRequest, ClassPermanent, CategoryValidation},
		{401, ClassAuthExpired, CategoryAuthentication, pageRefresh, ClassAuthExpired, CategoryAuthentication},
		{403, ClassPermanent, CategoryAuthentication, pageAPIKey + "; " + pagePermission, ClassPermanent, CategoryAuthentication},
		{404, ClassPermanent, CategoryValidation, resWrongEndpoint, ClassPermanent, CategoryValidation},
		{408, ClassTransient, CategoryServer, resRetry, ClassTransient, CategoryServer},
		{415, ClassPermanent, CategoryValidation, resMediaType, ClassPermanent, CategoryValidation},
		{422, ClassPermanent, CategoryValidation, resBadRequest, ClassPermanent, CategoryValidation},
		{429, ClassThrottled, CategoryServer, resRateLimited, ClassThrottled, CategoryServer},
		{500, ClassTransient, CategoryServer, resRetry, ClassTransient, CategoryServer},
		{502, ClassTransient, CategoryServer, resRetry, ClassTransient, CategoryServer},
		{503, ClassTransient, CategoryServer, resRetry, ClassTransient, CategoryServer},
		{504, ClassTransient, CategoryServer, resRetry, ClassTransient, CategoryServer},
		// Not in the table.
		{501, ClassTransient, CategoryServer, resRetry, ClassTransient, CategoryServer},
		{599, ClassTransient, CategoryServer, resRetry, ClassTransient, CategoryServer},
		{409, ClassPermanent, CategoryUnknown, resUnknownStatus, ClassTransient, CategoryServer},
		{418, ClassPermanent, CategoryUnknown, resUnknownStatus, ClassTransient, CategoryServer},
		{302, ClassPermanent, CategoryUnknown, resUnknownStatus, ClassTransient, CategoryServer},
		{100, ClassPermanent, CategoryUnknown, resUnknownStatus, ClassTransient, CategoryServer},
	}
	var listed []int
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			got := classify(t, tc.status, noCode)
			want := Verdict{Class: tc.class, Category: tc.cat, Resolution: tc.res}
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Verdict{}, "Reason")); diff != "" {
				t.Errorf("envelope without code (-want +got):\n%s", diff)
			}
			if !strings.HasPrefix(got.Reason, fmt.Sprintf("http %d", tc.status)) {
				t.Errorf("Reason = %q, want it to name the status", got.Reason)
			}
			for _, body := range []string{"", "<html><body>Bad Gateway</body></html>", `{"data": {"x": `} {
				got := classify(t, tc.status, body)
				if got.Class != tc.bareClass || got.Category != tc.bareCat || got.Code != 0 {
					t.Errorf("body %q: got %s/%s code %d, want %s/%s", body, got.Class, got.Category, got.Code, tc.bareClass, tc.bareCat)
				}
			}
		})
		if _, ok := DefaultTable().HTTPStatuses[tc.status]; ok {
			listed = append(listed, tc.status)
		}
	}
	if diff := cmp.Diff([]int{400, 401, 403, 404, 408, 415, 422, 429, 500, 502, 503, 504}, listed); diff != "" {
		t.Errorf("statuses in the default table (-want +got):\n%s", diff)
	}
}

func TestClassifyTraps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc   string
		status int
		body   string
		want   Verdict
	}{
		{
			desc:   "success: error_code null",
			status: 200,
			body:   `{"data": {"isVerificationProcessCompleted": true}, "error_code": null, "error_message": null, "error_descriptions": null}`,
			want:   Verdict{Class: ClassSuccess},
		},
		{
			desc:   "success: error_code 0",
			status: 200,
			body:   `{"data": {"id": 1}, "error_code": 0, "error_message": ""}`,
			want:   Verdict{Class: ClassSuccess},
		},
		{
			desc:   "success: error_code absent, services all clear",
			status: 201,
			body: `{"data": {}, "services": {"validations": {"validation_errors": []}, "spoofing": {"fake": false},
				"liveness": true, "AML": {"AML_matched": true}, "SRC": {"isValid": true}}}`,
			want: Verdict{Class: ClassSuccess},
		},
		{
			desc:   "HTTP 200 with error_code",
			status: 200,
			body:   `{"data": null, "error_code": 3011, "error_message": "card not detected"}`,
			want: Verdict{Class: ClassPermanent, Category: CategoryIdentityVerification, Resolution: pageImageQuality,
				Code: 3011, Reason: "error_code 3011: card not detected"},
		},
		{
			desc:   "error_code null, 3011 only under services.Validations.validation_errors",
			status: 200,
			body: `{"data": {"isVerificationProcessCompleted": false}, "error_code": null, "error_message": null,
				"services": {"Validations": {"validation_errors": [{"field": "image", "value": null,
				"errors": [{"code": 3011, "message": "card not detected"}]}]}}}`,
			want: Verdict{Class: ClassPermanent, Category: CategoryIdentityVerification, Resolution: pageImageQuality,
				Code: 3011, Reason: "services.validation_errors 3011: card not detected"},
		},
		{
			desc:   "error_code 0 with 3011 under Services (other casing)",
			status: 200,
			body:   `{"data": {}, "error_code": 0, "Services": {"validations": {"Validation_Errors": [{"errors": [{"code": "3011"}]}]}}}`,
			want: Verdict{Class: ClassPermanent, Category: CategoryIdentityVerification, Resolution: pageImageQuality,
				Code: 3011, Reason: "services.validation_errors 3011: card not detected"},
		},
		{
			desc:   "services validation error with a transient inner code",
			status: 200,
			body:   `{"data": {}, "services": {"validations": {"validation_errors": [{"errors": [{"code": 7003}]}]}}}`,
			want: Verdict{Class: ClassTransient, Category: CategoryServer, Resolution: resRetry,
				Code: 7003, Reason: "services.validation_errors 7003: document processing error"},
		},
		{
			desc:   "services validation error with an unknown inner code",
			status: 200,
			body:   `{"data": {}, "services": {"validations": {"validation_errors": [{"errors": [{"code": 3999, "message": "new"}]}]}}}`,
			want: Verdict{Class: ClassPermanent, Category: CategoryIdentityVerification, Resolution: pageImageQuality,
				Code: 3999, Reason: "services.validation_errors 3999 unknown: document checks failed"},
		},
		{
			desc:   "services validation error without a code",
			status: 200,
			body:   `{"data": {}, "services": {"validations": {"validation_errors": ["card not detected"]}}}`,
			want: Verdict{Class: ClassPermanent, Category: CategoryIdentityVerification, Resolution: pageImageQuality,
				Reason: "services.validation_errors: document checks failed"},
		},
		{
			desc:   "spoofing.fake true is 5005's rule",
			status: 200,
			body:   `{"data": {}, "error_code": null, "services": {"spoofing": {"fake": true}}}`,
			want: Verdict{Class: ClassPermanent, Category: CategoryIdentityVerification, Resolution: pageFake,
				Reason: "services.spoofing.fake: fake document"},
		},
		{
			desc:   "liveness false",
			status: 200,
			body:   `{"data": {"isDigitalIdentityVerified": false}, "services": {"liveness": false}}`,
			want: Verdict{Class: ClassPermanent, Category: CategoryIdentityVerification, Resolution: pageLiveness,
				Reason: "services.liveness false: liveness failed"},
		},
		{
			desc:   "liveness null is not a failure",
			status: 200,
			body:   `{"data": {}, "services": {"liveness": null}}`,
			want:   Verdict{Class: ClassSuccess},
		},
		{
			desc:   "SRC.isValid false",
			status: 200,
			body:   `{"data": {}, "Services": {"SRC": {"isValid": false, "errorCode": 17, "errorKey": "CSO", "errorMessage": "not found"}}}`,
			want: Verdict{Class: ClassPermanent, Category: CategoryIdentityVerification, Resolution: pageNational,
				Code: 17, Reason: "services.SRC.isValid false: NTRA/CSO check failed"},
		},
		{
			desc:   "field errors on a 2xx",
			status: 200,
			body:   `{"data": null, "error_code": null, "error_descriptions": [{"field": "image", "message": "image is required"}]}`,
			want: Verdict{Class: ClassPermanent, Category: CategoryValidation, Resolution: resFieldErrors,
				Reason: "error_descriptions: field errors"},
		},
		{
			desc:   "the errors page's validation example: error_code 400 is an HTTP status",
			status: 400,
			body:   `{"data": null, "error_code": 400, "error_message": "Validation failed", "error_descriptions": [{"field": "image", "message": "image is required"}]}`,
			want: Verdict{Class: ClassPermanent, Category: CategoryValidation, Resolution: resBadRequest,
				Code: 400, Reason: "error_code 400 (an HTTP status): bad request"},
		},
		{
			desc:   "placeholder 1 is unknown",
			status: 200,
			body:   `{"data": {"id": 1}, "error_code": 1, "error_message": "string"}`,
			want: Verdict{Class: ClassPermanent, Category: CategoryUnknown, Resolution: resUnknownCode,
				Code: 1, Reason: "error_code 1 unknown"},
		},
		{
			desc:   "errors page example 1050 is unknown, even with a message a pattern knows",
			status: 200,
			body:   `{"data": null, "error_code": 1050, "error_message": "Image quality too low for OCR extraction", "error_descriptions": null}`,
			want: Verdict{Class: ClassPermanent, Category: CategoryUnknown, Resolution: resUnknownCode,
				Code: 1050, Reason: "error_code 1050 unknown"},
		},
		{
			desc:   "placeholder 1001 is unknown",
			status: 200,
			body:   `{"error_code": 1001}`,
			want: Verdict{Class: ClassPermanent, Category: CategoryUnknown, Resolution: resUnknownCode,
				Code: 1001, Reason: "error_code 1001 unknown"},
		},
		{
			desc:   "placeholder 101 on a 500 is retried as a server error, category unknown",
			status: 500,
			body:   `{"error_code": 101}`,
			want: Verdict{Class: ClassTransient, Category: CategoryUnknown, Resolution: resUnknownCodeServerError,
				Code: 101, Reason: "error_code 101 unknown, http 500"},
		},
		{
			desc:   "a non-integer code on a 503 is retried, category unknown",
			status: 503,
			body:   `{"error_code": "E-12"}`,
			want: Verdict{Class: ClassTransient, Category: CategoryUnknown, Resolution: resUnknownCodeServerError,
				Reason: "error_code is not an integer, http 503"},
		},
		{
			desc:   "error_code 500 on a 503 is the server error it says",
			status: 503,
			body:   `{"error_code": 500, "error_message": "Internal error"}`,
			want: Verdict{Class: ClassTransient, Category: CategoryServer, Resolution: resRetry,
				Code: 500, Reason: "error_code 500 (an HTTP status), http 503: server error"},
		},
		{
			desc:   "error_code 400 on a 500 does not make the server error permanent",
			status: 500,
			body:   `{"error_code": 400}`,
			want: Verdict{Class: ClassTransient, Category: CategoryUnknown, Resolution: resUnknownCodeServerError,
				Code: 400, Reason: "error_code 400 unknown, http 500"},
		},
		{
			desc:   "a known permanent code on a 500 is permanent",
			status: 500,
			body:   `{"error_code": 4002}`,
			want: Verdict{Class: ClassPermanent, Category: CategoryAccount, Resolution: resAccount,
				Code: 4002, Reason: "error_code 4002: bundle balance exhausted", Breaker: true},
		},
		{
			desc:   "a non-integer code is unknown",
			status: 200,
			body:   `{"error_code": "E-12"}`,
			want: Verdict{Class: ClassPermanent, Category: CategoryUnknown, Resolution: resUnknownCode,
				Reason: "error_code is not an integer"},
		},
		{
			desc:   "unknown code on 401 is auth_expired",
			status: 401,
			body:   `{"error_code": 9401, "error_message": "Unauthorized"}`,
			want: Verdict{Class: ClassAuthExpired, Category: CategoryAuthentication, Resolution: pageRefresh,
				Code: 9401, Reason: "error_code 9401 unknown, http 401: unauthorized"},
		},
		{
			desc:   "unknown code on 401 with an invalid ApiKey message is permanent",
			status: 401,
			body:   `{"error_code": 9401, "error_message": "Invalid ApiKey"}`,
			want: Verdict{Class: ClassPermanent, Category: CategoryAuthentication, Resolution: pageAPIKey,
				Code: 9401, Reason: "message: apikey invalid", Breaker: true},
		},
		{
			desc:   "a non-integer code on 401 is auth_expired",
			status: 401,
			body:   `{"error_code": "AUTH-1"}`,
			want: Verdict{Class: ClassAuthExpired, Category: CategoryAuthentication, Resolution: pageRefresh,
				Reason: "error_code is not an integer, http 401: unauthorized"},
		},
		{
			desc:   "unknown code on 429 is throttled",
			status: 429,
			body:   `{"error_code": 9429}`,
			want: Verdict{Class: ClassThrottled, Category: CategoryServer, Resolution: resRateLimited,
				Code: 9429, Reason: "error_code 9429 unknown, http 429: too many requests"},
		},
		{
			desc:   "422 wraps a Vlens code: the code wins",
			status: 422,
			body:   `{"error_code": 5000, "error_message": "Something went wrong"}`,
			want: Verdict{Class: ClassTransient, Category: CategoryServer, Resolution: resRetry,
				Code: 5000, Reason: "error_code 5000: something went wrong"},
		},
		{
			desc:   "4003 too many trials: throttled with a long delay",
			status: 200,
			body:   `{"error_code": 4003, "error_message": "Too many trials, try later"}`,
			want: Verdict{Class: ClassThrottled, Category: CategoryAccount, Resolution: resTooManyTrials,
				Code: 4003, Reason: "error_code 4003: too many trials", RetryAfter: time.Minute},
		},
		{
			desc:   "HTML 502 from a gateway",
			status: 502,
			body:   "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body><center><h1>502 Bad Gateway</h1></center></body></html>",
			want: Verdict{Class: ClassTransient, Category: CategoryServer, Resolution: resNotJSON,
				Reason: "http 502, body is not JSON"},
		},
		{
			desc:   "HTML page with 200",
			status: 200,
			body:   "<!DOCTYPE html><html><body>Maintenance</body></html>",
			want: Verdict{Class: ClassTransient, Category: CategoryServer, Resolution: resNotJSON,
				Reason: "http 200, body is not JSON"},
		},
		{
			desc:   "empty body with 200",
			status: 200,
			body:   "",
			want: Verdict{Class: ClassTransient, Category: CategoryServer, Resolution: resNotJSON,
				Reason: "http 200, empty body"},
		},
		{
			desc:   "truncated JSON with 200",
			status: 200,
			body:   `{"data": {"isVerificationProcessCompleted": true, "idFrontData": {"firstN`,
			want: Verdict{Class: ClassTransient, Category: CategoryServer, Resolution: resNotJSON,
				Reason: "http 200, body is truncated JSON"},
		},
		{
			desc:   "JSON array with 200",
			status: 200,
			body:   `[1, 2]`,
			want: Verdict{Class: ClassTransient, Category: CategoryServer, Resolution: resNotJSON,
				Reason: "http 200, body is JSON but not an object"},
		},
		{
			desc:   "empty body with 401",
			status: 401,
			body:   "",
			want: Verdict{Class: ClassAuthExpired, Category: CategoryAuthentication, Resolution: pageRefresh,
				Reason: "http 401, empty body: unauthorized"},
		},
		{
			desc:   "HTML 404",
			status: 404,
			body:   "<html>Not Found</html>",
			want: Verdict{Class: ClassPermanent, Category: CategoryValidation, Resolution: resWrongEndpoint,
				Reason: "http 404, body is not JSON: wrong endpoint"},
		},
		{
			desc:   "both key casings: a null error_code does not hide Error_Code",
			status: 200,
			body:   `{"data": {}, "error_code": null, "Error_Code": 3010}`,
			want: Verdict{Class: ClassPermanent, Category: CategoryIdentityVerification, Resolution: resDocExpired,
				Code: 3010, Reason: "error_code 3010: document expired"},
		},
		{
			desc:   "both key casings of services: the failing one counts",
			status: 200,
			body:   `{"data": {}, "services": {"spoofing": {"fake": false}}, "Services": {"spoofing": {"fake": true}}}`,
			want: Verdict{Class: ClassPermanent, Category: CategoryIdentityVerification, Resolution: pageFake,
				Reason: "services.spoofing.fake: fake document"},
		},
		{
			desc:   "a 2xx with a message a pattern knows and no code",
			status: 200,
			body:   `{"data": null, "error_code": null, "error_message": "Invalid OTP"}`,
			want: Verdict{Class: ClassPermanent, Category: CategoryRegistration, Resolution: pageInvalidOTP,
				Reason: "message: invalid otp"},
		},
		{
			desc:   "a 2xx with an unknown message and no other sign is success",
			status: 200,
			body:   `{"data": {"id": 5}, "error_code": null, "error_message": "Done"}`,
			want:   Verdict{Class: ClassSuccess},
		},
		{
			desc:   "a 5xx with a permanent message stays a retried server error",
			status: 500,
			body:   `{"error_code": null, "error_message": "Transaction not found"}`,
			want: Verdict{Class: ClassTransient, Category: CategoryServer, Resolution: resRetry,
				Reason: "http 500: server error"},
		},
		{
			desc:   "a 502 whose message matches broad rules (could not read, permission, liveness) is retried",
			status: 502,
			body:   `{"error_code": null, "error_message": "Could not read the liveness frames: permission denied on transaction store"}`,
			want: Verdict{Class: ClassTransient, Category: CategoryServer, Resolution: resRetry,
				Reason: "http 502: bad gateway"},
		},
		{
			desc:   "a message rule matched in error_descriptions",
			status: 400,
			body:   `{"error_code": null, "error_message": "Validation failed", "error_descriptions": {"otpCode": "OTP has expired"}}`,
			want: Verdict{Class: ClassPermanent, Category: CategoryRegistration, Resolution: pageOTPExpired,
				Reason: "error_descriptions: otp expired"},
		},
		{
			desc:   "status 0 (an envelope from a webhook) is read like a 2xx",
			status: 0,
			body:   `{"data": {"Id": 1}}`,
			want:   Verdict{Class: ClassSuccess},
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got := classify(t, tc.status, tc.body)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Classify(%d, %q) (-want +got):\n%s", tc.status, tc.body, diff)
			}
		})
	}
}

// TestClassifyErrorsPageRows sends, for every cause row of the errors page's
// Authentication, Registration, Identity verification and Business request
// tables, messages Vlens could word that cause with, and expects the row's
// resolution.
func TestClassifyErrorsPageRows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cause    string
		status   int
		messages []string
		class    Class
		cat      Category
		res      string
	}{
		// Authentication.
		{"ApiKey header missing or invalid", 401,
			[]string{"Invalid ApiKey", "ApiKey header is missing", "The API key is not active", "api_key required"},
			ClassPermanent, CategoryAuthentication, pageAPIKey},
		{"Authorization header missing on a protected endpoint", 401,
			[]string{"Authorization header is missing", "Missing Authorization header", "Bearer token is required"},
			ClassPermanent, CategoryAuthentication, pageAuthorization},
		{"Access token expired", 401,
			[]string{"Access token expired", "The token is expired", "IDX10223: Lifetime validation failed. The token is expired.", "JWT has expired"},
			ClassAuthExpired, CategoryAuthentication, pageRefresh},
		{"Access token expired, on a 200", 200,
			[]string{"Your access token has expired"},
			ClassAuthExpired, CategoryAuthentication, pageRefresh},
		{"Refresh token expired or revoked", 401,
			[]string{"Refresh token expired", "Refresh token has been revoked", "Invalid refresh token", "refreshToken is expired"},
			ClassPermanent, CategoryAuthentication, pageRelogin},
		{"Token does not have permission for this endpoint", 403,
			[]string{"You do not have permission to access this endpoint", "Required permissions are not granted", "Access denied", "Forbidden"},
			ClassPermanent, CategoryAuthentication, pagePermission},
		{"Token belongs to a different tenant", 401,
			[]string{"Token belongs to a different tenant", "Tenant mismatch", "The user does not belong to this tenant", "wrong tenancy"},
			ClassPermanent, CategoryAuthentication, pageTenant},
		// Registration.
		{"Phone or email already registered", 400,
			[]string{"Phone number already registered", "Email is already taken", "Email address already exists", "This mobile is already in use"},
			ClassPermanent, CategoryRegistration, pageAlreadyExists},
		{"Invalid OTP", 400,
			[]string{"Invalid OTP", "The OTP code is incorrect", "Wrong otp", "OTP does not match"},
			ClassPermanent, CategoryRegistration, pageInvalidOTP},
		{"OTP expired or request not found", 400,
			[]string{"OTP expired", "The OTP has expired, please request a new one", "Request not found", "OTP request not found"},
			ClassPermanent, CategoryRegistration, pageOTPExpired},
		// Identity verification.
		{"Image quality too low (blurry, dark, distant)", 200,
			[]string{"Image quality too low", "Image is blurry", "The image is too dark", "Card not detected", "Document is too distant"},
			ClassPermanent, CategoryIdentityVerification, pageImageQuality},
		{"Document detected as fake", 200,
			[]string{"Document detected as fake", "Spoofing detected", "Photocopy detected", "Screen capture detected", "ID is not genuine"},
			ClassPermanent, CategoryIdentityVerification, pageFake},
		{"Liveness failed", 200,
			[]string{"Liveness failed", "Liveness check failed", "Liveness not passed", "Not a live person"},
			ClassPermanent, CategoryIdentityVerification, pageLiveness},
		{"Identical face images", 200,
			[]string{"Identical face images", "The frames are the same", "Same images were sent", "Duplicate frames"},
			ClassPermanent, CategoryIdentityVerification, pageIdentical},
		{"Transaction not found", 400,
			[]string{"Transaction not found", "Invalid transaction id", "transaction_id does not exist"},
			ClassPermanent, CategoryIdentityVerification, pageNoTransaction},
		{"NTRA or CSO authority check failed", 200,
			[]string{"NTRA check failed", "CSO validation failed", "Could not verify against national records"},
			ClassPermanent, CategoryIdentityVerification, pageNational},
		// Business request.
		{"User not eligible", 400,
			[]string{"User is not eligible", "User has a pending request", "Email is not confirmed", "User is not digitally verified"},
			ClassPermanent, CategoryBusinessRequest, pageNotEligible},
		{"Wrong request status for this operation", 400,
			[]string{"Invalid request status", "Request status is not approved", "The request cannot be signed in its current status", "Request is already signed"},
			ClassPermanent, CategoryBusinessRequest, pageRequestStatus},
		{"Location changed — liveness required", 400,
			[]string{"Location changed, liveness required", "Liveness re-validation required", "Please revalidate liveness", "Device moved more than 80 km"},
			ClassPermanent, CategoryBusinessRequest, pageLocationChanged},
		{"Required form field missing", 400,
			[]string{"Required form field missing: salary", "Required fields are missing", "Missing required form fields", "requestFieldsValues is invalid"},
			ClassPermanent, CategoryBusinessRequest, pageFormField},
	}
	for _, tc := range tests {
		for _, msg := range tc.messages {
			t.Run(tc.cause+"/"+msg, func(t *testing.T) {
				for _, body := range []string{
					fmt.Sprintf(`{"data": null, "error_code": null, "error_message": %q}`, msg),
					fmt.Sprintf(`{"data": null, "error_code": 0, "error_message": "Error", "error_descriptions": [%q]}`, msg),
				} {
					got := classify(t, tc.status, body)
					if got.Class != tc.class || got.Category != tc.cat || got.Resolution != tc.res {
						t.Errorf("body %s on http %d:\ngot  %s/%s %q (%s)\nwant %s/%s %q",
							body, tc.status, got.Class, got.Category, got.Resolution, got.Reason, tc.class, tc.cat, tc.res)
					}
				}
			})
		}
	}
}

func TestClassifyEndpoint(t *testing.T) {
	t.Parallel()
	env, err := decode(t, `{"data": null, "error_code": null, "error_message": "Invalid OTP"}`)
	if err != nil {
		t.Fatal(err)
	}
	tab := DefaultTable()
	tests := []struct {
		path string
		cat  Category
		res  string
	}{
		{"/api/BusinessRequest/CustomerSign/StepValidateOtp", CategoryBusinessRequest, pageSigningOTP},
		{"/api/businessrequest/customersign/stepvalidateotp", CategoryBusinessRequest, pageSigningOTP},
		{"/api/DigitalIdentity/StepVerifyOtp", CategoryRegistration, pageInvalidOTP},
		{"", CategoryRegistration, pageInvalidOTP},
	}
	for _, tc := range tests {
		got := tab.ClassifyEndpoint(tc.path, 400, env, nil)
		if got.Class != ClassPermanent || got.Category != tc.cat || got.Resolution != tc.res {
			t.Errorf("path %q: got %s/%s %q, want permanent/%s %q", tc.path, got.Class, got.Category, got.Resolution, tc.cat, tc.res)
		}
	}
}

func TestClassifyNilTableUsesDefaults(t *testing.T) {
	t.Parallel()
	var tab *Table
	env, err := decode(t, `{"error_code": 4003}`)
	got := tab.Classify(200, env, err)
	if got.Class != ClassThrottled || got.RetryAfter != time.Minute {
		t.Errorf("nil table: got %+v, want the default 4003 rule", got)
	}
	if r, ok := tab.Rule(3011); !ok || r.Category != CategoryIdentityVerification {
		t.Errorf("nil table: Rule(3011) = %+v, %v", r, ok)
	}
	if r, ok := tab.StatusRule(401); !ok || r.Class != ClassAuthExpired {
		t.Errorf("nil table: StatusRule(401) = %+v, %v", r, ok)
	}
	if v := tab.ClassifyTransport(io.EOF); v.Class != ClassTransient {
		t.Errorf("nil table: ClassifyTransport = %+v", v)
	}
}

func TestClassifyNilEnvelopeWithoutError(t *testing.T) {
	t.Parallel()
	got := DefaultTable().Classify(200, nil, nil)
	if got.Class != ClassTransient || got.Reason != "http 200, empty body" {
		t.Errorf("Classify(200, nil, nil) = %+v, want transient 'empty body'", got)
	}
	got = DefaultTable().Classify(503, nil, errors.New("read: connection reset"))
	if got.Class != ClassTransient || got.Reason != "http 503, body could not be read" {
		t.Errorf("Classify with a read error = %+v", got)
	}
}

// timeoutError is a net.Error that timed out.
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func TestClassifyTransport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc   string
		err    error
		reason string
	}{
		{"nil", nil, "no response"},
		{"context deadline", fmt.Errorf("post: %w", context.DeadlineExceeded), "timeout"},
		{"os deadline", &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, "timeout"},
		{"net.Error timeout", timeoutError{}, "timeout"},
		{"canceled", context.Canceled, "canceled"},
		{"dns", &net.DNSError{Err: "no such host", Name: "api.vlenseg.com", IsNotFound: true}, "dns lookup failed"},
		{"reset", &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, "connection reset"},
		{"refused", &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, "connection refused"},
		{"dial", &net.OpError{Op: "dial", Err: errors.New("network is unreachable")}, "dial failed"},
		{"eof", fmt.Errorf("read body: %w", io.EOF), "connection closed early (EOF)"},
		{"unexpected eof", io.ErrUnexpectedEOF, "connection closed early (EOF)"},
		{"anything else", errors.New("tls: handshake failure"), "transport error"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got := DefaultTable().ClassifyTransport(tc.err)
			want := Verdict{Class: ClassTransient, Category: CategoryNetwork, Resolution: resRetry, Reason: tc.reason}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestClassifyTransportRealErrors classifies the errors net/http really
// returns: a refused connection, a client timeout and a connection closed
// before the response.
func TestClassifyTransportRealErrors(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close()

	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })

	hangup := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		_ = buf.Flush()
		conn.Close()
	}))
	t.Cleanup(hangup.Close)

	tests := []struct {
		desc    string
		url     string
		timeout time.Duration
		reasons []string
	}{
		{"refused", "http://" + closedAddr + "/v1/ocr/id/front", 5 * time.Second, []string{"connection refused"}},
		{"timeout", slow.URL + "/v1/ocr/id/front", 100 * time.Millisecond, []string{"timeout"}},
		{"closed before a response", hangup.URL + "/v1/ocr/id/front", 5 * time.Second, []string{"connection closed early (EOF)", "connection reset"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			c := &http.Client{Timeout: tc.timeout, Transport: &http.Transport{DisableKeepAlives: true}}
			resp, err := c.Post(tc.url, "application/json", strings.NewReader(`{}`))
			if err == nil {
				resp.Body.Close()
				t.Fatal("request succeeded, want a transport error")
			}
			got := DefaultTable().ClassifyTransport(err)
			if got.Class != ClassTransient || got.Category != CategoryNetwork || !slices.Contains(tc.reasons, got.Reason) {
				t.Errorf("error %v: got %+v, want transient/network with a reason in %q", err, got, tc.reasons)
			}
		})
	}
}

func TestVerdictRetryable(t *testing.T) {
	t.Parallel()
	want := map[Class]bool{
		ClassSuccess: false, ClassAuthExpired: true, ClassTransient: true, ClassThrottled: true, ClassPermanent: false,
	}
	for _, c := range Classes {
		if got := (Verdict{Class: c}).Retryable(); got != want[c] {
			t.Errorf("Verdict{Class: %s}.Retryable() = %v, want %v", c, got, want[c])
		}
	}
}

func BenchmarkDecodeClassify(b *testing.B) {
	body := []byte(`{"data": {"isVerificationProcessCompleted": false}, "error_code": null, "error_message": null,
		"services": {"Validations": {"validation_errors": [{"field": "image", "errors": [{"code": 3011, "message": "card not detected"}]}]},
		"spoofing": {"fake": false}, "liveness": null}}`)
	tab := DefaultTable()
	for b.Loop() {
		env, err := DecodeEnvelope(body)
		if v := tab.Classify(200, env, err); v.Code != 3011 {
			b.Fatalf("verdict %+v", v)
		}
	}
}

func ExampleTable_Classify() {
	// HTTP 200, error_code null, and the failure only under services.
	body := []byte(`{"data": {"isVerificationProcessCompleted": false}, "error_code": null,
		"Services": {"Validations": {"validation_errors": [{"field": "image",
		"errors": [{"code": 3011, "message": "card not detected"}]}]}}}`)
	env, err := DecodeEnvelope(body)
	v := DefaultTable().Classify(200, env, err)
	fmt.Println(v.Class, v.Category, v.Code)
	fmt.Println(v.Resolution)
	fmt.Println(v.Retryable())
	// Output:
	// permanent identity_verification 3011
	// Re-capture with better lighting and the ID filling most of the frame
	// false
}

func ExampleTable_ClassifyTransport() {
	v := DefaultTable().ClassifyTransport(context.DeadlineExceeded)
	fmt.Println(v.Class, v.Category, v.Reason)
	// Output: transient network timeout
}

func TestClassifyMessageWithoutCode(t *testing.T) {
	t.Parallel()
	tab := DefaultTable()
	tests := []struct {
		desc     string
		path     string
		env      *Envelope
		class    Class
		category Category
	}{
		{desc: "unexplained message, no data: a failure, never a silent success",
			env: &Envelope{ErrorMessage: "Business request not found"}, class: ClassPermanent, category: CategoryUnknown},
		{desc: "unexplained message, data null", env: &Envelope{Data: []byte("null"), ErrorMessage: "Something odd"},
			class: ClassPermanent, category: CategoryUnknown},
		{desc: "informational message beside data is a success",
			env: &Envelope{Data: []byte(`{"id":7}`), ErrorMessage: "Created"}, class: ClassSuccess},
		{desc: "OTP request not found on a signing step is a business-request failure",
			path: "/api/BusinessRequest/CustomerSign/StepValidateOtp",
			env:  &Envelope{ErrorMessage: "OTP request not found or expired"}, class: ClassPermanent, category: CategoryBusinessRequest},
		{desc: "OTP expired during registration keeps the registration resolution",
			path: "/api/DigitalIdentity/StepVerifyPhone",
			env:  &Envelope{ErrorMessage: "OTP expired"}, class: ClassPermanent, category: CategoryRegistration},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			v := tab.ClassifyEndpoint(tc.path, 200, tc.env, nil)
			if v.Class != tc.class || v.Category != tc.category {
				t.Fatalf("ClassifyEndpoint = %s/%s (%s), want %s/%s", v.Class, v.Category, v.Reason, tc.class, tc.category)
			}
			if v.Class != ClassSuccess && v.Resolution == "" {
				t.Errorf("no resolution for %+v", v)
			}
		})
	}
}

func TestMatchedRuleNamesTheLocationChangedRule(t *testing.T) {
	t.Parallel()
	env := &Envelope{ErrorMessage: "Location changed: liveness required. Call StepReValidateLiveness before StepRequestOtp"}
	v := DefaultTable().ClassifyEndpoint("/api/BusinessRequest/CustomerSign/StepRequestOtp", 200, env, nil)
	e := &Error{Class: v.Class, Reason: v.Reason}
	if !e.MatchedRule(RuleLocationChanged) {
		t.Errorf("verdict %+v does not name the %q rule", v, RuleLocationChanged)
	}
	if (&Error{Reason: "message: location changed later"}).MatchedRule(RuleLocationChanged) {
		t.Error("a longer rule name matched")
	}
}
