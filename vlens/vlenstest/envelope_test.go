package vlenstest

import (
	"net/http"
	"testing"
)

func TestEnvelopeShape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		resp *response
		want string
	}{
		{"success with null code", success(plain, map[string]any{"a": 1}, nil),
			`{"data":{"a":1},"error_code":null,"error_message":null,"error_descriptions":null}`},
		{"success with 0", success(zero, nil, nil),
			`{"data":null,"error_code":0,"error_message":null,"error_descriptions":null}`},
		{"code failure", codeFailure(http.StatusOK, 3011),
			`{"data":null,"error_code":3011,"error_message":"Card not detected","error_descriptions":null}`},
		{"validation", validationFailure(description{Field: "image", Message: "image is required"}),
			`{"data":null,"error_code":400,"error_message":"Validation failed","error_descriptions":[{"field":"image","message":"image is required"}]}`},
		{"message only", messageFailure("Invalid OTP"),
			`{"data":null,"error_code":null,"error_message":"Invalid OTP","error_descriptions":null}`},
		{"upper-case services", success(upperBoth, nil, documentServices(upperBoth, "egyptian_id_front")),
			`{"data":null,"error_code":null,"error_message":null,"error_descriptions":null,"Services":{"Validations":{"validation_errors":[]},"spoofing":{"fake":false},"classification":{"doc_type":"egyptian_id_front"},"liveness":null,"SRC":{"isValid":true,"errorCode":null,"errorKey":null,"errorMessage":null}}}`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := string(tc.resp.body()); got != tc.want {
				t.Fatalf("\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestCodeMessage(t *testing.T) {
	t.Parallel()
	documented := []int{3001, 3002, 3003, 3004, 3005, 3006, 3007, 3008, 3009, 3010, 3011, 3013, 3014, 3101, 3102,
		4001, 4002, 4003, 4004, 4005, 4006, 4007, 4206, 4207, 4208, 4209, 4210,
		5000, 5001, 5002, 5003, 5004, 5005, 5006, 5007, 5008, 7000, 7001, 7002, 7003, 7004, 7005, 7006, 7008}
	for _, c := range documented {
		if _, ok := codeMessages[c]; !ok {
			t.Errorf("code %d has no message", c)
		}
	}
	if got := codeMessage(1234); got != "Error 1234" {
		t.Errorf("undocumented code message %q", got)
	}
}
