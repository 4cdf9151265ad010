package dashboard

import (
	"crypto/hmac"
	"net/http"
	"strings"
)

// CSRF tokens. A token is HMAC(session key, binding): the binding is the
// session id when the request carries a session, else the value of a random
// CSRF cookie (the login form, and --insecure-no-auth). A page embeds the
// token in its forms (field csrf_token) and in a <meta name="csrf-token">
// for scripts, which send it as the X-CSRF-Token header.
const (
	csrfField  = "csrf_token"
	csrfHeader = "X-CSRF-Token"
)

// csrfBinding returns the value the request's CSRF token is bound to,
// setting a CSRF cookie first when the request has neither a session nor
// one.
func (d *Dashboard) csrfBinding(w http.ResponseWriter, r *http.Request, p *principal) string {
	if p != nil && p.session != nil {
		return "session:" + p.session.ID
	}
	if c, err := r.Cookie(csrfCookieName); err == nil && len(c.Value) >= 16 {
		return "cookie:" + c.Value
	}
	v := randomID(16)
	http.SetCookie(w, &http.Cookie{
		Name: csrfCookieName, Value: v, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secureRequest(r),
	})
	// Later reads in this request see the new cookie.
	r.AddCookie(&http.Cookie{Name: csrfCookieName, Value: v})
	return "cookie:" + v
}

// csrfToken returns the token to embed in the page answering r.
func (d *Dashboard) csrfToken(w http.ResponseWriter, r *http.Request, p *principal) string {
	return b64.EncodeToString(d.mac("csrf", d.csrfBinding(w, r, p)))
}

// csrfNeeded reports whether a state-changing request by p must carry a
// CSRF token: browsers attach cookies (and nothing else we accept) on their
// own, so requests authenticated by a bearer token or basic credentials
// are exempt.
func csrfNeeded(p *principal) bool {
	return p == nil || p.method == methodSession || p.method == methodNone
}

// checkCSRF reports whether r carries the CSRF token of its binding, in the
// X-CSRF-Token header or the csrf_token form field.
func (d *Dashboard) checkCSRF(r *http.Request, p *principal) bool {
	got := r.Header.Get(csrfHeader)
	if got == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		got = r.PostFormValue(csrfField)
	}
	if got == "" {
		return false
	}
	var binding string
	switch {
	case p != nil && p.session != nil:
		binding = "session:" + p.session.ID
	default:
		c, err := r.Cookie(csrfCookieName)
		if err != nil || len(c.Value) < 16 {
			return false
		}
		binding = "cookie:" + c.Value
	}
	want := b64.EncodeToString(d.mac("csrf", binding))
	return hmac.Equal([]byte(got), []byte(want))
}
