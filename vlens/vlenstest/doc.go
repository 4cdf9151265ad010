// Package vlenstest is a fake Vlens: an in-process http.Handler that speaks
// the Vlens eKYC API the way the real service does (envelopes, HTTP
// statuses, tokens, the traps of vlens/api.md and the errors page), with
// deterministic scenario scripting and random fault injection. Every test of
// the project, the demo, `vlensq sandbox` and the benchmarks run against it.
//
//	srv := vlenstest.NewTestServer(t, vlenstest.Options{Tenants: vlenstest.DemoTenants()})
//	access, refresh := srv.UserTokens("demo-bank", "user-1")  // an end user's session
//	// point the client at srv.URL; then inspect srv.Requests(), srv.Injections(),
//	// srv.Logins(tenant), srv.Refreshes(tenant, user), srv.OTPsSent(requestID)
//
// For a long-running sandbox use New(opts).Handler(), which adds the
// /_sandbox/ admin routes (see Fake.Handler). SampleImage gives base64 JPEGs
// the fake accepts.
//
// # Endpoints
//
// Paths match case-insensitively. Every call needs the tenant's ApiKey header;
// a TenancyName header, when sent, must name the key's tenant. POST bodies
// must be JSON objects sent as application/json. Field names match
// case-insensitively, as on the ASP.NET service.
//
//	endpoint                                          token              success error_code  services spelling
//	POST /api/credentials/Login                       none               null                -
//	POST /api/credentials/RefreshToken                none               null                -
//	POST /api/DigitalIdentity/Login                   none               null                -
//	POST /api/DigitalIdentity/RefreshToken            none               null                -
//	POST /api/DigitalIdentity/verify/id/front         user               null                services / validations
//	POST /api/DigitalIdentity/verify/id/back          user               null                Services / Validations
//	POST /api/DigitalIdentity/verify/liveness/multi   user               null                services / Validations
//	POST /v1/ocr/id/front                             none or tenant     0                   Services / validations
//	POST /v1/ocr/id/back                              none or tenant     0                   services / validations
//	POST /v1/ocr/face/match                           none or tenant     0                   Services / Validations
//	POST /v1/ocr/aml/validate                         none or tenant     0                   Services (AML)
//	GET  /api/BusinessRequest/CheckEligibility        user               0                   -
//	GET  /api/BusinessRequest/GetBusinessRequestTypeTemplateFields?requestTypeId=N   user  null  -
//	POST /api/BusinessRequest/Create/{typeId}         user               null                -
//	POST /api/BusinessRequest/CustomerSign/StepRequestOtp          user  null                -
//	POST /api/BusinessRequest/CustomerSign/StepReValidateLiveness  user  null                -
//	POST /api/BusinessRequest/CustomerSign/StepValidateOtp         user  null                -
//	GET  /api/BusinessRequest/GetBusinessRequestById/{id}          user  0                   -
//
// Behaviour worth knowing:
//   - verify/id/front and /id/back: transaction_id null or absent creates a
//     transaction (a UUID); a known one continues it; an unknown UUID is taken
//     as client-generated; anything else, or another user's transaction, is
//     5004. client_transaction_id is echoed. getExtractedData defaults to
//     true; false leaves idFrontData / idBackData null.
//   - verify/liveness/multi needs face_1..3 and the transaction_id of a front
//     or back step (else 5004). Two equal frames answer HTTP 200, error_code
//     null, "Identical face images: ...". isDigitalIdentityVerified is true
//     when front and back were both done; it marks the user verified.
//   - OCR front/back create transactions for the tenant; face/match needs
//     one (else 5004) and answers data{isMatched: true}; aml/validate needs a
//     14-digit idNumber (else 3001) and answers services.AML.
//   - Business requests need a verified user (UserTokens registers users as
//     verified; users auto-registered by DigitalIdentity/Login are not until a
//     liveness step verifies them; see SetUserVerified), else "User not
//     eligible ...". Types 1 (accountType required), 2 (amount, tenorMonths
//     required) and 3 exist; others are "Business request type not found".
//     Create answers data.id, a UUID string as at Vlens, and requeststatus 1
//     "Pending Approval"; the later steps take that id back as requestId (a
//     string; the records show it in Request.IDs). The request is then
//     approved (2) at once unless Options.ManualApproval (see
//     SetBusinessRequestStatus). StepRequestOtp needs status 2 and answers
//     data{otpRequestId}; every success counts one SMS (OTPsSent): a retry
//     sends another. A device more than 80 km from the user's last location
//     gets "Location changed: liveness required ..." until
//     StepReValidateLiveness succeeds there. StepValidateOtp with the wrong
//     code is "Invalid OTP" (no numeric code); an unknown, used or expired
//     (Options.OTPTTL) OTP request is "OTP expired or request not found"; the
//     right code (Options.OTPCode, default 123456) signs the request (4).
//     Business failures come as HTTP 200, error_code null and an
//     error_message, as Vlens sends them.
//
// # Errors the fake sends
//
//	cause                                  HTTP  error_code  error_message / shape
//	ApiKey missing, unknown, wrong tenant  401   null        "ApiKey header missing or invalid"
//	no Authorization on a user endpoint    403   null        "Authorization header missing on a protected endpoint"
//	unknown bearer token                   401   null        "Access token invalid or expired"
//	expired access token                   401   null        "Access token expired"
//	token of another tenant                401   null        "Token belongs to a different tenant"
//	tenant token on a user endpoint,
//	user token on OCR                      403   null        "Token does not have permission for this endpoint"
//	bad login credentials                  401   null        "Invalid user name or password"
//	refresh token expired, revoked, used   401   null        "Refresh token expired or revoked"
//	missing/ill-typed field, bad JSON,
//	bad base64                             400   400         "Validation failed" + error_descriptions [{field, message}]
//	image not JPEG/PNG, wrong Content-Type 415   null        "Unsupported image type" / "Content-Type must be application/json"
//	image over 5 MiB / over 25 megapixels  422   5002/5003   the code's message
//	liveness frame over 500 KB             400   400         "Validation failed"
//	body over Options.MaxBodyBytes         413   null        "Request body too large"
//	unknown path / wrong method            404 / 405 null    envelope (405 with Allow)
//
// # Tokens
//
// Tokens are opaque random strings with real expiry by Options.Now
// (AccessTTL, default 86400 s; RefreshTTL, default 604800 s). Login answers
// data{accessToken, encryptedAccessToken, expireInSeconds, refreshToken,
// refreshTokenExpireInSeconds, userId}. RefreshToken answers
// data{accessToken, encryptedAccessToken, expireInSeconds, refreshToken (the
// one sent), newRefreshToken} and rotates: the refresh token sent stops
// working. Tenant tokens (credentials/Login) and user tokens
// (DigitalIdentity/Login, UserTokens) are distinct and refresh only on their
// own endpoint. ExpireAccessTokens and RevokeRefreshTokens act on every
// token issued so far.
//
// # Scenarios
//
// A request is scripted by the first JSON string value starting with
// "sandbox:" in its body (top-level values, then one level down: members of
// nested objects and array elements, in document order; e.g.
// client_transaction_id, requestId, requestFieldsValues.x, scanTransaction.x),
// or for a GET in the last path segment, then in query values (by key).
//
//	sandbox:STEP,STEP,...#KEY
//
// The N-th request carrying that exact string (key included) gets the N-th
// step; the last step repeats. The #KEY part only makes the string unique. A
// step is one outcome, optionally combined with delays by "+"
// ("delay:200ms+code:5000"). Steps:
//
//	ok              answer normally
//	http500         500, envelope "An internal error occurred during your request!"
//	http502html     502 with the gateway's HTML page (text/html)
//	http503         503, envelope
//	http408         408, envelope
//	reset           close the connection without an answer (TCP RST)
//	truncated       run the call, then send the first half of its JSON, HTTP 200
//	empty           run the call, then send HTTP 200 with an empty body
//	http429:N       429 with Retry-After: N (plain http429: no Retry-After)
//	code:NNNN       HTTP 200, error_code NNNN and that code's message
//	http:NNN:NNNN   status NNN with error_code NNNN (http:NNN: error_code null)
//	services3011    HTTP 200, error_code null, data{isVerificationProcessCompleted:false},
//	                the failure only in services.Validations.validation_errors[].errors[].code 3011
//	http400desc     400, error_code 400, error_descriptions [{field:"image", message:"image is required"}]
//	fake            HTTP 200, error_code null, services.spoofing.fake true
//	liveness_false  HTTP 200, error_code null, services.liveness false
//	src_invalid     HTTP 200, error_code null, services.SRC.isValid false (NTRA/CSO check)
//	expire          expire the caller's access token, then answer 401 "Access token expired"
//	location_changed HTTP 200, error_code null, StepRequestOtp's "Location changed: liveness
//	                required" message (the device moved > 80 km; no OTP is sent)
//	msg:TEXT        HTTP 200, error_code null, error_message TEXT (TEXT is %-decoded:
//	                write "," "+" "#" as %2C %2B %23)
//	delay:DUR       wait DUR (at most 10m), then the step's outcome (ok when alone)
//
// An unknown or malformed step answers HTTP 400 naming it, so a broken script
// fails loudly. Authentication comes first: a call refused for its ApiKey or
// token does not use up a step. Scripted outcomes answer before the request
// is validated; ok, truncated, empty and delays run the endpoint, so side
// effects happen (a truncated StepRequestOtp still sent its SMS). A
// "sandbox:..." string used as an id stands for an object that exists: a
// transaction_id for a transaction whose front and back are done, a requestId
// or GetBusinessRequestById/{id} for an approved business request of the
// caller, an otpRequestId for a live OTP request. Scripted steps other than
// ok are recorded in Injections.
//
// Go's HTTP client may silently retry an idempotent request (GET) whose
// reused connection was reset, which uses up another step; use a transport
// without keep-alives when a test counts resets on GETs.
//
// # Faults
//
// Requests without a scenario may get a random fault (Options.Faults,
// Fake.SetFaults, PUT /_sandbox/faults, `vlensq sandbox --faults`). The spec
// is comma-separated key=value items (see ParseFaults):
//
//	latency=50ms,5xx=0.05,reset=0.02,html=0.02,truncated=0.02,429=0.02,401=0.02,4003=0.01,empty=0.01,seed=7
//
//	latency=D | MIN-MAX  delay added to every such call (uniform in [MIN, MAX]);
//	                     recorded in Request.Latency, not as an injection
//	5xx=R        500 or 503 envelope, or 504 plain-text gateway body
//	reset=R      connection closed without an answer
//	html=R       502 HTML gateway page
//	truncated=R  the call runs, half its JSON is sent with HTTP 200
//	empty=R      the call runs, HTTP 200 with an empty body
//	429=R        429 with Retry-After: 1
//	401=R        the caller's access token is really expired, then 401
//	             (only calls with a bearer token draw it)
//	4003=R       HTTP 200, error_code 4003 "Too many trials, try again later"
//	auth=on|off  also hit login and refresh calls (default off: never)
//	seed=N       reseed the random source, for reproducible runs
//
// Rates are probabilities in [0, 1]; each call draws at most one fault, and
// the rates may add up to at most 1. "none" or "" clears the faults. Every
// injected fault is recorded (Injections) with the request's X-Request-Id.
//
// # Records
//
// Requests lists every API call (time, X-Request-Id, method, path, tenant,
// user, token kind, status, error_code, scenario and step, fault, latency)
// and Injections every injected failure, each bounded to the newest
// Options.RecordLimit entries. Neither holds bodies, tokens, keys,
// passwords, OTPs or images. State kept between calls (transactions,
// business and OTP requests, scenario counters) is bounded by
// Options.StateLimit, oldest forgotten first, and tokens that expired over an
// hour ago are dropped, so a sandbox under a long load test stays small.
package vlenstest
