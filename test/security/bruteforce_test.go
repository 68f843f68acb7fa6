package security

import (
	"bytes"
	"context"
	"html"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/server"
	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/postgres/pgtest"
)

// clock is a settable clock shared by the instances of a test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const (
	bfMaxFailures = 3
	bfBaseLock    = 30 * time.Second
)

// pair starts two server instances on one database with a shared clock
// and a strict brute-force policy.
func pair(t *testing.T, databaseURL string) (*srv, *srv, *clock) {
	t.Helper()
	clk := &clock{t: time.Now()}
	var out [2]*srv
	for i := range out {
		cfg := baseConfig(t)
		cfg.DatabaseURL = databaseURL
		cfg.BruteForceMaxFailures = bfMaxFailures
		cfg.BruteForceBaseLock, cfg.BruteForceMaxLock = bfBaseLock, 8*bfBaseLock
		out[i] = start(t, cfg, server.WithClock(clk.Now))
	}
	return out[0], out[1], clk
}

// bruteForceBackends runs fn on two instances sharing a SQLite file and two
// sharing a fresh Postgres database (pgtest's skip rules).
func bruteForceBackends(t *testing.T, fn func(t *testing.T, a, b *srv, clk *clock)) {
	t.Run("sqlite", func(t *testing.T) {
		a, b, clk := pair(t, "sqlite:"+filepath.Join(t.TempDir(), "shared.db"))
		fn(t, a, b, clk)
	})
	t.Run("postgres", func(t *testing.T) {
		a, b, clk := pair(t, pgtest.URL(t))
		fn(t, a, b, clk)
	})
}

// webLogin posts the /login form (no authorization flow) in a fresh
// browser and returns the answer.
func (s *srv) webLogin(username, pw string) resp {
	s.t.Helper()
	b := s.browser()
	action, csrf := formOf(s.t, b.get("/login").body)
	return b.post(action, url.Values{"username": {username}, "password": {pw}, "csrf_token": {csrf}})
}

