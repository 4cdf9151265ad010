package deadletter_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/vlensq/vlensq/deadletter"
)

func ExampleTicket() {
	at := time.Date(2025, 6, 1, 10, 30, 0, 0, time.UTC)
	rec := &deadletter.Record{
		ID:         "01JWNEW9N0B4TMYECYS5GXFY0V",
		TaskID:     "kyc-42-front",
		Queue:      "default",
		Type:       "verify:id_front",
		Tenant:     "acme-bank",
		Endpoint:   deadletter.Endpoint{Method: "POST", URL: "https://api.vlenseg.com/api/DigitalIdentity/verify/id/front"},
		Request:    json.RawMessage(`{"image":"[redacted 2048 bytes sha256:ab12]","transaction_id":"tx-1"}`),
		HTTPStatus: 200,
		Response:   json.RawMessage(`{"data":null,"error_code":3011,"error_message":"card not detected"}`),
		ErrorCode:  3011, ErrorMessage: "card not detected",
		Class: "permanent", Category: "identity_verification",
		Resolution: "Re-capture with better lighting and the ID filling most of the frame",
		Attempts:   1, FirstAttemptAt: at, FailedAt: at,
		History:       []deadletter.Attempt{{At: at, HTTPStatus: 200, ErrorCode: 3011, Class: "permanent", XRequestID: "5f0c2a"}},
		TransactionID: "tx-1",
	}
	fmt.Print(deadletter.Ticket(rec))
	// Output:
	// Vlens support ticket
	//
	// 1. Endpoint: POST https://api.vlenseg.com/api/DigitalIdentity/verify/id/front
	//
	// 2. Request body (images and personal data redacted):
	// {
	//   "image": "[redacted 2048 bytes sha256:ab12]",
	//   "transaction_id": "tx-1"
	// }
	//
	// 3. Response body (HTTP 200), error_code 3011, error_message "card not detected":
	// {
	//   "data": null,
	//   "error_code": 3011,
	//   "error_message": "card not detected"
	// }
	//
	// 4. Tenant: acme-bank
	//    Time (UTC): 2025-06-01T10:30:00.000Z
	//
	// Reference
	//    X-Request-Id: 5f0c2a
	//    Task: kyc-42-front (type verify:id_front, queue default), 1 attempt(s)
	//    Dead-letter record: 01JWNEW9N0B4TMYECYS5GXFY0V
	//    transaction_id: tx-1, client_transaction_id: (none), request_id: (none)
	//    Class / category: permanent / identity_verification
	//    Resolution: Re-capture with better lighting and the ID filling most of the frame
	//    Attempt at 2025-06-01T10:30:00.000Z: HTTP 200, error_code 3011, class permanent, X-Request-Id 5f0c2a
}

func ExampleParseFilter() {
	now := time.Date(2025, 6, 10, 12, 0, 0, 0, time.UTC)
	q, _ := url.ParseQuery("tenant=acme-bank&code=3011&since=7d")
	f, err := deadletter.ParseFilter(q, now)
	fmt.Println(f.Tenant, f.Code, f.Since.Format(time.RFC3339), err)

	_, err = deadletter.ParseFilter(url.Values{"since": {"last tuesday"}}, now)
	fmt.Println(err)
	// Output:
	// acme-bank 3011 2025-06-03T12:00:00Z <nil>
	// deadletter: since "last tuesday": want an RFC3339 time (2006-01-02T15:04:05Z) or an age like 90m, 24h or 7d
}
