package session_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/internal/session"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/sqlite"
)

func openStore(t *testing.T) storage.Store {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func cookieOf(t *testing.T, rec *httptest.ResponseRecorder, name string) *http.Cookie {
	t.Helper()
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no cookie %s in %v", name, rec.Result().Cookies())
	return nil
}

func TestCookieFlavourFollowsIssuerScheme(t *testing.T) {
	store := openStore(t)
	for _, tc := range []struct {
		issuer, name string
		secure       bool
	}{
		{"https://id.example.com", "__Host-sesame_session", true},
		{"http://localhost:8080", "sesame_session", false},
	} {
		t.Run(tc.issuer, func(t *testing.T) {
			m := session.New(store, tc.issuer, time.Hour, nil)
			rec := httptest.NewRecorder()
			if _, err := m.Login(context.Background(), rec, httptest.NewRequest("POST", "/login", nil), "u1", []string{"pwd"}, true); err != nil {
				t.Fatal(err)
			}
			c := cookieOf(t, rec, tc.name)
			if c.Secure != tc.secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
				t.Errorf("cookie %+v", c)
			}
			if len(c.Value) < 43 {
				t.Errorf("cookie value has %d chars, want ≥ 256 bits", len(c.Value))
			}
			// Only the hash of the cookie is stored.
			if _, err := store.GetSession(context.Background(), c.Value); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("raw cookie value found in the store: %v", err)
			}
			if _, err := store.GetSession(context.Background(), secret.HashToken(c.Value)); err != nil {
				t.Errorf("hashed cookie value not in the store: %v", err)
			}
		})
	}
}

func TestLoginRotatesAndLogoutRevokes(t *testing.T) {
	store := openStore(t)
	now := time.Now()
	m := session.New(store, "http://localhost", time.Hour, func() time.Time { return now })
	ctx := context.Background()
	rec := httptest.NewRecorder()
	s1, err := m.Login(ctx, rec, httptest.NewRequest("POST", "/", nil), "u1", []string{"pwd"}, true)
	if err != nil {
		t.Fatal(err)
	}
	c1 := cookieOf(t, rec, "sesame_session")
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(c1)
	got, err := m.Current(ctx, req)
	if err != nil || got.ID != s1.ID || got.UserID != "u1" {
		t.Fatalf("Current = %+v, %v", got, err)
	}
	if session.SID(got) == "" || session.SID(got) == got.ID {
		t.Error("sid must be derived from, not equal to, the stored id")
	}
	// A second login from the same browser replaces the session.
	rec2 := httptest.NewRecorder()
	s2, err := m.Login(ctx, rec2, req, "u1", []string{"pwd"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if s2.ID == s1.ID {
		t.Fatal("session id not rotated")
	}
	if _, err := m.Current(ctx, req); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("old cookie after re-login: %v, want ErrNoSession", err)
	}
	req2 := httptest.NewRequest("GET", "/", nil)
	req2.AddCookie(cookieOf(t, rec2, "sesame_session"))
	if _, err := m.Logout(ctx, httptest.NewRecorder(), req2); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Current(ctx, req2); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("after logout: %v", err)
	}
	// Expiry.
	rec3 := httptest.NewRecorder()
	if _, err := m.Login(ctx, rec3, httptest.NewRequest("POST", "/", nil), "u1", nil, true); err != nil {
		t.Fatal(err)
	}
	req3 := httptest.NewRequest("GET", "/", nil)
	req3.AddCookie(cookieOf(t, rec3, "sesame_session"))
	now = now.Add(2 * time.Hour)
	if _, err := m.Current(ctx, req3); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("expired session: %v", err)
	}
}

func TestCSRFTokenIsBoundToBrowserAndBinding(t *testing.T) {
	m := session.New(openStore(t), "http://localhost", time.Hour, nil)
	rec := httptest.NewRecorder()
	tok, err := m.CSRFToken(rec, httptest.NewRequest("GET", "/login", nil), "login:abc")
	if err != nil {
		t.Fatal(err)
	}
	c := cookieOf(t, rec, "sesame_csrf")
	req := func(cookie *http.Cookie) *http.Request {
		r := httptest.NewRequest("POST", "/login", nil)
		if cookie != nil {
			r.AddCookie(cookie)
		}
		return r
	}
	tests := []struct {
		name    string
		r       *http.Request
		binding string
		token   string
		want    bool
	}{
		{"same browser and binding", req(c), "login:abc", tok, true},
		{"other binding", req(c), "login:xyz", tok, false},
		{"no cookie", req(nil), "login:abc", tok, false},
		{"other browser", req(&http.Cookie{Name: "sesame_csrf", Value: "x0123456789012345678901234567890123456789"}), "login:abc", tok, false},
		{"empty token", req(c), "login:abc", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := m.CheckCSRF(tc.r, tc.binding, tc.token); got != tc.want {
				t.Errorf("CheckCSRF = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFlowRoundTripAndExpiry(t *testing.T) {
	store := openStore(t)
	ctx := context.Background()
	handle, id, err := session.NewFlowHandle()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	req := session.FlowRequest{Query: "client_id=a", Scopes: []string{"openid"}, LoginHint: "bob"}
	if err := store.CreateFlow(ctx, storage.AuthFlow{ID: id, ClientID: "a", State: session.FlowLogin,
		Request: req.Encode(), CreatedAt: now, ExpiresAt: now.Add(session.FlowLifetime)}); err != nil {
		t.Fatal(err)
	}
	f, got, err := session.LoadFlow(ctx, store, handle, now)
	if err != nil || f.State != session.FlowLogin || got.LoginHint != "bob" || got.Query != req.Query {
		t.Fatalf("LoadFlow = %+v %+v %v", f, got, err)
	}
	if _, _, err := session.LoadFlow(ctx, store, handle, now.Add(session.FlowLifetime+time.Second)); !errors.Is(err, session.ErrFlowNotFound) {
		t.Errorf("expired flow: %v", err)
	}
	if _, _, err := session.LoadFlow(ctx, store, "unknown", now); !errors.Is(err, session.ErrFlowNotFound) {
		t.Errorf("unknown flow: %v", err)
	}
}

// TestLoginKeepsABoundedUserAgent: the User-Agent a stranger sends is kept
// with the session for the account page's list, without control
// characters, valid UTF-8, at most 200 bytes.
func TestLoginKeepsABoundedUserAgent(t *testing.T) {
	store := openStore(t)
	m := session.New(store, "http://localhost", time.Hour, nil)
	ctx := context.Background()
	for _, c := range []struct{ sent, want string }{
		{"Firefox/128.0", "Firefox/128.0"},
		{"Evil\r\nX-Injected: 1\x00\x7f", "EvilX-Injected: 1"},
		{strings.Repeat("ü", 150), strings.Repeat("ü", 100)},
		{"", ""},
	} {
		req := httptest.NewRequest("POST", "/", nil)
		req.Header.Set("User-Agent", c.sent)
		s, err := m.Login(ctx, httptest.NewRecorder(), req, "u1", []string{"pwd"}, false)
		if err != nil {
			t.Fatal(err)
		}
		got, err := store.GetSession(ctx, s.ID)
		if err != nil || got.UserAgent != c.want {
			t.Errorf("User-Agent %q stored as %q (%v), want %q", c.sent, got.UserAgent, err, c.want)
		}
	}
}
