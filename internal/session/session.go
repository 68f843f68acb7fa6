package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

// Cookie names. The __Host- prefix makes the browser refuse the cookie
// unless it is Secure, host-only and Path=/, so a sibling subdomain cannot
// plant a session (RFC 6265bis §4.1.3.2). It requires https, so plain-http
// development issuers get the unprefixed names.
const (
	cookieName       = "sesame_session"
	secureCookieName = "__Host-sesame_session"
)

// tokenBytes is the entropy of a session cookie value (256 bits).
const tokenBytes = 32

// ErrNoSession means the request carries no usable login session (no
// cookie, unknown, revoked or expired).
var ErrNoSession = errors.New("session: no valid login session")

// Manager issues, reads and ends login sessions.
//
// A session has two limits of its own (issue 13 item 20): an absolute
// lifetime from the sign-in (CreatedAt + lifetime) and an idle timeout.
// The stored ExpiresAt is the idle deadline: each use of a session that
// has spent more than half of its idle window moves it forward (one write
// per half window at most), never past the absolute end.
type Manager struct {
	store    storage.SessionStore
	secure   bool
	lifetime time.Duration
	idle     time.Duration // 0: no idle timeout, ExpiresAt is the absolute end
	now      func() time.Time
}

// New returns a Manager. issuer decides the cookie flavour (https →
// __Host- prefix and Secure); lifetime is how long a session lasts at most
// after the password check (0 → 24h); now is the clock (nil → time.Now).
func New(store storage.SessionStore, issuer string, lifetime time.Duration, now func() time.Time) *Manager {
	if lifetime <= 0 {
		lifetime = 24 * time.Hour
	}
	if now == nil {
		now = time.Now
	}
	secure := false
	if u, err := url.Parse(issuer); err == nil && strings.EqualFold(u.Scheme, "https") {
		secure = true
	}
	return &Manager{store: store, secure: secure, lifetime: lifetime, now: now}
}

// WithIdleTimeout ends a session that has not been used for d (0 or
// d >= lifetime: no idle timeout). Call it before use.
func (m *Manager) WithIdleTimeout(d time.Duration) *Manager {
	if d > 0 && d < m.lifetime {
		m.idle = d
	}
	return m
}

// Now is the manager's clock, shared with callers so that auth_time and
// session expiry use one notion of time.
func (m *Manager) Now() time.Time { return m.now() }

// Secure reports whether cookies are Secure (the issuer is https).
func (m *Manager) Secure() bool { return m.secure }

// CookieName is the name of the login-session cookie.
func (m *Manager) CookieName() string {
	if m.secure {
		return secureCookieName
	}
	return cookieName
}

// Current returns the login session of the request, or ErrNoSession.
// Other errors are store failures.
func (m *Manager) Current(ctx context.Context, r *http.Request) (storage.LoginSession, error) {
	c, err := r.Cookie(m.CookieName())
	if err != nil || c.Value == "" {
		return storage.LoginSession{}, ErrNoSession
	}
	s, err := m.store.GetSession(ctx, secret.HashToken(c.Value))
	if errors.Is(err, storage.ErrNotFound) {
		return storage.LoginSession{}, ErrNoSession
	}
	if err != nil {
		return storage.LoginSession{}, fmt.Errorf("session: load: %w", err)
	}
	now := m.now()
	end := s.CreatedAt.Add(m.lifetime)
	if s.RevokedAt != nil || !now.Before(s.ExpiresAt) || !now.Before(end) {
		return storage.LoginSession{}, ErrNoSession
	}
	if m.idle > 0 && s.ExpiresAt.Sub(now) < m.idle/2 {
		next := now.Add(m.idle)
		if next.After(end) {
			next = end
		}
		if next.After(s.ExpiresAt) {
			err := m.store.ExtendSession(ctx, s.ID, next)
			if errors.Is(err, storage.ErrNotFound) {
				return storage.LoginSession{}, ErrNoSession // revoked meanwhile
			}
			if err != nil {
				return storage.LoginSession{}, fmt.Errorf("session: extend: %w", err)
			}
			s.ExpiresAt = next
		}
	}
	return s, nil
}

