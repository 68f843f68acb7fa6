package security

import (
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/server"
	"github.com/sesameauth/sesame/storage/postgres/pgtest"
)

// TestBrowserSessionLimits (issue 13 item 20): the browser session lived
// as long as a refresh token (30 days) whatever happened. Now it ends
// after SESAME_SESSION_IDLE_TIMEOUT without use and SESAME_SESSION_LIFETIME
// after the sign-in, used or not; "keep me signed in" on the login form
// chooses a persistent cookie, otherwise the browser forgets the session
// when it closes.
func TestBrowserSessionLimits(t *testing.T) {
	const idle, lifetime = time.Hour, 3 * time.Hour
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			cfg := baseConfig(t)
			if backend == "postgres" {
				cfg.DatabaseURL = pgtest.URL(t)
			} else {
				cfg.DatabaseURL = "sqlite:" + filepath.Join(t.TempDir(), "sesame.db")
			}
			cfg.SessionIdleTimeout, cfg.SessionLifetime = idle, lifetime
			clk := &clock{t: time.Now()}
			s := start(t, cfg, server.WithClock(clk.Now))
			s.user("alice", "correct horse battery")

			signIn := func(remember bool) (*browser, *http.Cookie) {
				b := s.browser()
				_, csrf := formOf(t, b.get("/login").body)
				f := url.Values{"username": {"alice"}, "password": {"correct horse battery"}, "csrf_token": {csrf}}
				if remember {
					f.Set("remember", "1")
				}
				r := b.post("/login", f)
				if r.status != http.StatusSeeOther {
					t.Fatalf("sign-in: %d", r.status)
				}
				for _, line := range r.header.Values("Set-Cookie") {
					if c, err := http.ParseSetCookie(line); err == nil && c.Name == "sesame_session" {
						return b, c
					}
				}
				t.Fatal("no session cookie set")
				return nil, nil
			}
			signedIn := func(b *browser) bool { return b.get("/account").status == http.StatusOK }

			t.Run("without remember me the cookie ends with the browser", func(t *testing.T) {
				_, c := signIn(false)
				if c.MaxAge != 0 || !c.Expires.IsZero() {
					t.Fatalf("session cookie is persistent: Max-Age=%d Expires=%s", c.MaxAge, c.Expires)
				}
			})
			t.Run("remember me makes it persistent until the absolute end", func(t *testing.T) {
				_, c := signIn(true)
				if got := time.Duration(c.MaxAge) * time.Second; got < lifetime-time.Minute || got > lifetime {
					t.Fatalf("persistent cookie Max-Age %s, want about %s", got, lifetime)
				}
			})
			t.Run("idle timeout ends an unused session", func(t *testing.T) {
				b, _ := signIn(true)
				clk.Advance(idle + time.Second)
				if signedIn(b) {
					t.Fatalf("session still valid after %s unused (idle timeout %s)", idle+time.Second, idle)
				}
			})
			t.Run("use keeps it alive until the absolute lifetime", func(t *testing.T) {
				b, _ := signIn(true)
				start := clk.Now()
				step := idle * 6 / 10
				for clk.Now().Add(step).Sub(start) < lifetime {
					clk.Advance(step)
					if !signedIn(b) {
						t.Fatalf("active session ended after %s (idle timeout %s, lifetime %s)", clk.Now().Sub(start), idle, lifetime)
					}
				}
				clk.Advance(lifetime - clk.Now().Sub(start) + time.Second)
				if signedIn(b) {
					t.Fatalf("session still valid %s after the sign-in (lifetime %s)", clk.Now().Sub(start), lifetime)
				}
			})
		})
	}
}
