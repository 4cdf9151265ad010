package vlenstest

import (
	"testing"
)

func TestOCRDocuments(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.post(t, pathOCRFront, "", frontBody(map[string]any{"client_transaction_id": "ocr-ref", "country": "EG"}))
	wantSuccess(t, r)
	tx := r.str(t, "data.transaction_id")
	if r.str(t, "data.client_transaction_id") != "ocr-ref" {
		t.Fatal("client_transaction_id not echoed")
	}
	r.str(t, "data.idFrontData.name")
	if v, _ := r.get("Services.spoofing.fake"); v != false {
		t.Fatalf("Services.spoofing.fake = %v", v)
	}
	if v, _ := r.get("Services.classification.doc_type"); v != "egyptian_id_front" {
		t.Fatalf("doc_type = %v", v)
	}

	back := b.post(t, pathOCRBack, "", frontBody(map[string]any{"transaction_id": tx}))
	wantSuccess(t, back)
	back.str(t, "data.idBackData.idNumber")
	if v, _ := back.get("services.classification.doc_type"); v != "egyptian_id_back" {
		t.Fatalf("doc_type = %v", v)
	}
}

func TestFaceMatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tx := b.post(t, pathOCRFront, "", frontBody(nil)).str(t, "data.transaction_id")
	r := b.post(t, pathFaceMatch, "", map[string]any{"transaction_id": tx, "image": SampleImage(4)})
	wantSuccess(t, r)
	if v, _ := r.get("data.isMatched"); v != true {
		t.Fatalf("isMatched = %v", v)
	}
	wantFailure(t, b.post(t, pathFaceMatch, "", map[string]any{"transaction_id": "5a1c9b7e-0000-4000-8000-00000000abcd", "image": SampleImage(4)}),
		200, 5004, "transaction")
	wantFailure(t, b.post(t, pathFaceMatch, "", map[string]any{"image": SampleImage(4)}), 400, 400, "Validation failed")

	// Transactions are per tenant.
	req := b.newRequest(t, "POST", pathFaceMatch, "", map[string]any{"transaction_id": tx, "image": SampleImage(4)})
	req.Header.Set("ApiKey", b.b.APIKey)
	req.Header.Set("TenancyName", b.b.Name)
	wantFailure(t, b.send(t, req), 200, 5004, "transaction")
}

func TestAML(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.post(t, pathAML, "", map[string]any{"idNumber": "29001010101015", "name": "Ahmed Mohamed"})
	wantSuccess(t, r)
	if r.code(t) != 0 {
		t.Fatalf("AML success error_code = %v, want 0", r.code(t))
	}
	if v, ok := r.get("Services.AML.AML_matched"); !ok || v != false {
		t.Fatalf("Services.AML.AML_matched = %v", v)
	}
	if v, _ := r.get("Services.AML.data"); v == nil {
		t.Fatal("Services.AML.data missing")
	}
	wantFailure(t, b.post(t, pathAML, "", map[string]any{"idNumber": "123", "name": "X"}), 200, 3001, "Invalid ID number")
	r = b.post(t, pathAML, "", map[string]any{"idNumber": "29001010101015"})
	wantFailure(t, r, 400, 400, "Validation failed")
	if d := r.descriptions(); len(d) != 1 || d[0] != "name: name is required" {
		t.Fatalf("descriptions %v", d)
	}
}
