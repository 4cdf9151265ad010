package vlenstest

import (
	"net/http"
	"testing"
)

func TestVerifyFullFlow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	access, _ := b.srv.UserTokens(b.a.Name, "flow-user")
	if err := b.srv.SetUserVerified(b.a.Name, "flow-user", false); err != nil {
		t.Fatal(err)
	}

	front := b.post(t, pathFront, access, frontBody(map[string]any{"transaction_id": nil, "client_transaction_id": "my-ref-1", "country": "EG"}))
	wantSuccess(t, front)
	tx := front.str(t, "data.transaction_id")
	if !isUUID(tx) {
		t.Fatalf("server-created transaction_id %q is not a UUID", tx)
	}
	if got := front.str(t, "data.client_transaction_id"); got != "my-ref-1" {
		t.Fatalf("client_transaction_id = %q, want it echoed", got)
	}
	if v, _ := front.get("data.isVerificationProcessCompleted"); v != false {
		t.Fatalf("front: isVerificationProcessCompleted = %v", v)
	}
	if front.str(t, "data.idFrontData.idNumber") == "" {
		t.Fatal("idFrontData.idNumber missing")
	}

	back := b.post(t, pathBack, access, frontBody(map[string]any{"transaction_id": tx}))
	wantSuccess(t, back)
	if got := back.str(t, "data.transaction_id"); got != tx {
		t.Fatalf("back continued transaction %q, want %q", got, tx)
	}
	if back.str(t, "data.client_transaction_id") != "my-ref-1" {
		t.Fatal("the transaction forgot its client_transaction_id")
	}
	back.str(t, "data.idBackData.expiryDate")

	live := b.post(t, pathLiveness, access, livenessBody(tx))
	wantSuccess(t, live)
	for _, k := range []string{"data.isVerificationProcessCompleted", "data.isDigitalIdentityVerified"} {
		if v, _ := live.get(k); v != true {
			t.Fatalf("%s = %v, want true", k, v)
		}
	}
	if v, _ := live.get("services.liveness"); v != true {
		t.Fatalf("services.liveness = %v", v)
	}
	live.str(t, "data.idFrontData.name")
	live.str(t, "data.idBackData.idNumber")

	// The user is now verified and eligible for business requests.
	el := b.get(t, pathEligibility, access)
	if v, _ := el.get("data.isEligible"); v != true {
		t.Fatalf("after liveness, isEligible = %v", v)
	}
}

func TestVerifyTransactions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	access := b.userToken("tx-user")
	other := b.userToken("tx-other")

	t.Run("client-generated UUID is accepted", func(t *testing.T) {
		id := "0b8f5a0e-5b7c-4c1e-9b7e-2f1d3c4b5a69"
		r := b.post(t, pathBack, access, frontBody(map[string]any{"transaction_id": id}))
		wantSuccess(t, r)
		if got := r.str(t, "data.transaction_id"); got != id {
			t.Fatalf("transaction_id = %q, want %q", got, id)
		}
	})
	t.Run("absent transaction_id creates one", func(t *testing.T) {
		r1 := b.post(t, pathFront, access, frontBody(nil))
		r2 := b.post(t, pathFront, access, frontBody(nil))
		if r1.str(t, "data.transaction_id") == r2.str(t, "data.transaction_id") {
			t.Fatal("two fronts without transaction_id share a transaction")
		}
		if v, ok := r1.get("data.client_transaction_id"); !ok || v != nil {
			t.Fatalf("client_transaction_id = %v, want null", v)
		}
	})
	t.Run("an id that is not a UUID is 5004", func(t *testing.T) {
		wantFailure(t, b.post(t, pathFront, access, frontBody(map[string]any{"transaction_id": "not-a-uuid"})), 200, 5004, "transaction")
	})
	t.Run("another user's transaction is 5004", func(t *testing.T) {
		tx := b.post(t, pathFront, access, frontBody(nil)).str(t, "data.transaction_id")
		wantFailure(t, b.post(t, pathBack, other, frontBody(map[string]any{"transaction_id": tx})), 200, 5004, "transaction")
		wantFailure(t, b.post(t, pathLiveness, other, livenessBody(tx)), 200, 5004, "transaction")
	})
	t.Run("liveness needs a front or back step", func(t *testing.T) {
		wantFailure(t, b.post(t, pathLiveness, access, livenessBody("5a1c9b7e-0000-4000-8000-000000000001")), 200, 5004, "transaction not found")
	})
	t.Run("liveness after only a front does not verify the identity", func(t *testing.T) {
		tx := b.post(t, pathFront, access, frontBody(nil)).str(t, "data.transaction_id")
		r := b.post(t, pathLiveness, access, livenessBody(tx))
		wantSuccess(t, r)
		if v, _ := r.get("data.isDigitalIdentityVerified"); v != false {
			t.Fatalf("isDigitalIdentityVerified = %v, want false without the back", v)
		}
	})
	t.Run("identical frames", func(t *testing.T) {
		tx := b.post(t, pathFront, access, frontBody(nil)).str(t, "data.transaction_id")
		body := livenessBody(tx)
		body["face_3"] = body["face_1"]
		r := b.post(t, pathLiveness, access, body)
		wantFailure(t, r, 200, nil, "Identical face images")
		if v, _ := r.get("data.isVerificationProcessCompleted"); v != false {
			t.Fatalf("isVerificationProcessCompleted = %v", v)
		}
	})
	t.Run("liveness fields are required", func(t *testing.T) {
		r := b.post(t, pathLiveness, access, map[string]any{"face_1": SampleImage(1)})
		wantFailure(t, r, 400, 400, "Validation failed")
		if got := len(r.descriptions()); got != 3 {
			t.Fatalf("descriptions %v, want face_2, face_3, transaction_id", r.descriptions())
		}
	})
	t.Run("a sandbox transaction id stands for a finished front and back", func(t *testing.T) {
		r := b.post(t, pathLiveness, access, livenessBody("sandbox:ok#tx-impl"))
		wantSuccess(t, r)
		if v, _ := r.get("data.isDigitalIdentityVerified"); v != true {
			t.Fatalf("isDigitalIdentityVerified = %v", v)
		}
	})
}