func lockAudits(t *testing.T, s *srv, key string) int {
	t.Helper()
	evs, _, err := s.s.Store.ListAudit(context.Background(), storage.AuditFilter{Type: throttle.AuditLocked, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Details["key"] == key {
			n++
		}
	}
	return n
}

// TestBruteForceLogin: RFC 6819 §4.4.3.6 / §5.1.4.2.3 and OWASP ASVS V2.2.1:
// the /login lock engages after the configured failures, whichever
// instance counts them, refuses even the right password while it holds,
// lifts after the back-off, and doubles on the next failure.
func TestBruteForceLogin(t *testing.T) {
	bruteForceBackends(t, func(t *testing.T, a, b *srv, clk *clock) {
		a.user("alice", "correct horse battery")
		for i := range bfMaxFailures {
			s := [2]*srv{a, b}[i%2].with(t)
			if r := s.webLogin("alice", "wrong"); r.status != http.StatusUnauthorized {
				t.Fatalf("failure %d: status %d, want 401", i+1, r.status)
			}
		}
		r := b.with(t).webLogin("ALICE", "correct horse battery")
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" ||
			!bytes.Contains(r.body, []byte(html.EscapeString(throttle.Message))) {
			t.Fatalf("right password during the lock: %d Retry-After=%q", r.status, r.header.Get("Retry-After"))
		}
		if n := lockAudits(t, a, throttle.UserKey("alice")); n != 1 {
			t.Fatalf("%d auth.locked events, want 1", n)
		}
		clk.Advance(bfBaseLock + time.Second)
		// One more failure after the lock lifted doubles the lock.
		if r := a.with(t).webLogin("alice", "wrong"); r.status != http.StatusUnauthorized {
			t.Fatalf("failure after the lock: %d", r.status)
		}
		clk.Advance(bfBaseLock + time.Second)
		if r := b.with(t).webLogin("alice", "correct horse battery"); r.status != http.StatusTooManyRequests {
			t.Fatalf("second lock should last 2×base: status %d", r.status)
		}
		clk.Advance(bfBaseLock)
		if r := b.with(t).webLogin("alice", "correct horse battery"); r.status != http.StatusSeeOther {
			t.Fatalf("after the back-off the right password should sign in: %d", r.status)
		}
	})
}

// TestBruteForcePasswordGrant: the same policy on the password grant
// (RFC 6749 §4.3.2: "the authorization server MUST protect the endpoint
// against brute force attacks"), sharing its counter with /login.
func TestBruteForcePasswordGrant(t *testing.T) {
	bruteForceBackends(t, func(t *testing.T, a, b *srv, clk *clock) {
		a.user("bob", "correct horse battery")
		c, sec := a.client(app.ClientSpec{Name: "mobile", GrantTypes: []string{"password"}, Scopes: []string{"openid"}})
		for i := range bfMaxFailures {
			s := [2]*srv{a, b}[i%2].with(t)
			wantError(t, s.passwordGrant(c.ID, sec, "bob", "wrong", "openid"), 400, "invalid_grant")
		}
		r := b.with(t).passwordGrant(c.ID, sec, "bob", "correct horse battery", "openid")
		wantError(t, r, 400, "invalid_grant")
		if !strings.Contains(r.str("error_description"), throttle.Message) || r.header.Get("Retry-After") == "" {
			t.Fatalf("locked answer %s, Retry-After=%q", r.body, r.header.Get("Retry-After"))
		}
		// The lock is the account's, wherever the password is typed.
		if r := a.with(t).webLogin("bob", "correct horse battery"); r.status != http.StatusTooManyRequests {
			t.Fatalf("/login during a password-grant lock: %d", r.status)
		}
		if n := lockAudits(t, a, throttle.UserKey("bob")); n != 1 {
			t.Fatalf("%d auth.locked events, want 1", n)
		}
		clk.Advance(bfBaseLock + time.Second)
		wantTokens(t, a.with(t).passwordGrant(c.ID, sec, "bob", "correct horse battery", "openid"))
	})
}

// TestBruteForceClientAuthentication: client secrets are protected like
// passwords (RFC 6819 §5.2.3.7 / RFC 9700 §2.5): after the configured
// failures the client is refused with 401 invalid_client, even with its
// right secret, on the token, introspection and revocation endpoints.
func TestBruteForceClientAuthentication(t *testing.T) {
	bruteForceBackends(t, func(t *testing.T, a, b *srv, clk *clock) {
		c, sec := a.client(app.ClientSpec{Name: "svc", GrantTypes: []string{"client_credentials"}, Scopes: []string{"api:read"}})
		cc := url.Values{"grant_type": {"client_credentials"}}
		for i := range bfMaxFailures {
			s := [2]*srv{a, b}[i%2].with(t)
			wantError(t, s.token(cc, c.ID, "wrong-secret"), 401, "invalid_client")
		}
		// The clean-key cache of each instance lasts at most a second.
		time.Sleep(1100 * time.Millisecond)
		for _, s := range []*srv{a.with(t), b.with(t)} {
			r := s.token(cc, c.ID, sec)
			wantError(t, r, 401, "invalid_client")
			if !strings.Contains(r.str("error_description"), throttle.Message) || r.header.Get("Retry-After") == "" {
				t.Fatalf("locked answer %s, Retry-After=%q", r.body, r.header.Get("Retry-After"))
			}
			wantError(t, s.introspect("x", c.ID, sec), 401, "invalid_client")
			wantError(t, s.post("/oauth2/revoke", url.Values{"token": {"x"}}, c.ID, sec), 401, "invalid_client")
		}
		if n := lockAudits(t, a, throttle.ClientKey(c.ID)); n != 1 {
			t.Fatalf("%d auth.locked events, want 1", n)
		}
		clk.Advance(bfBaseLock + time.Second)
		wantTokens(t, b.with(t).token(cc, c.ID, sec))
	})
}

// TestBruteForceUnknownAccountsLookAlike: a lock behaves the same for a
// username that does not exist (RFC 6819 §4.4.3.6: no enumeration).
func TestBruteForceUnknownAccountsLookAlike(t *testing.T) {
	cfg := baseConfig(t)
	cfg.BruteForceMaxFailures = 2
	s := start(t, cfg)
	for range 2 {
		if r := s.webLogin("ghost", "x"); r.status != http.StatusUnauthorized {
			t.Fatalf("status %d", r.status)
		}
	}
	if r := s.webLogin("ghost", "x"); r.status != http.StatusTooManyRequests {
		t.Fatalf("unknown username not locked like a real one: %d", r.status)
	}
}
