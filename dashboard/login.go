package dashboard

import (
	"net/http"
	"strings"
)

// loginData is the data of the login page.
type loginData struct {
	pageBase
	Next string
	// WithToken and WithUsers show the matching parts of the form.
	WithToken, WithUsers bool
	Error                string
	Username             string
}

// loginPage shows the sign-in form.
func (d *Dashboard) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if d.cfg.InsecureNoAuth {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	d.renderLogin(w, r, http.StatusOK, next, "", "")
}

func (d *Dashboard) renderLogin(w http.ResponseWriter, r *http.Request, status int, next, msg, user string) {
	b := d.base(w, r, "Sign in")
	b.Nav, b.User, b.SignedIn = "", "", false
	d.render(w, status, "login", loginData{
		pageBase: b, Next: next, WithToken: d.cfg.Token != "", WithUsers: len(d.cfg.Users) > 0,
		Error: msg, Username: user,
	})
}

// login checks the form (token, or user and password) and starts a
// session. The form carries a CSRF token bound to the CSRF cookie, so
// another site cannot sign a browser in to an account of its choosing.
func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	next := safeNext(r.PostFormValue("next"))
	if d.cfg.InsecureNoAuth {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	if !d.checkCSRF(r, nil) {
		d.renderLogin(w, r, http.StatusForbidden, next, "The form expired. Please sign in again.", "")
		return
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	user := strings.TrimSpace(r.PostFormValue("username"))
	pass := r.PostFormValue("password")
	ip, now := clientIP(r), d.cfg.Now()
	limitUser := user
	if token != "" {
		limitUser = "" // a token attempt names no user
	}
	if wait := d.logins.blocked(ip, limitUser, now); wait > 0 {
		// Checked before the credentials: a guess made while blocked is not
		// even tried, so blocking cannot be used to test passwords.
		d.authFailures.WithLabelValues("login_rate_limited").Inc()
		d.log.Warn().Str("remote", r.RemoteAddr).Dur("retry_after", wait).Msg("dashboard: sign-in refused, too many failures")
		w.Header().Set("Retry-After", retryAfterSeconds(wait))
		d.renderLogin(w, r, http.StatusTooManyRequests, next,
			"Too many failed sign-ins from this address or for this user: try again in "+retryAfterSeconds(wait)+" seconds.", user)
		return
	}
	var method, who string
	switch {
	case token != "" && d.tokenOK(token):
		method, who = loginToken, "token"
	case token == "" && user != "" && d.userOK(user, pass):
		method, who = loginPassword, user
	default:
		d.logins.fail(ip, limitUser, now)
		d.authFailures.WithLabelValues("login").Inc()
		d.log.Warn().Str("remote", r.RemoteAddr).Bool("with_token", token != "").Msg("dashboard: sign-in failed")
		d.renderLogin(w, r, http.StatusUnauthorized, next, "Sign-in failed: check the token, or the user name and password.", user)
		return
	}
	if method == loginPassword {
		d.logins.succeeded(user)
	}
	s, value, err := d.newSession(method, who)
	if err != nil {
		d.log.Error().Err(err).Msg("dashboard: start session")
		d.renderLogin(w, r, http.StatusInternalServerError, next, "Could not start a session.", user)
		return
	}
	d.setSessionCookie(w, r, value, s)
	d.log.Info().Str("user", who).Str("method", method).Str("remote", r.RemoteAddr).Msg("dashboard: signed in")
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout revokes the session and clears its cookie.
func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	if csrfNeeded(p) && !d.checkCSRF(r, p) {
		d.renderError(w, r, http.StatusForbidden, "Missing or bad CSRF token: reload the page and try again.", "/dlq/")
		return
	}
	if p.session != nil {
		if err := d.revoke(r.Context(), p.session); err != nil {
			d.log.Error().Err(err).Msg("dashboard: revoke session")
			d.renderError(w, r, http.StatusServiceUnavailable, "Could not sign out (Redis unreachable); the session stays valid. Try again.", "/dlq/")
			return
		}
		d.log.Info().Str("user", p.user).Msg("dashboard: signed out")
	}
	clearCookie(w, r, sessionCookieName)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
