package deadletter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Ticket returns the text to send to Vlens support (support@vlenseg.com) for
// rec. It holds the four things the Vlens errors page asks for: (1) the
// endpoint URL and method, (2) the request body (already redacted; secret
// fields are blanked again here), (3) the full response body with error_code
// and error_message, (4) the tenant name and the UTC timestamp. It then adds
// the X-Request-Id of every attempt, the task id and the verdict
// (class / category / resolution), and the trace id when the task was traced.
// The task payload is never part of it.
func Ticket(rec *Record) string {
	// Records written before the store redacted free text get the same
	// treatment here.
	cp := *rec
	cp.ErrorDescriptions = append([]string(nil), rec.ErrorDescriptions...)
	redactText(&cp)
	rec = &cp
	var b strings.Builder
	line := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }

	line("Vlens support ticket")
	line("")
	line("1. Endpoint: %s %s", orNone(rec.Endpoint.Method), orNone(rec.Endpoint.URL))
	if rec.Step != "" {
		line("   Step %q of a %s task; the other steps of its transaction succeeded or did not run.", rec.Step, rec.Type)
	}
	line("")
	line("2. Request body (images and personal data redacted):")
	line("%s", indentBody(rec.Request))
	line("")
	line("3. Response body (HTTP %s), error_code %d, error_message %q:", httpStatus(rec.HTTPStatus), rec.ErrorCode, rec.ErrorMessage)
	line("%s", indentBody(rec.Response))
	if len(rec.ErrorDescriptions) > 0 {
		line("   error_descriptions: %s", strings.Join(rec.ErrorDescriptions, "; "))
	}
	line("")
	line("4. Tenant: %s", orNone(rec.Tenant))
	line("   Time (UTC): %s", utc(rec.FailedAt))
	if !rec.FirstAttemptAt.IsZero() && !rec.FirstAttemptAt.Equal(rec.FailedAt) {
		line("   First attempt (UTC): %s", utc(rec.FirstAttemptAt))
	}
	line("")
	line("Reference")
	line("   X-Request-Id: %s", orNone(strings.Join(requestIDs(rec), ", ")))
	line("   Task: %s (type %s, queue %s), %d attempt(s)", orNone(rec.TaskID), orNone(rec.Type), orNone(rec.Queue), rec.Attempts)
	line("   Dead-letter record: %s", orNone(rec.ID))
	if rec.TraceID != "" {
		line("   Trace: %s", rec.TraceID)
	}
	if rec.TransactionID != "" || rec.ClientTransactionID != "" || rec.RequestID != "" {
		line("   transaction_id: %s, client_transaction_id: %s, request_id: %s",
			orNone(rec.TransactionID), orNone(rec.ClientTransactionID), orNone(rec.RequestID))
	}
	verdict := fmt.Sprintf("%s / %s", orNone(rec.Class), orNone(rec.Category))
	if rec.RetriesExhausted {
		verdict += " (retries exhausted)"
	}
	line("   Class / category: %s", verdict)
	if rec.Resolution != "" {
		line("   Resolution: %s", rec.Resolution)
	}
	for _, h := range rec.History {
		line("   Attempt at %s: HTTP %s, error_code %d, class %s, X-Request-Id %s",
			utc(h.At), httpStatus(h.HTTPStatus), h.ErrorCode, orNone(h.Class), orNone(h.XRequestID))
	}
	return b.String()
}

// requestIDs returns the distinct X-Request-Ids of the attempts, in order.
func requestIDs(rec *Record) []string {
	var ids []string
	seen := map[string]bool{}
	for _, h := range rec.History {
		if h.XRequestID != "" && !seen[h.XRequestID] {
			seen[h.XRequestID] = true
			ids = append(ids, h.XRequestID)
		}
	}
	return ids
}

// indentBody renders a stored body: JSON indented (secrets blanked), a JSON
// string (a non-JSON body as received) as its raw text.
func indentBody(b json.RawMessage) string {
	if len(b) == 0 || string(b) == "null" {
		return "   (none)"
	}
	var s string
	if b[0] == '"' && json.Unmarshal(b, &s) == nil {
		return s
	}
	var out bytes.Buffer
	if err := json.Indent(&out, redactSecrets(b), "", "  "); err != nil {
		return string(b)
	}
	return out.String()
}

func utc(t time.Time) string {
	if t.IsZero() {
		return "(unknown)"
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

func httpStatus(code int) string {
	if code == 0 {
		return "none: no response"
	}
	return fmt.Sprint(code)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
