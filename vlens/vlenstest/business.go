package vlenstest

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Business request statuses (requeststatus). Vlens documents 1–4; 5–8 exist
// but are undocumented.
const (
	StatusPendingApproval = 1
	StatusApproved        = 2
	StatusRejected        = 3
	StatusCustomerSigned  = 4
)

var statusNames = map[int]string{
	StatusPendingApproval: "Pending Approval",
	StatusApproved:        "Approved",
	StatusRejected:        "Rejected",
	StatusCustomerSigned:  "Customer Signed",
}

func statusName(s int) string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return "Status " + strconv.Itoa(s)
}

// RelocationKm is how far the device may move from the user's last active
// location before StepRequestOtp demands StepReValidateLiveness.
const RelocationKm = 80

// templateField is one field of a business request type's form.
type templateField struct {
	Key        string `json:"key"`
	Label      string `json:"label"`
	Type       string `json:"type"`
	IsRequired bool   `json:"isRequired"`
}

// requestTypes are the business request types the fake knows, with their
// forms (GetBusinessRequestTypeTemplateFields). Create checks the required
// fields.
var requestTypes = map[int]struct {
	name   string
	fields []templateField
}{
	1: {"Account opening", []templateField{
		{Key: "accountType", Label: "Account type", Type: "text", IsRequired: true},
		{Key: "branch", Label: "Branch", Type: "text"},
	}},
	2: {"Personal loan", []templateField{
		{Key: "amount", Label: "Amount (EGP)", Type: "number", IsRequired: true},
		{Key: "tenorMonths", Label: "Tenor (months)", Type: "number", IsRequired: true},
	}},
	3: {"Card issuance", []templateField{
		{Key: "cardType", Label: "Card type", Type: "text"},
	}},
}

type bizRequest struct {
	id      string
	number  string
	tenant  string
	owner   string // lower-case end user
	typeID  int
	status  int
	created time.Time
}

type otpRequest struct {
	id        string
	requestID string
	owner     string
	expiresAt time.Time
}

// ErrNotFound is returned for a business request the fake does not hold.
var ErrNotFound = errors.New("vlenstest: not found")

// SetBusinessRequestStatus moves a business request (by its id, as returned
// by Create) to status, as the tenant's portal would: e.g.
// StatusApproved after Options.ManualApproval kept it pending. It returns
// ErrNotFound for an unknown id.
func (f *Fake) SetBusinessRequestStatus(id string, status int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	found := false
	f.bizRequests.each(func(_ string, br *bizRequest) bool {
		if br.id == id {
			br.status, found = status, true
		}
		return !found
	})
	if found {
		return nil
	}
	return fmt.Errorf("%w: business request %q", ErrNotFound, id)
}

func bizKey(tenant, id string) string { return tenant + "|" + id }

// findRequestLocked returns c's user's business request id. A
// "sandbox:..." id names an implicit approved request of the caller, so
// scripted signing steps work.
func (f *Fake) findRequestLocked(c *call, id string) *bizRequest {
	key := bizKey(c.tenant.key, id)
	br, _ := f.bizRequests.get(key)
	if br == nil && strings.HasPrefix(id, ScenarioPrefix) {
		br = &bizRequest{id: id, number: id, tenant: c.tenant.key, owner: c.user, typeID: 1, status: StatusApproved, created: f.now()}
		f.bizRequests.put(key, br)
	}
	if br == nil || (br.owner != c.user && !strings.HasPrefix(id, ScenarioPrefix)) {
		return nil
	}
	return br
}

func (f *Fake) userOf(c *call) *endUser {
	return f.userLocked(c.tenant, c.user)
}

// handleCheckEligibility: GET /api/BusinessRequest/CheckEligibility.
func handleCheckEligibility(f *Fake, c *call) *response {
	f.mu.Lock()
	verified := f.userOf(c).verified
	f.mu.Unlock()
	return success(c.ep.casing, map[string]any{
		"isEligible":                verified,
		"isDigitalIdentityVerified": verified,
		"hasPendingRequest":         false,
		"isEmailConfirmed":          true,
	}, nil)
}

