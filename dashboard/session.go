package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Cookie names.
const (
	sessionCookieName = "vlensq_session"
	csrfCookieName    = "vlensq_csrf"
)

// Login methods recorded in a session.
const (
	loginToken    = "token"
	loginPassword = "password"
)

// session is the signed content of the session cookie.
type session struct {
	// ID is random; logout revokes it and CSRF tokens are bound to it.
	ID string `json:"id"`
	// User is the user name, or "token" for a bearer-token login.
	User string `json:"u"`
	// Method is loginToken or loginPassword.
	Method string `json:"m"`
	// Cred fingerprints the credential used to sign in, so that a changed
	// token or password (or a removed user) ends the session.
	Cred string `json:"c"`
	// Exp is the expiry, unix seconds.
	Exp int64 `json:"exp"`
}

// Reasons a session cookie is refused.
var (
	errSessionMalformed = errors.New("malformed session cookie")
	errSessionSignature = errors.New("bad session signature")
	errSessionExpired   = errors.New("session expired")
	errSessionStale     = errors.New("session credential no longer valid")
	errSessionRevoked   = errors.New("session signed out")
)

// mac is HMAC-SHA256 under the session key over the parts joined by NUL
// bytes; the purpose string in parts keeps the uses of the key apart.
func (d *Dashboard) mac(parts ...string) []byte {
	h := hmac.New(sha256.New, d.sessionKey)
	h.Write([]byte(strings.Join(parts, "\x00")))
	return h.Sum(nil)
}

var b64 = base64.RawURLEncoding

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return b64.EncodeToString(b)
}

// credential returns the fingerprint of the credential of a login, or false
// when the credential is no longer configured.
func (d *Dashboard) credential(method, user string) (string, bool) {
	switch method {
	case loginToken:
		if d.cfg.Token == "" {
			return "", false
		}
		return b64.EncodeToString(d.mac("cred", loginToken, d.cfg.Token)[:12]), true
	case loginPassword:
		hash, ok := d.cfg.Users[user]
		if !ok {
			return "", false
		}
		return b64.EncodeToString(d.mac("cred", loginPassword, user, hash)[:12]), true
	}
	return "", false
}

// newSession returns the cookie value of a new session.
func (d *Dashboard) newSession(method, user string) (*session, string, error) {
	cred, ok := d.credential(method, user)
	if !ok {
		return nil, "", fmt.Errorf("dashboard: no credential for %s login", method)
	}
	s := &session{
		ID: randomID(16), User: user, Method: method, Cred: cred,
		Exp: d.cfg.Now().Add(d.cfg.SessionTTL).Unix(),
	}
	body, err := json.Marshal(s)
	if err != nil {
		return nil, "", err
	}
	payload := b64.EncodeToString(body)
	return s, payload + "." + b64.EncodeToString(d.mac("session", payload)), nil
}

// parseSession checks a cookie value: signature, expiry and credential. It
// does not check revocation (see checkSession).
func (d *Dashboard) parseSession(value string) (*session, error) {
	payload, sig, ok := strings.Cut(value, ".")
	if !ok {
		return nil, errSessionMalformed
	}
	got, err := b64.DecodeString(sig)
	if err != nil {
		return nil, errSessionMalformed
	}
	if !hmac.Equal(got, d.mac("session", payload)) {
		return nil, errSessionSignature
	}
	body, err := b64.DecodeString(payload)
	if err != nil {
		return nil, errSessionMalformed
	}
	s := new(session)
	if err := json.Unmarshal(body, s); err != nil || s.ID == "" {
		return nil, errSessionMalformed
	}
	if d.cfg.Now().Unix() >= s.Exp {
		return nil, errSessionExpired
	}
	cred, ok := d.credential(s.Method, s.User)
	if !ok || !hmac.Equal([]byte(cred), []byte(s.Cred)) {
		return nil, errSessionStale
	}
	return s, nil
}

// checkSession parses the cookie value and checks that the session was not
// revoked at logout. A Redis failure refuses the session (fail closed).
func (d *Dashboard) checkSession(ctx context.Context, value string) (*session, error) {
	s, err := d.parseSession(value)
	if err != nil {
		return nil, err
	}
	n, err := d.rdb.Exists(ctx, d.revokedKey(s.ID)).Result()
	if err != nil {
		return nil, fmt.Errorf("check session revocation: %w", err)
	}
	if n > 0 {
		return nil, errSessionRevoked
	}
	return s, nil
}

func (d *Dashboard) revokedKey(id string) string { return "vlensq:dashboard:revoked:" + id }

// revoke marks a session signed out until it would have expired anyway.
func (d *Dashboard) revoke(ctx context.Context, s *session) error {
	ttl := time.Unix(s.Exp, 0).Sub(d.cfg.Now())
	if ttl <= 0 {
		return nil
	}
	return d.rdb.Set(ctx, d.revokedKey(s.ID), "1", ttl+time.Minute).Err()
}

// secureRequest reports whether the browser reached us over HTTPS (directly
// or through a TLS-terminating proxy), so cookies get the Secure flag.
func secureRequest(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// setSessionCookie sets the session cookie: HttpOnly, SameSite=Strict,
// Secure over HTTPS, expiring with the session.
func (d *Dashboard) setSessionCookie(w http.ResponseWriter, r *http.Request, value string, s *session) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookieName, Value: value, Path: "/",
		Expires: time.Unix(s.Exp, 0), MaxAge: max(1, int(s.Exp-d.cfg.Now().Unix())),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secureRequest(r),
	})
}

func clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secureRequest(r),
	})
}
