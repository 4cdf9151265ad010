package tasks

import (
	"errors"
	"strings"
	"testing"
)

func TestStripSingleUseAndRefuseRequeueWithoutOTP(t *testing.T) {
	raw := []byte(`{"tenant":"acme","user":"u1","requestId":4711,"otpRequestId":"o-1","otpCode":"913467","userDeviceUtcTime":"2026-01-01T00:00:00Z","geoLocation":{"latitude":30,"longitude":31}}`)
	out, removed := StripSingleUse(raw)
	if !removed || strings.Contains(string(out), "913467") || strings.Contains(string(out), "otpCode") {
		t.Fatalf("StripSingleUse = %s, %v; want the OTP gone", out, removed)
	}
	p, err := DecodePayload(out)
	if err != nil {
		t.Fatal(err)
	}
	var se *SingleUseError
	if err := CheckRequeue(TypeBusinessValidateOTP, p); !errors.As(err, &se) || se.Field != "otpCode" ||
		!strings.Contains(err.Error(), "fresh OTP") {
		t.Fatalf("CheckRequeue = %v, want a SingleUseError asking for a fresh OTP", err)
	}
	// Other types, and a payload still holding its code, pass.
	if err := CheckRequeue(TypeBusinessRequestOTP, p); err != nil {
		t.Errorf("request_otp: %v", err)
	}
	p.OTPCode = "123456"
	if err := CheckRequeue(TypeBusinessValidateOTP, p); err != nil {
		t.Errorf("with a code: %v", err)
	}
	// A payload without single-use fields is kept byte for byte.
	plain := []byte(`{"tenant":"acme","country":"EG"}`)
	if got, removed := StripSingleUse(plain); removed || string(got) != string(plain) {
		t.Errorf("StripSingleUse(plain) = %s, %v", got, removed)
	}
}
