package vlenstest

import (
	"bytes"
	"net/http"
	"strings"
)

// transaction groups the steps of one identity verification (or of OCR
// calls): front and back in any order, liveness last.
type transaction struct {
	id         string
	owner      string // lower-case end user; "" for OCR (tenant) transactions
	clientTxID string
	front      bool
	back       bool
	completed  bool
}

func txKey(tenant, id string) string { return tenant + "|" + id }

// transactionFor finds or creates the transaction of a front/back step: a
// null or absent id creates one; a known id continues it; an unknown UUID is
// a client-generated id and creates it; anything else is 5004. A
// "sandbox:..." id names an implicit transaction whose front and back are
// already done, so scripted liveness calls work.
func (f *Fake) transactionFor(c *call, id, clientTxID string) (*transaction, *response) {
	f.mu.Lock()
	defer f.mu.Unlock()
	tx, resp := f.findTransactionLocked(c, id, true)
	if resp != nil {
		return nil, resp
	}
	if clientTxID != "" {
		tx.clientTxID = clientTxID
	}
	return tx, nil
}

// findTransactionLocked looks id up for c's tenant and user; create allows
// creating it (front/back steps).
func (f *Fake) findTransactionLocked(c *call, id string, create bool) (*transaction, *response) {
	if id == "" {
		if !create {
			return nil, codeFailure(http.StatusOK, 5004)
		}
		id = newUUID()
	}
	key := txKey(c.tenant.key, id)
	tx, _ := f.transactions.get(key)
	switch {
	case tx != nil:
		if tx.owner != c.user && c.user != "" && !strings.HasPrefix(id, ScenarioPrefix) {
			return nil, codeFailure(http.StatusOK, 5004)
		}
		return tx, nil
	case strings.HasPrefix(id, ScenarioPrefix):
		tx = &transaction{id: id, owner: c.user, front: true, back: true}
	case create && isUUID(id):
		tx = &transaction{id: id, owner: c.user}
	default:
		return nil, codeFailure(http.StatusOK, 5004)
	}
	f.transactions.put(key, tx)
	return tx, nil
}

// documentServices is the services block of a clean document.
func documentServices(cs casing, docType string) *services {
	s := &services{
		Spoofing:       &spoofing{Fake: false},
		Classification: &classification{DocType: docType},
		SRC:            &srcCheck{IsValid: true},
	}
	cs.validations(s)
	return s
}

// verifyDocument serves verify/id/front and verify/id/back.
func (f *Fake) verifyDocument(c *call, front bool) *response {
	var ck checker
	img := ck.requireString(c.fields, "image")
	txID := ck.optionalString(c.fields, "transaction_id")
	clientTxID := ck.optionalString(c.fields, "client_transaction_id")
	ck.optionalString(c.fields, "request_id")
	ck.optionalString(c.fields, "country")
	ck.optionalString(c.fields, "name_check_value")
	extract := ck.optionalBool(c.fields, "getExtractedData", true)
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
	data := map[string]any{
		"transaction_id":                 tx.id,
		"client_transaction_id":          nullable(tx.clientTxID),
		"isVerificationProcessCompleted": false,
	}
	f.mu.Unlock()
	docType := "egyptian_id_back"
	if front {
		docType = "egyptian_id_front"
		data["idFrontData"] = extracted(extract, sampleFrontData)
	} else {
		data["idBackData"] = extracted(extract, sampleBackData)
	}
	return success(c.ep.casing, data, documentServices(c.ep.casing, docType))
}

func handleVerifyFront(f *Fake, c *call) *response { return f.verifyDocument(c, true) }
func handleVerifyBack(f *Fake, c *call) *response  { return f.verifyDocument(c, false) }

// handleVerifyLiveness: POST /api/DigitalIdentity/verify/liveness/multi
// {face_1, face_2, face_3, transaction_id, getExtractedData}.
func handleVerifyLiveness(f *Fake, c *call) *response {
	var ck checker
	faces := []string{
		ck.requireString(c.fields, "face_1"),
		ck.requireString(c.fields, "face_2"),
		ck.requireString(c.fields, "face_3"),
	}
	txID := ck.requireString(c.fields, "transaction_id")
	extract := ck.optionalBool(c.fields, "getExtractedData", true)
	if r := ck.failed(); r != nil {
		return r
	}
	frames, r := checkFrames(faces, "face_")
	if r != nil {
		return r
	}
	f.mu.Lock()
	tx, r := f.findTransactionLocked(c, txID, false)
	if r == nil && !tx.front && !tx.back {
		r = codeFailure(http.StatusOK, 5004)
	}
	if r != nil {
		f.mu.Unlock()
		return r
	}
	data := map[string]any{
		"transaction_id":        tx.id,
		"client_transaction_id": nullable(tx.clientTxID),
	}
	if identical(frames) {
		f.mu.Unlock()
		data["isVerificationProcessCompleted"] = false
		data["isDigitalIdentityVerified"] = false
		resp := messageFailure(msgIdenticalFaces)
		resp.env.Data = data
		return resp
	}
	verified := tx.front && tx.back
	tx.completed = true
	if verified {
		if u := c.tenant.users[c.user]; u != nil {
			u.verified = true
		}
	}
	if tx.front {
		data["idFrontData"] = extracted(extract, sampleFrontData)
	}
	if tx.back {
		data["idBackData"] = extracted(extract, sampleBackData)
	}
	f.mu.Unlock()
	data["isVerificationProcessCompleted"] = true
	data["isDigitalIdentityVerified"] = verified
	s := &services{Liveness: ptr(true)}
	c.ep.casing.validations(s)
	return success(c.ep.casing, data, s)
}

// checkFrames checks three liveness frames (names prefix+"1".."3").
func checkFrames(faces []string, prefix string) ([][]byte, *response) {
	frames := make([][]byte, len(faces))
	for i, b64 := range faces {
		raw, r := checkImage(prefix+string(rune('1'+i)), b64, FrameMaxBytes)
		if r != nil {
			return nil, r
		}
		frames[i] = raw
	}
	return frames, nil
}

// identical reports whether two frames are the same image.
func identical(frames [][]byte) bool {
	for i := range frames {
		for j := i + 1; j < len(frames); j++ {
			if bytes.Equal(frames[i], frames[j]) {
				return true
			}
		}
	}
	return false
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// extracted returns a copy of sample when the caller asked for extracted
// data, nil otherwise.
func extracted(want bool, sample map[string]any) any {
	if !want {
		return nil
	}
	out := make(map[string]any, len(sample))
	for k, v := range sample {
		out[k] = v
	}
	return out
}

// Extracted data of the fake's one demo identity card. Made-up values.
var (
	sampleFrontData = map[string]any{
		"firstName":   "Ahmed",
		"name":        "Ahmed Mohamed Ali Hassan",
		"address":     "12 Example Street, Nasr City, Cairo",
		"idNumber":    "29001010101015",
		"birthDate":   "1990-01-01",
		"governorate": "Cairo",
		"gender":      "Male",
		"idKey":       "FK0000001",
	}
	sampleBackData = map[string]any{
		"idNumber":      "29001010101015",
		"profession":    "Engineer",
		"maritalStatus": "Single",
		"gender":        "Male",
		"releaseDate":   "2021-06-01",
		"expiryDate":    "2028-06-01",
		"husbandName":   nil,
	}
)
