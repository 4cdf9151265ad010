package vlenstest

import (
	"net/http"
	"strings"
)

// authKind says which credentials an endpoint needs besides the ApiKey.
type authKind int

const (
	// authKeyOnly: login and refresh; no bearer token.
	authKeyOnly authKind = iota
	// authUser: identity verification and business requests; an end-user
	// access token is required.
	authUser
	// authTenantOptional: OCR; the ApiKey alone, or a tenant access token.
	authTenantOptional
)

// endpoint is one Vlens API route.
type endpoint struct {
	method string
	path   string // lower-case, without the parameter segment
	param  bool   // takes one more path segment ({typeId}, {id})
	auth   authKind
	casing casing
	handle func(f *Fake, c *call) *response
}

// Spellings of services/validations and of a success's error_code, as
// listed in the package documentation.
var (
	plain     = casing{}                                                            // "services", "validations", null
	upperBoth = casing{upperServices: true, upperValidations: true}                 // "Services", "Validations", null
	upperVal  = casing{upperValidations: true}                                      // "services", "Validations", null
	upperSvc0 = casing{upperServices: true, zeroCode: true}                         // "Services", "validations", 0
	zero      = casing{zeroCode: true}                                              // "services", "validations", 0
	upperAll0 = casing{upperServices: true, upperValidations: true, zeroCode: true} // "Services", "Validations", 0
)

// endpoints is the route table. Paths match case-insensitively, as on the
// real ASP.NET service.
var endpoints = []*endpoint{
	{method: "POST", path: "/api/credentials/login", auth: authKeyOnly, casing: plain, handle: handleTenantLogin},
	{method: "POST", path: "/api/credentials/refreshtoken", auth: authKeyOnly, casing: plain, handle: handleTenantRefresh},
	{method: "POST", path: "/api/digitalidentity/login", auth: authKeyOnly, casing: plain, handle: handleUserLogin},
	{method: "POST", path: "/api/digitalidentity/refreshtoken", auth: authKeyOnly, casing: plain, handle: handleUserRefresh},

	{method: "POST", path: "/api/digitalidentity/verify/id/front", auth: authUser, casing: plain, handle: handleVerifyFront},
	{method: "POST", path: "/api/digitalidentity/verify/id/back", auth: authUser, casing: upperBoth, handle: handleVerifyBack},
	{method: "POST", path: "/api/digitalidentity/verify/liveness/multi", auth: authUser, casing: upperVal, handle: handleVerifyLiveness},

	{method: "POST", path: "/v1/ocr/id/front", auth: authTenantOptional, casing: upperSvc0, handle: handleOCRFront},
	{method: "POST", path: "/v1/ocr/id/back", auth: authTenantOptional, casing: zero, handle: handleOCRBack},
	{method: "POST", path: "/v1/ocr/face/match", auth: authTenantOptional, casing: upperAll0, handle: handleFaceMatch},
	{method: "POST", path: "/v1/ocr/aml/validate", auth: authTenantOptional, casing: upperSvc0, handle: handleAML},

	{method: "GET", path: "/api/businessrequest/checkeligibility", auth: authUser, casing: zero, handle: handleCheckEligibility},
	{method: "GET", path: "/api/businessrequest/getbusinessrequesttypetemplatefields", auth: authUser, casing: plain, handle: handleTemplateFields},
	{method: "POST", path: "/api/businessrequest/create", param: true, auth: authUser, casing: plain, handle: handleCreate},
	{method: "POST", path: "/api/businessrequest/customersign/steprequestotp", auth: authUser, casing: plain, handle: handleRequestOTP},
	{method: "POST", path: "/api/businessrequest/customersign/steprevalidateliveness", auth: authUser, casing: plain, handle: handleRevalidateLiveness},
	{method: "POST", path: "/api/businessrequest/customersign/stepvalidateotp", auth: authUser, casing: plain, handle: handleValidateOTP},
	{method: "GET", path: "/api/businessrequest/getbusinessrequestbyid", param: true, auth: authUser, casing: zero, handle: handleGetBusinessRequest},
}

// route finds the endpoint of method and path; the response is a 404 or 405
// envelope when there is none.
func route(method, path string) (*endpoint, string, *response) {
	clean := strings.TrimSuffix(path, "/")
	lower := strings.ToLower(clean)
	var allowed []string
	for _, ep := range endpoints {
		param := ""
		if ep.param {
			prefix := ep.path + "/"
			if !strings.HasPrefix(lower, prefix) || strings.Contains(lower[len(prefix):], "/") || len(lower) == len(prefix) {
				continue
			}
			param = clean[len(prefix):]
		} else if lower != ep.path {
			continue
		}
		if ep.method != method {
			allowed = append(allowed, ep.method)
			continue
		}
		return ep, param, nil
	}
	if len(allowed) > 0 {
		r := failure(http.StatusMethodNotAllowed, 0, "Method "+method+" is not allowed on this endpoint")
		r.header = http.Header{"Allow": {strings.Join(allowed, ", ")}}
		return nil, "", r
	}
	return nil, "", failure(http.StatusNotFound, 0, "No endpoint at "+path)
}
