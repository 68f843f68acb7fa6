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

// Addresses of the brute-force tests (loopback, see (*srv).as): the
// attacker, the account's owner, and another attacker address.
const (
	attackerAddr = "127.0.0.2"
	ownerAddr    = "127.0.0.3"
	otherAddr    = "127.0.0.4"
)

// TestBruteForceLogin: RFC 6819 §4.4.3.6 / §5.1.4.2.3 and OWASP ASVS V2.2.1,
// without handing attackers a lock (issue 13 item 3): the failures of one
// address against one username lock that pair, whichever instance counts
// them, refuse even the right password from that address while it holds,
// lift after the back-off and double on the next failure — and the owner
// at another address signs in with the right password all along.
func TestBruteForceLogin(t *testing.T) {
	bruteForceBackends(t, func(t *testing.T, a, b *srv, clk *clock) {
		a.user("alice", "correct horse battery")
		for i := range bfMaxFailures {
			s := [2]*srv{a, b}[i%2].with(t).as(attackerAddr)
			if r := s.webLogin("alice", "wrong"); r.status != http.StatusUnauthorized {
				t.Fatalf("failure %d: status %d, want 401", i+1, r.status)
			}
		}
		r := b.with(t).as(attackerAddr).webLogin("ALICE", "correct horse battery")
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" ||
			!bytes.Contains(r.body, []byte(html.EscapeString(throttle.Message))) {
			t.Fatalf("right password from the attacking address during the lock: %d Retry-After=%q", r.status, r.header.Get("Retry-After"))
		}
		// The owner, elsewhere, is not locked out by the attacker.
		for _, s := range []*srv{a, b} {
			if r := s.with(t).as(ownerAddr).webLogin("alice", "correct horse battery"); r.status != http.StatusSeeOther {
				t.Fatalf("owner at another address during the attacker's lock: %d, want 303", r.status)
			}
		}
		if n := lockAudits(t, a, throttle.PairKey("alice", attackerAddr)); n != 1 {
			t.Fatalf("%d auth.locked events, want 1", n)
		}
		clk.Advance(bfBaseLock + time.Second)
		// One more failure after the lock lifted doubles the lock.
		if r := a.with(t).as(attackerAddr).webLogin("alice", "wrong"); r.status != http.StatusUnauthorized {
			t.Fatalf("failure after the lock: %d", r.status)
		}
		clk.Advance(bfBaseLock + time.Second)
		if r := b.with(t).as(attackerAddr).webLogin("alice", "correct horse battery"); r.status != http.StatusTooManyRequests {
			t.Fatalf("second lock should last 2×base: status %d", r.status)
		}
		clk.Advance(bfBaseLock)
		if r := b.with(t).as(attackerAddr).webLogin("alice", "correct horse battery"); r.status != http.StatusSeeOther {
			t.Fatalf("after the back-off the right password should sign in: %d", r.status)
		}
	})
}

// TestBruteForceAccountSlowDown: failures from many addresses against one
// username slow every attempt on it down (per-account, bounded), but the
// right password from a new address is never refused (issue 13 item 3).
func TestBruteForceAccountSlowDown(t *testing.T) {
	bruteForceBackends(t, func(t *testing.T, a, b *srv, _ *clock) {
		a.user("carol", "correct horse battery")
		// bfMaxFailures-1 failures from each of two addresses: no pair
		// reaches its lock, the account passes the slow-down threshold.
		for _, ip := range []string{attackerAddr, otherAddr} {
			for range bfMaxFailures - 1 {
				if r := a.with(t).as(ip).webLogin("carol", "wrong"); r.status != http.StatusUnauthorized {
					t.Fatalf("failure from %s: %d", ip, r.status)
				}
			}
		}
		start := time.Now()
		if r := b.with(t).as(ownerAddr).webLogin("carol", "correct horse battery"); r.status != http.StatusSeeOther {
			t.Fatalf("owner from a new address under a distributed attack: %d, want 303", r.status)
		}
		if d := time.Since(start); d < throttle.DefaultConfig().SlowDownBase {
			t.Fatalf("attempt on an account under attack took %s, want the slow-down (>= %s)", d, throttle.DefaultConfig().SlowDownBase)
		}
		// The success cleared the account's slow-down.
		start = time.Now()
		if r := a.with(t).as(ownerAddr).webLogin("carol", "correct horse battery"); r.status != http.StatusSeeOther {
			t.Fatalf("second sign-in: %d", r.status)
		}
		if d := time.Since(start); d >= throttle.DefaultConfig().SlowDownBase*2 {
			t.Logf("second sign-in took %s (slow machine?)", d)
		}
	})
}

