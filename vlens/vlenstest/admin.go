package vlenstest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
)

// AdminPrefix starts the sandbox's own routes, which Handler serves beside
// the Vlens API.
const AdminPrefix = "/_sandbox/"

// Handler returns the fake plus its admin routes (JSON, no auth: the sandbox
// is for local use):
//
//	GET  /_sandbox/injections  → [Injection...]
//	GET  /_sandbox/requests    → [Request...]
//	GET  /_sandbox/faults      → {"faults": SPEC}
//	PUT  /_sandbox/faults      body: a fault spec → {"faults": SPEC}; 400 {"error"} when bad
//	POST /_sandbox/users       {"tenant","user"} → {"access_token","refresh_token"} (see UserTokens)
//	POST /_sandbox/expire      → every access token issued so far is expired
//	POST /_sandbox/revoke      → every refresh token issued so far is revoked
//
// Every other path is the Vlens API (ServeHTTP).
func (f *Fake) Handler() http.Handler {
	admin := http.NewServeMux()
	admin.HandleFunc("GET /_sandbox/injections", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, f.Injections())
	})
	admin.HandleFunc("GET /_sandbox/requests", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, f.Requests())
	})
	admin.HandleFunc("GET /_sandbox/faults", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"faults": f.CurrentFaults().String()})
	})
	admin.HandleFunc("PUT /_sandbox/faults", func(w http.ResponseWriter, r *http.Request) {
		spec, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			writeError(w, http.StatusBadRequest, "could not read the fault spec")
			return
		}
		fs, err := ParseFaults(string(spec))
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		f.SetFaults(fs)
		writeJSON(w, http.StatusOK, map[string]string{"faults": fs.String()})
	})
	admin.HandleFunc("POST /_sandbox/users", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Tenant string `json:"tenant"`
			User   string `json:"user"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&in); err != nil {
			writeError(w, http.StatusBadRequest, `body must be {"tenant": "...", "user": "..."}`)
			return
		}
		if in.Tenant == "" || strings.TrimSpace(in.User) == "" {
			writeError(w, http.StatusBadRequest, "tenant and user are required")
			return
		}
		access, refresh, err := f.userTokens(in.Tenant, in.User)
		if errors.Is(err, ErrUnknownTenant) {
			writeError(w, http.StatusNotFound, err.Error())
			return
		} else if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"access_token": access, "refresh_token": refresh})
	})
	admin.HandleFunc("POST /_sandbox/expire", func(w http.ResponseWriter, _ *http.Request) {
		f.ExpireAccessTokens()
		writeJSON(w, http.StatusOK, map[string]bool{"expired": true})
	})
	admin.HandleFunc("POST /_sandbox/revoke", func(w http.ResponseWriter, _ *http.Request) {
		f.RevokeRefreshTokens()
		writeJSON(w, http.StatusOK, map[string]bool{"revoked": true})
	})
	admin.HandleFunc(AdminPrefix, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no sandbox route "+r.Method+" "+r.URL.Path)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, AdminPrefix) {
			admin.ServeHTTP(w, r)
			return
		}
		f.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