func TestStateLimitForgetsOldTransactions(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.StateLimit = 2 })
	access := b.userToken("limit-user")
	var txs []string
	for range 3 {
		txs = append(txs, b.post(t, pathFront, access, frontBody(nil)).str(t, "data.transaction_id"))
	}
	wantFailure(t, b.post(t, pathLiveness, access, livenessBody(txs[0])), 200, 5004, "transaction")
	wantSuccess(t, b.post(t, pathLiveness, access, livenessBody(txs[2])))
}

func TestVerifyGetExtractedData(t *testing.T) {
	t.Parallel()
	b := setup(t)
	access := b.userToken("extract-user")
	r := b.post(t, pathFront, access, frontBody(map[string]any{"getExtractedData": false}))
	wantSuccess(t, r)
	if v, ok := r.get("data.idFrontData"); !ok || v != nil {
		t.Fatalf("idFrontData = %v, want null when getExtractedData is false", v)
	}
	r = b.post(t, pathFront, access, frontBody(map[string]any{"getExtractedData": "yes"}))
	wantFailure(t, r, http.StatusBadRequest, 400, "Validation failed")
}

// TestServicesSpelling checks that each document endpoint spells services,
// validations and the success code the way the package documentation says.
func TestServicesSpelling(t *testing.T) {
	t.Parallel()
	b := setup(t)
	user := b.userToken("spell-user")
	tx := b.post(t, pathFront, user, frontBody(nil)).str(t, "data.transaction_id")
	tests := []struct {
		path, token string
		body        map[string]any
		services    string // key of the services block
		validations string // key of validations inside it
		code        any    // error_code of a success
	}{
		{pathFront, user, frontBody(nil), "services", "validations", nil},
		{pathBack, user, frontBody(map[string]any{"transaction_id": tx}), "Services", "Validations", nil},
		{pathLiveness, user, livenessBody(tx), "services", "Validations", nil},
		{pathOCRFront, "", frontBody(nil), "Services", "validations", 0},
		{pathOCRBack, "", frontBody(nil), "services", "validations", 0},
		{pathFaceMatch, "", map[string]any{"transaction_id": tx, "image": SampleImage(3)}, "Services", "Validations", 0},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			r := b.post(t, tc.path, tc.token, tc.body)
			wantSuccess(t, r)
			if got := r.code(t); got != tc.code {
				t.Fatalf("error_code = %v, want %v", got, tc.code)
			}
			if _, ok := r.get(tc.services + "." + tc.validations + ".validation_errors"); !ok {
				t.Fatalf("no %s.%s.validation_errors in %s", tc.services, tc.validations, r.short())
			}
		})
	}
}
