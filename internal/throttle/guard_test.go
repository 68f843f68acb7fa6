package throttle_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/postgres"
	"github.com/sesameauth/sesame/storage/postgres/pgtest"
	"github.com/sesameauth/sesame/storage/sqlite"
)

// store is what the guard needs from a backend.
type store interface {
	storage.ThrottleStore
	storage.AuditStore
}

// clock is an injectable, advanceable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func openSQLite(t *testing.T) store {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "throttle.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("sqlite migrate: %v", err)
	}
	return s
}

// eachBackend runs fn against a fresh SQLite and a fresh Postgres store.
func eachBackend(t *testing.T, fn func(t *testing.T, s store)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, openSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, pgtest.Open(t)) })
}

// testConfig is the default policy with a small IP limit so the per-IP
// tests stay short.
func testConfig() throttle.Config {
	cfg := throttle.DefaultConfig()
	cfg.IPMaxFailures = 8
	return cfg
}

func mustFail(t *testing.T, g *throttle.Guard, ip string, keys ...string) {
	t.Helper()
	if err := g.Fail(t.Context(), ip, "test-agent", keys...); err != nil {
		t.Fatalf("Fail: %v", err)
	}
}

// wantLock asserts whether keys are locked and, if so, for how long from now.
func wantLock(t *testing.T, g *throttle.Guard, c *clock, what string, wantFor time.Duration, keys ...string) {
	t.Helper()
	until, locked, err := g.Check(t.Context(), keys...)
	if err != nil {
		t.Fatalf("%s: Check: %v", what, err)
	}
	if wantFor == 0 {
		if locked {
			t.Fatalf("%s: locked until %s, want unlocked", what, until)
		}
		return
	}
	if !locked {
		t.Fatalf("%s: not locked, want locked for %s", what, wantFor)
	}
	if got := until.Sub(c.Now()); got != wantFor {
		t.Fatalf("%s: locked for %s, want %s", what, got, wantFor)
	}
}

func auditLocks(t *testing.T, s store) []storage.AuditEvent {
	t.Helper()
	evs, _, err := s.ListAudit(t.Context(), storage.AuditFilter{Type: throttle.AuditLocked, Limit: 500})
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	return evs
}

func TestGuardBackOff(t *testing.T) {
	eachBackend(t, func(t *testing.T, s store) {
		c := newClock()
		g := throttle.New(s, s, throttle.DefaultConfig(), c.Now)
		alice := throttle.UserKey("Alice")

		for i := 1; i < 5; i++ {
			mustFail(t, g, "192.0.2.1", alice)
			wantLock(t, g, c, "after fewer failures than the limit", 0, alice)
		}
		mustFail(t, g, "192.0.2.1", alice)
		wantLock(t, g, c, "the 5th failure locks for BaseLock", 30*time.Second, alice)
		wantLock(t, g, c, "the lock applies whatever the case of the username", 30*time.Second, throttle.UserKey("ALICE"))
		wantLock(t, g, c, "another account is not locked", 0, throttle.UserKey("bob"))

		c.Advance(30 * time.Second)
		wantLock(t, g, c, "the lock lifts once the back-off has passed", 0, alice)

		steps := []struct {
			name    string
			wantFor time.Duration
		}{
			{"6th failure doubles the lock", time.Minute},
			{"7th failure doubles again", 2 * time.Minute},
			{"8th failure", 4 * time.Minute},
			{"9th failure", 8 * time.Minute},
			{"10th failure reaches the cap", 15 * time.Minute},
			{"11th failure stays at the cap", 15 * time.Minute},
		}
		for _, st := range steps {
			mustFail(t, g, "192.0.2.1", alice)
			wantLock(t, g, c, st.name, st.wantFor, alice)
			c.Advance(st.wantFor)
		}

		evs := auditLocks(t, s)
		if len(evs) != 7 {
			t.Fatalf("got %d %s audit events, want one per lock (7)", len(evs), throttle.AuditLocked)
		}
		ev := evs[0] // newest first
		if ev.Details["key"] != "user:alice" || ev.IP != "192.0.2.1" || ev.UserAgent != "test-agent" ||
			ev.Outcome != "failure" || ev.Details["failures"] != "11" || ev.Details["lock_seconds"] != "900" {
			t.Errorf("audit event of the last lock = %+v", ev)
		}
	})
}

