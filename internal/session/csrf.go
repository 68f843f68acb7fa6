package session

import (
	"crypto/subtle"
	"net/http"
	"time"

	"github.com/sesameauth/sesame/internal/secret"
)

// CSRF cookie names; see the session cookie for the prefix rule.
const (
	csrfCookieName       = "sesame_csrf"
	secureCSRFCookieName = "__Host-sesame_csrf"
)

// csrfLifetime bounds the CSRF cookie; a form older than this must be
// reloaded.
const csrfLifetime = 12 * time.Hour

func (m *Manager) csrfCookieName() string {
	if m.secure {
		return secureCSRFCookieName
	}
	return csrfCookieName
}

// CSRFToken returns the hidden csrf_token for a form bound to binding (for
// example "login:"+flowHandle or "account:"+sessionID). The token is a hash
// of a random per-browser HttpOnly cookie and the binding: a cross-site
// page can neither read the cookie nor compute the token, and a token
// copied from one flow does not validate for another. The cookie is set on
// the response when the browser has none yet; call this once per request.
func (m *Manager) CSRFToken(w http.ResponseWriter, r *http.Request, binding string) (string, error) {
	v := ""
	if c, err := r.Cookie(m.csrfCookieName()); err == nil && len(c.Value) >= 32 {
		v = c.Value
	} else {
		nv, err := secret.RandomToken(tokenBytes)
		if err != nil {
			return "", err
		}
		v = nv
		http.SetCookie(w, m.cookie(m.csrfCookieName(), v, m.now().Add(csrfLifetime)))
		// Later calls in the same request see the new value.
		r.AddCookie(&http.Cookie{Name: m.csrfCookieName(), Value: v})
	}
	return csrfToken(v, binding), nil
}

// CheckCSRF reports whether token is the CSRF token of binding for this
// browser, comparing in constant time.
func (m *Manager) CheckCSRF(r *http.Request, binding, token string) bool {
	c, err := r.Cookie(m.csrfCookieName())
	if err != nil || len(c.Value) < 32 || token == "" {
		return false
	}
	want := csrfToken(c.Value, binding)
	return subtle.ConstantTimeCompare([]byte(want), []byte(token)) == 1
}

func csrfToken(cookie, binding string) string {
	return secret.HashToken("csrf\x00" + cookie + "\x00" + binding)
}