// Login starts a new login session for userID after a successful password
// check and sets its cookie: with remember ("remember me" on the login
// form) a persistent cookie that lasts until the session's absolute end,
// otherwise a browser-session cookie the browser drops when it closes.
// Any session the browser held before is revoked: the id always changes at
// login, so a session id planted before authentication is worthless
// afterwards (session fixation).
func (m *Manager) Login(ctx context.Context, w http.ResponseWriter, r *http.Request, userID string, amr []string, remember bool) (storage.LoginSession, error) {
	now := m.now()
	if c, err := r.Cookie(m.CookieName()); err == nil && c.Value != "" {
		if err := m.store.RevokeSession(ctx, secret.HashToken(c.Value), now); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return storage.LoginSession{}, fmt.Errorf("session: revoke previous: %w", err)
		}
	}
	token, err := secret.RandomToken(tokenBytes)
	if err != nil {
		return storage.LoginSession{}, err
	}
	s := storage.LoginSession{
		ID:        secret.HashToken(token),
		UserID:    userID,
		AuthTime:  now,
		AMR:       amr,
		CreatedAt: now,
		ExpiresAt: now.Add(m.lifetime),
		UserAgent: userAgent(r),
	}
	if m.idle > 0 {
		s.ExpiresAt = now.Add(m.idle)
	}
	if err := m.store.CreateSession(ctx, s); err != nil {
		return storage.LoginSession{}, fmt.Errorf("session: create: %w", err)
	}
	var persist time.Time
	if remember {
		persist = now.Add(m.lifetime)
	}
	http.SetCookie(w, m.cookie(m.CookieName(), token, persist))
	return s, nil
}

// Logout revokes the request's login session (if any) and clears the
// cookie. It returns the session that was ended, or ErrNoSession.
func (m *Manager) Logout(ctx context.Context, w http.ResponseWriter, r *http.Request) (storage.LoginSession, error) {
	s, err := m.Current(ctx, r)
	m.clear(w, m.CookieName())
	if err != nil {
		return storage.LoginSession{}, err
	}
	if err := m.store.RevokeSession(ctx, s.ID, m.now()); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return storage.LoginSession{}, fmt.Errorf("session: revoke: %w", err)
	}
	return s, nil
}

// SID is the public id of a login session, the OIDC `sid` claim. It is
// derived from, but not equal to, the stored id so that nothing handed to a
// relying party is a storage key.
func SID(s storage.LoginSession) string {
	if s.ID == "" {
		return ""
	}
	return secret.HashToken("sid:" + s.ID)
}

// cookie is the session cookie; a zero expires makes it a browser-session
// cookie (no Expires, no Max-Age).
func (m *Manager) cookie(name, value string, expires time.Time) *http.Cookie {
	c := &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		Secure:   m.secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
	if !expires.IsZero() {
		c.Expires, c.MaxAge = expires, int(expires.Sub(m.now()).Seconds())
	}
	return c
}

func (m *Manager) clear(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: "", Path: "/", MaxAge: -1,
		Secure: m.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

// maxUserAgent bounds the User-Agent kept with a session (a stranger sends it).
const maxUserAgent = 200

// userAgent is the request's User-Agent, truncated to valid UTF-8 of at
// most maxUserAgent bytes, with control characters dropped.
func userAgent(r *http.Request) string {
	ua := strings.Map(func(c rune) rune {
		if c < 0x20 || c == 0x7f {
			return -1
		}
		return c
	}, strings.ToValidUTF8(r.UserAgent(), ""))
	for len(ua) > maxUserAgent {
		_, n := utf8.DecodeLastRuneInString(ua)
		ua = ua[:len(ua)-n]
	}
	return ua
}
