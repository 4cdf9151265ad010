package handlers

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vlensq/vlensq/tasks"
)

func TestResultPolicyKeepsWhatProducersNeed(t *testing.T) {
	body := []byte(`{"data":{"transaction_id":"tx-1","isVerificationProcessCompleted":true,"isDigitalIdentityVerified":true,
		"idFrontData":{"name":"Zeinab Canary","idNumber":"29912251401234"},"debugEcho":"x"},"services":{"spoofing":{"fake":false}},"error_code":null}`)
	full := resultOf(body, nil)
	def := ResultPolicy{}.apply(tasks.TypeVerifyIDFront, full)
	for _, gone := range []string{"Zeinab", "29912251401234", "debugEcho"} {
		if strings.Contains(string(def), gone) {
			t.Errorf("default result keeps %q: %s", gone, def)
		}
	}
	for _, kept := range []string{`"transaction_id":"tx-1"`, `"isDigitalIdentityVerified":true`, `"fake":false`} {
		if !strings.Contains(string(def), kept) {
			t.Errorf("default result lost %s: %s", kept, def)
		}
	}
	if !json.Valid(def) {
		t.Fatalf("result is not JSON: %s", def)
	}
	if got := (ResultPolicy{Full: true}).apply(tasks.TypeVerifyIDFront, full); string(got) != string(full) {
		t.Errorf("Full changed the result: %s", got)
	}
	fields, err := ParseResultFields("verify:id_front=transaction_id|idFrontData; business:request_otp=otpRequestId")
	if err != nil {
		t.Fatal(err)
	}
	custom := ResultPolicy{Fields: fields}.apply(tasks.TypeVerifyIDFront, full)
	if !strings.Contains(string(custom), "Zeinab") || strings.Contains(string(custom), "isDigitalIdentityVerified") {
		t.Errorf("custom allow-list result: %s", custom)
	}
	otp := ResultPolicy{}.apply(tasks.TypeBusinessRequestOTP, resultOf([]byte(`{"data":{"otpRequestId":"otp-42","phone":"01012345678"}}`), nil))
	if !strings.Contains(string(otp), "otp-42") || strings.Contains(string(otp), "0101") {
		t.Errorf("request_otp result: %s", otp)
	}
	if _, err := ParseResultFields("verify:nope=a"); err == nil || !strings.Contains(err.Error(), "verify:nope") {
		t.Errorf("unknown type: err = %v", err)
	}
	if _, err := ParseResultFields("transaction_id"); err == nil {
		t.Error("an item without '=' was accepted")
	}
}
