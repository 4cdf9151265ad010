package reliability

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
)

// recorder is an http.RoundTripper that notes, for each Vlens call carrying
// a client_transaction_id, the X-Request-Id it was sent with. The fake
// records the fault it injected under the same X-Request-Id, so the two
// together say which faults hit which task.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	ids  map[string][]string // client_transaction_id → X-Request-Ids in send order
}

func newRecorder(next http.RoundTripper) *recorder {
	return &recorder{next: next, ids: map[string][]string{}}
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if key := clientTransactionID(req); key != "" {
		r.mu.Lock()
		r.ids[key] = append(r.ids[key], req.Header.Get("X-Request-Id"))
		r.mu.Unlock()
	}
	return r.next.RoundTrip(req)
}

// byKey returns a copy of the recorded request ids.
func (r *recorder) byKey() map[string][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string][]string, len(r.ids))
	for k, v := range r.ids {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// clientTransactionID reads the request body's client_transaction_id from a
// copy of the body (GetBody), leaving the request untouched.
func clientTransactionID(req *http.Request) string {
	if req.GetBody == nil {
		return ""
	}
	body, err := req.GetBody()
	if err != nil {
		return ""
	}
	defer body.Close()
	b, err := io.ReadAll(body)
	if err != nil {
		return ""
	}
	var v struct {
		CTID string `json:"client_transaction_id"`
	}
	if json.Unmarshal(b, &v) != nil {
		return ""
	}
	return v.CTID
}