// handleTemplateFields: GET
// /api/BusinessRequest/GetBusinessRequestTypeTemplateFields?requestTypeId=N.
func handleTemplateFields(f *Fake, c *call) *response {
	n, err := strconv.Atoi(c.r.URL.Query().Get("requestTypeId"))
	if err != nil || n <= 0 {
		return validationFailure(description{Field: "requestTypeId", Message: "requestTypeId must be a positive whole number"})
	}
	rt, ok := requestTypes[n]
	if !ok {
		return messageFailure(msgTypeNotFound)
	}
	r := success(c.ep.casing, rt.fields, nil)
	r.env.TotalCount, r.env.ReturnedCount = ptr(len(rt.fields)), ptr(len(rt.fields))
	return r
}

// handleCreate: POST /api/BusinessRequest/Create/{typeId} {geoLocation,
// userDeviceUtcTime, requestFieldsValues} → data{id, requestNumber, ...}.
func handleCreate(f *Fake, c *call) *response {
	var ck checker
	typeID, err := strconv.Atoi(c.param)
	if err != nil || typeID <= 0 {
		ck.add("typeId", "typeId must be a positive whole number")
	}
	loc := ck.requireGeo(c.fields, "geoLocation")
	ck.requireTime(c.fields, "userDeviceUtcTime")
	values := ck.requireObject(c.fields, "requestFieldsValues")
	if r := ck.failed(); r != nil {
		return r
	}
	rt, ok := requestTypes[typeID]
	if !ok {
		return messageFailure(msgTypeNotFound)
	}
	for _, fld := range rt.fields {
		if v, ok := lookup(values, fld.Key); fld.IsRequired && (!ok || v == nil || v == "") {
			return messageFailure(msgFieldMissing + fld.Key)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.userOf(c)
	if !u.verified {
		return messageFailure(msgNotEligible)
	}
	u.loc = loc
	f.nextBizID++
	br := &bizRequest{
		id: newUUID(), number: fmt.Sprintf("BR-%08d", f.nextBizID),
		tenant: c.tenant.key, owner: c.user, typeID: typeID, status: StatusPendingApproval, created: f.now(),
	}
	f.bizRequests.put(bizKey(c.tenant.key, br.id), br)
	data := map[string]any{
		"id":                br.id, // a UUID string, as Vlens issues
		"requestNumber":     br.number,
		"requestTypeId":     typeID,
		"requeststatus":     br.status,
		"requestStatusName": statusName(br.status),
		"creationTime":      br.created.UTC().Format(time.RFC3339),
	}
	if !f.opts.ManualApproval {
		br.status = StatusApproved // the portal approves at once
	}
	return success(c.ep.casing, data, nil)
}

// handleRequestOTP: POST .../CustomerSign/StepRequestOtp {geoLocation,
// userDeviceUtcTime, requestId} → data{otpRequestId}. Every success "sends"
// an SMS (OTPsSent): the call is not idempotent.
func handleRequestOTP(f *Fake, c *call) *response {
	var ck checker
	loc := ck.requireGeo(c.fields, "geoLocation")
	ck.requireTime(c.fields, "userDeviceUtcTime")
	reqID := ck.requireID(c.fields, "requestId")
	if r := ck.failed(); r != nil {
		return r
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	br := f.findRequestLocked(c, reqID)
	switch {
	case br == nil:
		return messageFailure(msgRequestNotFound)
	case br.status != StatusApproved:
		return messageFailure(msgWrongStatus)
	}
	u := f.userOf(c)
	if u.loc != nil && distanceKm(*u.loc, *loc) > RelocationKm {
		return messageFailure(msgLocationChanged)
	}
	u.loc = loc
	otp := &otpRequest{id: newUUID(), requestID: br.id, owner: c.user, expiresAt: f.now().Add(f.opts.OTPTTL)}
	f.otpRequests.put(bizKey(c.tenant.key, otp.id), otp)
	sent, _ := f.otpsSent.get(br.id)
	f.otpsSent.put(br.id, sent+1)
	return success(c.ep.casing, map[string]any{"otpRequestId": otp.id}, nil)
}

// handleRevalidateLiveness: POST .../CustomerSign/StepReValidateLiveness
// {geoLocation, userDeviceUtcTime, scanTransaction{image, face_1, face_2,
// face_3}}. Success makes geoLocation the user's active location.
func handleRevalidateLiveness(f *Fake, c *call) *response {
	var ck checker
	loc := ck.requireGeo(c.fields, "geoLocation")
	ck.requireTime(c.fields, "userDeviceUtcTime")
	scan := ck.requireObject(c.fields, "scanTransaction")
	var img string
	var faces []string
	if scan != nil {
		ck.prefix = "scanTransaction."
		img = ck.requireString(scan, "image")
		faces = []string{ck.requireString(scan, "face_1"), ck.requireString(scan, "face_2"), ck.requireString(scan, "face_3")}
		ck.prefix = ""
	}
	if r := ck.failed(); r != nil {
		return r
	}
	if _, r := checkImage("scanTransaction.image", img, 0); r != nil {
		return r
	}
	frames, r := checkFrames(faces, "scanTransaction.face_")
	if r != nil {
		return r
	}
	if identical(frames) {
		return messageFailure(msgIdenticalFaces)
	}
	f.mu.Lock()
	f.userOf(c).loc = loc
	f.mu.Unlock()
	return success(c.ep.casing, map[string]any{"isLivenessVerified": true}, nil)
}

// handleValidateOTP: POST .../CustomerSign/StepValidateOtp {geoLocation,
// userDeviceUtcTime, otpRequestId, otpCode, requestId}. The right code signs
// the request (status 4); a wrong one is "Invalid OTP" with no numeric code.
func handleValidateOTP(f *Fake, c *call) *response {
	var ck checker
	ck.requireGeo(c.fields, "geoLocation")
	ck.requireTime(c.fields, "userDeviceUtcTime")
	otpID := ck.requireString(c.fields, "otpRequestId")
	code := ck.requireString(c.fields, "otpCode")
	reqID := ck.requireID(c.fields, "requestId")
	if r := ck.failed(); r != nil {
		return r
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	br := f.findRequestLocked(c, reqID)
	if br == nil {
		return messageFailure(msgRequestNotFound)
	}
	key := bizKey(c.tenant.key, otpID)
	otp, _ := f.otpRequests.get(key)
	if otp == nil && strings.HasPrefix(otpID, ScenarioPrefix) {
		otp = &otpRequest{id: otpID, requestID: br.id, owner: c.user, expiresAt: f.now().Add(f.opts.OTPTTL)}
		f.otpRequests.put(key, otp)
	}
	switch {
	case otp == nil || otp.owner != c.user || otp.requestID != br.id || !f.now().Before(otp.expiresAt):
		return messageFailure(msgOTPExpired)
	case code != f.opts.OTPCode:
		return messageFailure(msgInvalidOTP)
	case br.status != StatusApproved:
		return messageFailure(msgWrongStatus)
	}
	f.otpRequests.delete(key)
	br.status = StatusCustomerSigned
	return success(c.ep.casing, map[string]any{
		"id":                br.id,
		"requeststatus":     br.status,
		"requestStatusName": statusName(br.status),
	}, nil)
}

// handleGetBusinessRequest: GET
// /api/BusinessRequest/GetBusinessRequestById/{id}.
func handleGetBusinessRequest(f *Fake, c *call) *response {
	f.mu.Lock()
	defer f.mu.Unlock()
	br := f.findRequestLocked(c, c.param)
	if br == nil {
		return messageFailure(msgRequestNotFound)
	}
	return success(c.ep.casing, map[string]any{
		"id":                br.id,
		"requestNumber":     br.number,
		"requestTypeId":     br.typeID,
		"requeststatus":     br.status,
		"requestStatusName": statusName(br.status),
		"creationTime":      br.created.UTC().Format(time.RFC3339),
	}, nil)
}

// distanceKm is the great-circle distance between a and b.
func distanceKm(a, b geoPoint) float64 {
	const earthKm = 6371.0
	rad := func(d float64) float64 { return d * math.Pi / 180 }
	dLat, dLon := rad(b.lat-a.lat), rad(b.lon-a.lon)
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(rad(a.lat))*math.Cos(rad(b.lat))*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthKm * math.Asin(math.Min(1, math.Sqrt(h)))
}