func TestGuardSuccessResets(t *testing.T) {
	eachBackend(t, func(t *testing.T, s store) {
		c := newClock()
		g := throttle.New(s, s, testConfig(), c.Now)
		bob := throttle.UserKey("bob")
		for range 4 {
			mustFail(t, g, "192.0.2.2", bob)
		}
		if err := g.Succeed(t.Context(), bob, throttle.IPKey("192.0.2.2")); err != nil {
			t.Fatalf("Succeed: %v", err)
		}
		for range 4 {
			mustFail(t, g, "192.0.2.2", bob)
		}
		wantLock(t, g, c, "4 failures after a success do not lock", 0, bob)
		mustFail(t, g, "192.0.2.2", bob)
		wantLock(t, g, c, "the 5th failure after a success locks", 30*time.Second, bob)

		ip, err := s.GetFailures(t.Context(), throttle.IPKey("192.0.2.2"))
		if err != nil {
			t.Fatalf("GetFailures(ip): %v", err)
		}
		if ip.Failures != 9 {
			t.Errorf("Succeed must not reset the IP counter: got %d failures, want 9", ip.Failures)
		}
	})
}

func TestGuardResetAfterQuietPeriod(t *testing.T) {
	eachBackend(t, func(t *testing.T, s store) {
		c := newClock()
		g := throttle.New(s, s, testConfig(), c.Now)
		key := throttle.ClientKey("app")
		for range 4 {
			mustFail(t, g, "", key)
		}
		c.Advance(12*time.Hour + time.Second)
		mustFail(t, g, "", key)
		wantLock(t, g, c, "failures older than ResetAfter are forgotten", 0, key)
		got, err := s.GetFailures(t.Context(), key)
		if err != nil {
			t.Fatalf("GetFailures: %v", err)
		}
		if got.Failures != 1 {
			t.Errorf("counter after the quiet period = %d, want 1", got.Failures)
		}
	})
}

func TestGuardIPLimit(t *testing.T) {
	eachBackend(t, func(t *testing.T, s store) {
		c := newClock()
		g := throttle.New(s, s, testConfig(), c.Now)
		attacker, bystander := "198.51.100.7", "198.51.100.8"
		attackerKey := throttle.IPKey(attacker)

		// 8 failures spread over 8 usernames: no account locks, the IP does.
		for i := range 8 {
			mustFail(t, g, attacker, throttle.UserKey(string(rune('a'+i))+"-user"))
		}
		wantLock(t, g, c, "an IP past IPMaxFailures is locked for IPWindow", 5*time.Minute, throttle.UserKey("z"), attackerKey)
		wantLock(t, g, c, "another IP is unaffected", 0, throttle.UserKey("z"), throttle.IPKey(bystander))
		wantLock(t, g, c, "the accounts themselves are not locked", 0, throttle.UserKey("a-user"))

		c.Advance(5 * time.Minute)
		wantLock(t, g, c, "the IP lock lifts after IPWindow", 0, attackerKey)
		mustFail(t, g, attacker, throttle.UserKey("x"))
		got, err := s.GetFailures(t.Context(), attackerKey)
		if err != nil {
			t.Fatalf("GetFailures: %v", err)
		}
		if got.Failures != 1 {
			t.Errorf("a failure after the window starts a new window: got %d failures, want 1", got.Failures)
		}

		// A slow attacker (one failure a minute) never fills a 5-minute window.
		for range 20 {
			c.Advance(time.Minute)
			mustFail(t, g, bystander, throttle.UserKey("slow"+c.Now().Format("1504")))
		}
		wantLock(t, g, c, "failures spread beyond the window do not lock the IP", 0, throttle.IPKey(bystander))
	})
}

func TestGuardUnlock(t *testing.T) {
	eachBackend(t, func(t *testing.T, s store) {
		c := newClock()
		g := throttle.New(s, s, testConfig(), c.Now)
		key := throttle.UserKey("carol")
		for range 7 {
			mustFail(t, g, "192.0.2.3", key)
			c.Advance(5 * time.Minute) // let each lock lift so the count grows
		}
		mustFail(t, g, "192.0.2.3", key)
		wantLock(t, g, c, "locked before Unlock", 4*time.Minute, key)
		if err := g.Unlock(t.Context(), key); err != nil {
			t.Fatalf("Unlock: %v", err)
		}
		wantLock(t, g, c, "Unlock lifts the lock at once", 0, key)
		mustFail(t, g, "192.0.2.3", key)
		wantLock(t, g, c, "Unlock also forgets the failures", 0, key)
	})
}

func TestGuardDisabled(t *testing.T) {
	s := openSQLite(t)
	c := newClock()
	cfg := testConfig()
	cfg.Enabled = false
	g := throttle.New(s, s, cfg, c.Now)
	key := throttle.UserKey("dave")
	for range 20 {
		mustFail(t, g, "192.0.2.4", key)
	}
	wantLock(t, g, c, "a disabled guard never locks", 0, key, throttle.IPKey("192.0.2.4"))
	if _, err := s.GetFailures(t.Context(), key); err == nil {
		t.Error("a disabled guard must not write counters")
	}
}

