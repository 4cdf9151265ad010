package dashboard

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"

	"github.com/hibiken/asynqmon"

	"github.com/vlensq/vlensq/tasks"
	"github.com/vlensq/vlensq/vlens"
)

// monitoringRoot is where Asynqmon is mounted.
const monitoringRoot = "/monitoring"

// redactingFormatter shows task payloads and results with images, secrets
// and personal data replaced by vlens.Redact markers (tasks.FormatPayload);
// an empty result stays empty.
func redactingFormatter(typ string, b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return tasks.FormatPayload(typ, b)
}

// newMonitoring returns Asynqmon configured for the dashboard, and the
// Content-Security-Policy that lets its page run.
func newMonitoring(cfg Config) (*asynqmon.HTTPHandler, string) {
	h := asynqmon.New(asynqmon.Options{
		RootPath:         monitoringRoot,
		RedisConnOpt:     cfg.Redis.ConnOpt,
		PayloadFormatter: asynqmon.PayloadFormatterFunc(redactingFormatter),
		ResultFormatter:  asynqmon.ResultFormatterFunc(redactingFormatter),
		ReadOnly:         cfg.ReadOnly,
	})
	return h, monitoringCSP(inlineScriptHashes(h))
}

var inlineScript = regexp.MustCompile(`(?s)<script>(.*?)</script>`)

// inlineScriptHashes renders Asynqmon's index page (no I/O: it is a
// template over embedded files) and returns the CSP hash of each inline
// script on it.
func inlineScriptHashes(h http.Handler) []string {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, monitoringRoot+"/", nil))
	var hashes []string
	for _, m := range inlineScript.FindAllSubmatch(rec.Body.Bytes(), -1) {
		sum := sha256.Sum256(m[1])
		hashes = append(hashes, "sha256-"+base64.StdEncoding.EncodeToString(sum[:]))
	}
	return hashes
}

// redactErrorMessages wraps Asynqmon's API: the error_message of tasks
// (asynq's LastErr, which Asynqmon cannot format) goes out redacted like the
// payloads, in case a handler put a secret or personal data in an error.
func redactErrorMessages(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		rec := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		body := rec.body.Bytes()
		if bytes.Contains(body, []byte(`"error_message"`)) {
			body = redactErrorFields(body)
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.status)
		_, _ = w.Write(body)
	})
}

// redactErrorFields rewrites every "error_message" string in a JSON body.
// A body that is not JSON is returned unchanged (Asynqmon's plain-text
// errors carry no task data).
func redactErrorFields(body []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return body
	}
	walkErrorFields(v)
	out, err := json.Marshal(v)
	if err != nil {
		return body
	}
	return append(out, '\n')
}

func walkErrorFields(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if s, ok := val.(string); ok && k == "error_message" {
				x[k] = redactText(s)
				continue
			}
			walkErrorFields(val)
		}
	case []any:
		for _, e := range x {
			walkErrorFields(e)
		}
	}
}

// redactText applies vlens.Redact to free text: long base64 runs and JWTs
// become markers, national ID numbers, e-mail addresses and mobile numbers
// inside the text are replaced.
func redactText(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		return "[redacted]"
	}
	var out string
	if err := json.Unmarshal(vlens.Redact(b), &out); err != nil {
		return "[redacted]"
	}
	return out
}

// bufferedResponse collects a response to rewrite it.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
	wrote  bool
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(code int) {
	if !b.wrote {
		b.status, b.wrote = code, true
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.wrote = true
	return b.body.Write(p)
}