// TestBruteForcePasswordGrant: the same policy on the password grant
// (RFC 6749 §4.3.2: "the authorization server MUST protect the endpoint
// against brute force attacks"), sharing its counters with /login.
func TestBruteForcePasswordGrant(t *testing.T) {
	bruteForceBackends(t, func(t *testing.T, a, b *srv, clk *clock) {
		a.user("bob", "correct horse battery")
		c, sec := a.client(app.ClientSpec{Name: "mobile", GrantTypes: []string{"password"}, Scopes: []string{"openid"}})
		for i := range bfMaxFailures {
			s := [2]*srv{a, b}[i%2].with(t).as(attackerAddr)
			wantError(t, s.passwordGrant(c.ID, sec, "bob", "wrong", "openid"), 400, "invalid_grant")
		}
		r := b.with(t).as(attackerAddr).passwordGrant(c.ID, sec, "bob", "correct horse battery", "openid")
		wantError(t, r, 400, "invalid_grant")
		if !strings.Contains(r.str("error_description"), throttle.Message) || r.header.Get("Retry-After") == "" {
			t.Fatalf("locked answer %s, Retry-After=%q", r.body, r.header.Get("Retry-After"))
		}
		// The lock is the (username, address) pair's, wherever the
		// password is typed from that address.
		if r := a.with(t).as(attackerAddr).webLogin("bob", "correct horse battery"); r.status != http.StatusTooManyRequests {
			t.Fatalf("/login from the locked address: %d", r.status)
		}
		if n := lockAudits(t, a, throttle.PairKey("bob", attackerAddr)); n != 1 {
			t.Fatalf("%d auth.locked events, want 1", n)
		}
		// The owner's app at another address still gets tokens.
		wantTokens(t, b.with(t).as(ownerAddr).passwordGrant(c.ID, sec, "bob", "correct horse battery", "openid"))
		clk.Advance(bfBaseLock + time.Second)
		wantTokens(t, a.with(t).as(attackerAddr).passwordGrant(c.ID, sec, "bob", "correct horse battery", "openid"))
	})
}

// TestBruteForceClientAuthentication: client secrets are generated (256
// bits) and cannot be guessed, so wrong secrets lock only the address
// that sends them (RFC 6819 §5.2.3.7 / RFC 9700 §2.5 without a lock any
// stranger could set, issue 13 item 2): after IPMaxFailures failures the
// attacking address is refused with 401 invalid_client on the token,
// introspection and revocation endpoints, while the client's right secret
// from another address keeps working.
func TestBruteForceClientAuthentication(t *testing.T) {
	bruteForceBackends(t, func(t *testing.T, a, b *srv, clk *clock) {
		c, sec := a.client(app.ClientSpec{Name: "svc", GrantTypes: []string{"client_credentials"}, Scopes: []string{"api:read"}})
		cc := url.Values{"grant_type": {"client_credentials"}}
		ipLimit := throttle.DefaultConfig().IPMaxFailures
		for i := range ipLimit {
			s := [2]*srv{a, b}[i%2].with(t).as(attackerAddr)
			wantError(t, s.token(cc, c.ID, "wrong-secret"), 401, "invalid_client")
		}
		// The owner at another address: never locked, on either instance.
		for _, s := range []*srv{a.with(t).as(ownerAddr), b.with(t).as(ownerAddr)} {
			wantTokens(t, s.token(cc, c.ID, sec))
		}
		// The clean-key cache of each instance lasts at most a second.
		time.Sleep(1100 * time.Millisecond)
		for _, s := range []*srv{a.with(t).as(attackerAddr), b.with(t).as(attackerAddr)} {
			r := s.token(cc, c.ID, sec)
			wantError(t, r, 401, "invalid_client")
			if !strings.Contains(r.str("error_description"), throttle.Message) || r.header.Get("Retry-After") == "" {
				t.Fatalf("locked answer %s, Retry-After=%q", r.body, r.header.Get("Retry-After"))
			}
			wantError(t, s.introspect("x", c.ID, sec), 401, "invalid_client")
			wantError(t, s.post("/oauth2/revoke", url.Values{"token": {"x"}}, c.ID, sec), 401, "invalid_client")
		}
		for _, s := range []*srv{a.with(t).as(ownerAddr), b.with(t).as(ownerAddr)} {
			wantTokens(t, s.token(cc, c.ID, sec))
		}
		if n := lockAudits(t, a, throttle.IPKey(attackerAddr)); n != 1 {
			t.Fatalf("%d auth.locked events for the attacking address, want 1", n)
		}
		if n := lockAudits(t, a, throttle.ClientKey(c.ID)); n != 0 {
			t.Fatalf("%d auth.locked events for the client, want 0", n)
		}
		clk.Advance(throttle.DefaultConfig().IPWindow + time.Second)
		wantTokens(t, b.with(t).as(attackerAddr).token(cc, c.ID, sec))
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