// TestGuardSharedAcrossInstances runs two guards, each on its own
// connection pool to one Postgres database, as two server instances would.
func TestGuardSharedAcrossInstances(t *testing.T) {
	url := pgtest.URL(t)
	open := func() *postgres.Store {
		s, err := postgres.Open(t.Context(), url)
		if err != nil {
			t.Fatalf("postgres.Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	a := open()
	if _, err := a.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	b := open()
	c := newClock()
	ga := throttle.New(a, a, testConfig(), c.Now)
	gb := throttle.New(b, b, testConfig(), c.Now)
	key := throttle.UserKey("erin")

	// Failures land on both instances concurrently; all must be counted.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := range 4 {
		g := ga
		if i%2 == 1 {
			g = gb
		}
		wg.Go(func() { errs <- g.Fail(t.Context(), "192.0.2.5", "ua", key) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Fail: %v", err)
		}
	}
	wantLock(t, gb, c, "4 failures across instances do not lock yet", 0, key)
	mustFail(t, ga, "192.0.2.5", key)
	wantLock(t, gb, c, "a lock set through instance A holds on instance B", 30*time.Second, key)
	if err := gb.Unlock(t.Context(), key); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	wantLock(t, ga, c, "an unlock through B holds on A", 0, key)
	if n := len(auditLocks(t, a)); n != 1 {
		t.Errorf("got %d lock audit events, want 1", n)
	}
}

func TestKeys(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"username is lower-cased and trimmed", throttle.UserKey(" Alice "), "user:alice"},
		{"client id keeps its case", throttle.ClientKey("App-1"), "client:App-1"},
		{"IPv4 is kept", throttle.IPKey("192.0.2.1"), "ip:192.0.2.1"},
		{"IPv4-mapped IPv6 is IPv4", throttle.IPKey("::ffff:192.0.2.1"), "ip:192.0.2.1"},
		{"IPv6 is reduced to its /64", throttle.IPKey("2001:db8:1:2:3:4:5:6"), "ip:2001:db8:1:2::/64"},
		{"unparseable input stays distinct", throttle.IPKey("not-an-ip"), "ip:not-an-ip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	mod := func(f func(*throttle.Config)) throttle.Config {
		c := throttle.DefaultConfig()
		f(&c)
		return c
	}
	tests := []struct {
		name    string
		cfg     throttle.Config
		wantErr bool
	}{
		{"defaults are valid", throttle.DefaultConfig(), false},
		{"disabled is valid whatever the numbers", mod(func(c *throttle.Config) { c.Enabled = false; c.MaxFailures = 0 }), false},
		{"zero MaxFailures", mod(func(c *throttle.Config) { c.MaxFailures = 0 }), true},
		{"MaxLock below BaseLock", mod(func(c *throttle.Config) { c.MaxLock = time.Second }), true},
		{"no reset period", mod(func(c *throttle.Config) { c.ResetAfter = 0 }), true},
		{"IP limit without window", mod(func(c *throttle.Config) { c.IPWindow = 0 }), true},
		{"IP limit off needs no window", mod(func(c *throttle.Config) { c.IPMaxFailures = 0; c.IPWindow = 0 }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err != nil) != tt.wantErr {
				t.Errorf("Validate() = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := throttle.RetryAfter(now.Add(1500*time.Millisecond), now); got != 2 {
		t.Errorf("RetryAfter(1.5s) = %d, want 2 (rounded up)", got)
	}
	if got := throttle.RetryAfter(now.Add(-time.Second), now); got != 1 {
		t.Errorf("RetryAfter(past) = %d, want at least 1", got)
	}
}

func TestGuardStoreDownFailsClosed(t *testing.T) {
	s := openSQLite(t)
	g := throttle.New(s, s, testConfig(), newClock().Now)
	if err := s.(interface{ Close() error }).Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, locked, err := g.Check(t.Context(), throttle.UserKey("x")); err == nil || locked {
		t.Errorf("Check with the store down = locked %v, err %v; want an error", locked, err)
	}
	if err := g.Fail(t.Context(), "192.0.2.9", "ua", throttle.UserKey("x")); err == nil {
		t.Error("Fail with the store down returned no error")
	}
}

func TestCounterWindowIsTheLongerReset(t *testing.T) {
	for _, tt := range []struct {
		name              string
		resetAfter, ipWin time.Duration
		want              time.Duration
	}{
		{"account reset longer", 12 * time.Hour, 5 * time.Minute, 12 * time.Hour},
		{"IP window longer", time.Minute, time.Hour, time.Hour},
		{"rate window longer", time.Minute, time.Minute, throttle.MaxRateWindow},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := throttle.DefaultConfig()
			cfg.ResetAfter, cfg.IPWindow = tt.resetAfter, tt.ipWin
			if got := cfg.CounterWindow(); got != tt.want {
				t.Errorf("CounterWindow() = %s, want %s", got, tt.want)
			}
		})
	}
}

// A sweep at now - CounterWindow (what the janitor does, less its grace)
// must never delete a counter the guard would still count or enforce.
func TestSweepAtCounterWindowKeepsWhatCounts(t *testing.T) {
	eachBackend(t, func(t *testing.T, s store) {
		c := newClock()
		cfg := testConfig()
		g := throttle.New(s, s, cfg, c.Now)
		sweep := func(what string, want int) {
			t.Helper()
			n, err := s.DeleteStaleCounters(t.Context(), c.Now().Add(-cfg.CounterWindow()), 100)
			if err != nil {
				t.Fatalf("%s: DeleteStaleCounters: %v", what, err)
			}
			if n != want {
				t.Errorf("%s: swept %d counters, want %d", what, n, want)
			}
		}
		user := throttle.UserKey("alice")
		for range cfg.MaxFailures - 1 {
			mustFail(t, g, "192.0.2.1", user)
		}
		// Exactly ResetAfter later the counter still counts: the next
		// failure is the one that locks.
		c.Advance(cfg.ResetAfter)
		sweep("idle for exactly the window", 0)
		mustFail(t, g, "", user)
		wantLock(t, g, c, "the failure after the window's last instant", cfg.BaseLock, user)

		// Idle past the window, and its lock over by the cut-off too: both
		// counters go.
		c.Advance(cfg.CounterWindow() + cfg.BaseLock + time.Second)
		sweep("idle past the window", 2)
		if _, err := s.GetFailures(t.Context(), user); err == nil {
			t.Error("stale account counter kept")
		}

		// A lock longer than the window keeps its counter until it ends.
		long := throttle.New(s, s, func() throttle.Config {
			cfg := cfg
			cfg.BaseLock, cfg.MaxLock = 2*cfg.ResetAfter, 2*cfg.ResetAfter
			return cfg
		}(), c.Now)
		bob := throttle.UserKey("bob")
		for range cfg.MaxFailures {
			if err := long.Fail(t.Context(), "", "test-agent", bob); err != nil {
				t.Fatalf("Fail: %v", err)
			}
		}
		c.Advance(cfg.CounterWindow() + time.Second)
		sweep("locked past the window", 0)
		wantLock(t, long, c, "a lock longer than the window", 2*cfg.ResetAfter-cfg.CounterWindow()-time.Second, bob)
	})
}

// TestPasswordPolicy: the failures of one address against a username lock
// that pair only; the account is slowed down, never locked; the right
// password resets pair and account (issue 13 item 3).
func TestPasswordPolicy(t *testing.T) {
	eachBackend(t, func(t *testing.T, s store) {
		c := newClock()
		cfg := testConfig()
		g := throttle.New(s, s, cfg, c.Now)
		ctx := t.Context()
		for range cfg.MaxFailures {
			if err := g.FailPassword(ctx, "Alice", "192.0.2.1", "ua"); err != nil {
				t.Fatal(err)
			}
		}
		d, err := g.CheckPassword(ctx, "alice", "192.0.2.1")
		if err != nil || !d.Locked || d.Until.Sub(c.Now()) != cfg.BaseLock {
			t.Fatalf("attacking address: %+v, %v; want locked for %s", d, err, cfg.BaseLock)
		}
		d, err = g.CheckPassword(ctx, "alice", "198.51.100.7")
		if err != nil || d.Locked {
			t.Fatalf("another address: %+v, %v; want not locked", d, err)
		}
		if d.Delay != cfg.SlowDownBase {
			t.Fatalf("account slow-down %s, want %s", d.Delay, cfg.SlowDownBase)
		}
		for range 10 {
			if err := g.FailPassword(ctx, "alice", "203.0.113.9", "ua"); err != nil {
				t.Fatal(err)
			}
		}
		if d, _ = g.CheckPassword(ctx, "alice", "198.51.100.7"); d.Locked || d.Delay != cfg.SlowDownMax {
			t.Fatalf("after 15 failures: %+v; want unlocked with the capped slow-down %s", d, cfg.SlowDownMax)
		}
		if err := g.SucceedPassword(ctx, d); err != nil {
			t.Fatal(err)
		}
		if d, _ = g.CheckPassword(ctx, "alice", "198.51.100.7"); d.Locked || d.Delay != 0 {
			t.Fatalf("after a success: %+v; want no slow-down", d)
		}
		if d, _ = g.CheckPassword(ctx, "alice", "192.0.2.1"); !d.Locked {
			t.Fatal("a success elsewhere lifted the attacking address's lock")
		}
	})
}
