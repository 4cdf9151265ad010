package tasks

import (
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
)

// ValidationError is bad input: one clear line naming the field and the
// problem, e.g. "payload.image: not valid base64 (at byte 12)". Field is
// "type", "tenant", "queue", "id" or "payload.<member>" (dotted when
// nested); it is empty when the problem is the whole input (malformed JSON).
// Messages never quote image data, OTP codes or other payload values.
type ValidationError struct {
	Field   string
	Problem string
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return e.Problem
	}
	return e.Field + ": " + e.Problem
}

// Validate checks the payload against the task type's Spec: known type;
// tenant present; user present for user-token types; no members the type
// does not use; required members present; images valid base64 of a JPEG or
// PNG of at most MaxImageBytes (or well-formed blob references); liveness
// frames distinct; callback_url an absolute http(s) URL; type_id
// positive; Vlens's ids (requestId, otpRequestId, transaction_id,
// request_id) present where required and at most MaxIDLength bytes, in any
// format; geoLocation in range; userDeviceUtcTime an RFC 3339
// time. It returns the first problem as a *ValidationError. Whether the
// tenant exists is checked by the Client, which knows the tenants.
func (p *Payload) Validate(taskType string) error {
	_, err := p.check(taskType)
	return err
}

// check is Validate that also returns the decoded images, so that the
// Client does not decode them twice.
func (p *Payload) check(taskType string) ([]checkedImage, error) {
	spec, ok := specFor(taskType)
	if !ok {
		return nil, unknownType(taskType)
	}
	bad := func(field, problem string) ([]checkedImage, error) {
		return nil, &ValidationError{Field: field, Problem: problem}
	}
	if p == nil {
		return bad("payload", "required")
	}
	if blank(p.Tenant) {
		return bad("tenant", "required")
	}
	if spec.UserToken && blank(p.User) {
		return bad("payload.user", "required: "+taskType+" runs with the user's token")
	}
	allowed := params[taskType]
	for _, f := range payloadFields().list {
		if name := f.name; p.has(name) && !slices.Contains(allowed, name) {
			return bad("payload."+name, "not used by "+taskType)
		}
	}
	for _, name := range spec.Required {
		if !p.has(name) {
			return bad("payload."+name, "required for "+taskType)
		}
	}
	if err := p.checkMembers(); err != nil {
		return nil, err
	}
	imgs := make([]checkedImage, 0, len(spec.Images))
	for _, name := range spec.Images {
		slot := p.imageSlot(name)
		if slot == nil || *slot == nil {
			continue
		}
		ci, err := checkImage("payload."+name, *slot)
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, ci)
	}
	if err := distinctFrames(imgs); err != nil {
		return nil, err
	}
	return imgs, nil
}

func unknownType(taskType string) error {
	if blank(taskType) {
		return &ValidationError{Field: "type", Problem: "required"}
	}
	return &ValidationError{Field: "type", Problem: fmt.Sprintf("unknown task type %q (known: %s)", taskType, strings.Join(Types(), ", "))}
}

// checkMembers applies the rules of individual members that are set.
func (p *Payload) checkMembers() error {
	bad := func(field, problem string) error {
		return &ValidationError{Field: "payload." + field, Problem: problem}
	}
	if p.CallbackURL != "" {
		u, err := url.Parse(p.CallbackURL)
		switch {
		case err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
			return bad("callback_url", "must be an absolute http or https URL")
		case u.User != nil:
			return bad("callback_url", "must not carry credentials (user:password@)")
		}
	}
	if p.TypeID < 0 {
		return bad("type_id", "must be a positive integer")
	}
	for _, id := range []struct {
		name string
		id   ID
	}{{"transaction_id", p.TransactionID}, {"request_id", p.RequestID}, {"requestId", p.BusinessRequestID}, {"otpRequestId", p.OTPRequestID}} {
		if n := len(id.id.text); n > MaxIDLength {
			return bad(id.name, fmt.Sprintf("too long for an id (%d bytes, at most %d)", n, MaxIDLength))
		}
	}
	if p.OTPCode != "" && strings.ContainsFunc(p.OTPCode, isSpaceOrControl) {
		return bad("otpCode", "must not contain spaces or control characters")
	}
	if g := p.GeoLocation; g != nil {
		if g.Latitude < -90 || g.Latitude > 90 {
			return bad("geoLocation.latitude", "must be between -90 and 90")
		}
		if g.Longitude < -180 || g.Longitude > 180 {
			return bad("geoLocation.longitude", "must be between -180 and 180")
		}
	}
	if p.UserDeviceUTCTime != "" && !validDeviceTime(p.UserDeviceUTCTime) {
		return bad("userDeviceUtcTime", `must be an RFC 3339 time such as "2025-01-02T15:04:05Z"`)
	}
	for k := range p.RequestFieldsValues {
		if blank(k) {
			return bad("requestFieldsValues", "has an empty key")
		}
	}
	return nil
}

func validDeviceTime(s string) bool {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

// distinctFrames rejects a liveness set in which two frames are the same
// image (Vlens needs three distinct frames).
func distinctFrames(imgs []checkedImage) error {
	for i, a := range imgs {
		if !isFrame(a.field) {
			continue
		}
		for _, b := range imgs[:i] {
			if isFrame(b.field) && a.key == b.key {
				return &ValidationError{Field: a.field, Problem: "same image as " + b.field + "; liveness needs three distinct frames"}
			}
		}
	}
	return nil
}

func isFrame(field string) bool { return strings.Contains(field, "face_") }

func blank(s string) bool { return strings.TrimSpace(s) == "" }

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

// payloadFields is the json member table of Payload.
var payloadFields = sync.OnceValue(func() structFields { return fieldsOf(reflect.TypeFor[Payload]()) })

// member returns the top-level member called name (json name).
func (p *Payload) member(name string) (reflect.Value, bool) {
	i, ok := payloadFields().index[name]
	if !ok {
		return reflect.Value{}, false
	}
	return reflect.ValueOf(p).Elem().Field(i), true
}

// has reports whether the member called name (dotted for scanTransaction's)
// is set: non-nil, non-zero, and for strings not blank.
func (p *Payload) has(name string) bool {
	if slot := p.imageSlot(name); slot != nil {
		return *slot != nil
	}
	v, ok := p.member(name)
	if !ok {
		return false
	}
	if v.Kind() == reflect.String {
		return !blank(v.String())
	}
	if id, ok := v.Interface().(ID); ok {
		return !id.IsZero()
	}
	return !v.IsZero()
}

// imageSlot returns the field holding the image called name, nil when name
// is not an image (or its scanTransaction is absent).
func (p *Payload) imageSlot(name string) **Image {
	switch name {
	case "image":
		return &p.Image
	case "front_image":
		return &p.FrontImage
	case "back_image":
		return &p.BackImage
	case "face_1":
		return &p.Face1
	case "face_2":
		return &p.Face2
	case "face_3":
		return &p.Face3
	}
	rest, ok := strings.CutPrefix(name, "scanTransaction.")
	if !ok || p.ScanTransaction == nil {
		return nil
	}
	st := p.ScanTransaction
	switch rest {
	case "image":
		return &st.Image
	case "face_1":
		return &st.Face1
	case "face_2":
		return &st.Face2
	case "face_3":
		return &st.Face3
	}
	return nil
}
