package vlenstest

import (
	"net/http"
)

// ocrDocument serves /v1/ocr/id/front and /v1/ocr/id/back {image,
// transaction_id?, client_transaction_id?, country}.
func (f *Fake) ocrDocument(c *call, front bool) *response {
	var ck checker
	img := ck.requireString(c.fields, "image")
	txID := ck.optionalString(c.fields, "transaction_id")
	clientTxID := ck.optionalString(c.fields, "client_transaction_id")
	ck.optionalString(c.fields, "country")
	if r := ck.failed(); r != nil {
		return r
	}
	if _, r := checkImage("image", img, 0); r != nil {
		return r
	}
	tx, r := f.transactionFor(c, txID, clientTxID)
	if r != nil {
		return r
	}
	f.mu.Lock()
	if front {
		tx.front = true
	} else {
		tx.back = true
	}
	data := map[string]any{"transaction_id": tx.id, "client_transaction_id": nullable(tx.clientTxID)}
	f.mu.Unlock()
	docType := "egyptian_id_back"
	if front {
		docType = "egyptian_id_front"
		data["idFrontData"] = extracted(true, sampleFrontData)
	} else {
		data["idBackData"] = extracted(true, sampleBackData)
	}
	s := documentServices(c.ep.casing, docType)
	s.SRC = nil // OCR does not check national records
	return success(c.ep.casing, data, s)
}

func handleOCRFront(f *Fake, c *call) *response { return f.ocrDocument(c, true) }
func handleOCRBack(f *Fake, c *call) *response  { return f.ocrDocument(c, false) }

// handleFaceMatch: POST /v1/ocr/face/match {transaction_id, image} →
// data{isMatched}. The transaction must exist in the tenant.
func handleFaceMatch(f *Fake, c *call) *response {
	var ck checker
	txID := ck.requireString(c.fields, "transaction_id")
	img := ck.requireString(c.fields, "image")
	if r := ck.failed(); r != nil {
		return r
	}
	if _, r := checkImage("image", img, 0); r != nil {
		return r
	}
	f.mu.Lock()
	tx, r := f.findTransactionLocked(c, txID, false)
	f.mu.Unlock()
	if r != nil {
		return r
	}
	s := &services{}
	c.ep.casing.validations(s)
	return success(c.ep.casing, map[string]any{"transaction_id": tx.id, "isMatched": true}, s)
}

// handleAML: POST /v1/ocr/aml/validate {idNumber, name} → services.AML.
// An ID number that is not 14 digits (the Egyptian national ID) is 3001.
func handleAML(f *Fake, c *call) *response {
	var ck checker
	idNumber := ck.requireString(c.fields, "idNumber")
	ck.requireString(c.fields, "name")
	if r := ck.failed(); r != nil {
		return r
	}
	if !isNationalID(idNumber) {
		return codeFailure(http.StatusOK, 3001)
	}
	s := &services{AML: &amlCheck{Matched: false, Data: []any{}}}
	return success(c.ep.casing, map[string]any{"isAMLMatched": false, "matchesCount": 0}, s)
}

func isNationalID(s string) bool {
	if len(s) != 14 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
