package dashboard

import (
	"net/http"
	"strings"
)

// pageCSP is the Content-Security-Policy of the dashboard's own pages: no
// inline script or style, nothing from other origins, no framing, forms
// post only here.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// monitoringCSP returns the policy for /monitoring/. Asynqmon's index page
// has inline scripts (allowed by their hashes, computed from the page
// itself) and its UI library injects inline styles; it loads its fonts from
// Google Fonts.
func monitoringCSP(scriptHashes []string) string {
	script := "script-src 'self'"
	for _, h := range scriptHashes {
		script += " '" + h + "'"
	}
	return "default-src 'self'; " + script + "; " +
		"style-src 'self' 'unsafe-inline' https://fonts.googleapis.com; " +
		"font-src 'self' data: https://fonts.gstatic.com; img-src 'self' data:; connect-src 'self'; " +
		"form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
}

// securityHeaders sets the security headers of every response.
func (d *Dashboard) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		monitoring := strings.HasPrefix(r.URL.Path, monitoringRoot+"/")
		if monitoring {
			h.Set("Content-Security-Policy", d.monitoringCSP)
		} else {
			h.Set("Content-Security-Policy", pageCSP)
		}
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		// Records and payloads must not linger in shared or browser caches;
		// static assets (ours and Asynqmon's bundle) may.
		if !strings.HasPrefix(r.URL.Path, "/static/") && (!monitoring || strings.HasPrefix(r.URL.Path, monitoringRoot+"/api/")) {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}
