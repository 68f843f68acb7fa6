package janitor_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/janitor"
	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/postgres/pgtest"
	"github.com/sesameauth/sesame/storage/sqlite"
)

var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

type backend struct {
	name string
	open func(t *testing.T) (storage.Store, janitor.Locker)
}

func backends() []backend {
	return []backend{
		{"sqlite", func(t *testing.T) (storage.Store, janitor.Locker) {
			ctx := context.Background()
			s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "j.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			return s, &janitor.LocalLocker{}
		}},
		{"postgres", func(t *testing.T) (storage.Store, janitor.Locker) {
			s := pgtest.Open(t)
			return s, janitor.PostgresLocker{Pool: s.Pool()}
		}},
	}
}

// seed writes one row per table and age: expired long ago (must go),
// expired within the grace margin (must stay) and live (must stay).
func seed(t *testing.T, s storage.Store, prefix string, expiresAt time.Time) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateToken(ctx, storage.TokenRecord{Kind: storage.KindRefreshToken, Signature: prefix + "-rt", RequestID: prefix + "-req",
		ClientID: "c", Subject: "u", Active: false, RequestedAt: expiresAt.Add(-time.Hour), ExpiresAt: expiresAt, Data: []byte("x")}))
	must(s.CreateGrant(ctx, storage.Grant{RequestID: prefix + "-req", ClientID: "c", Subject: "u", GrantType: "authorization_code",
		CreatedAt: expiresAt.Add(-time.Hour), LastUsedAt: expiresAt.Add(-time.Hour), ExpiresAt: expiresAt}))
	must(s.ClaimNonce(ctx, storage.NonceJWTDenylist, prefix+"-jti", expiresAt))
	must(s.CreateSession(ctx, storage.LoginSession{ID: prefix + "-sess", UserID: "u", AuthTime: expiresAt.Add(-time.Hour),
		CreatedAt: expiresAt.Add(-time.Hour), ExpiresAt: expiresAt}))
	must(s.CreateFlow(ctx, storage.AuthFlow{ID: prefix + "-flow", ClientID: "c", State: "new", Request: []byte("{}"),
		CreatedAt: expiresAt.Add(-time.Hour), ExpiresAt: expiresAt}))
	must(s.AppendAudit(ctx, storage.AuditEvent{At: expiresAt, Type: "test." + prefix, Actor: "system", Outcome: "success"}))
	must(s.CreateDeviceGrant(ctx, storage.DeviceGrant{DeviceCodeHash: prefix + "-dc", UserCodeHash: prefix + "-uc", ClientID: "c",
		State: storage.DevicePending, Interval: 5 * time.Second, CreatedAt: expiresAt.Add(-time.Hour), ExpiresAt: expiresAt}))
	must(s.CreateLinkToken(ctx, storage.LinkToken{Hash: prefix + "-link", Purpose: storage.LinkVerifyEmail, Email: "a@example.test",
		CreatedAt: expiresAt.Add(-time.Hour), ExpiresAt: expiresAt}))
	// Mail is kept for a retention after it was queued (7 days by
	// default, shorter than the 100 days of "old").
	must(s.EnqueueMail(ctx, storage.Mail{ID: prefix + "-mail", Recipient: "a@example.test", Subject: "s", TextBody: "t",
		CreatedAt: expiresAt, NextAttemptAt: expiresAt}))
}

func exists(t *testing.T, s storage.Store, prefix string) map[string]bool {
	t.Helper()
	ctx := context.Background()
	got := map[string]bool{}
	_, err := s.GetToken(ctx, storage.KindRefreshToken, prefix+"-rt")
	got["tokens"] = err == nil
	_, err = s.GetGrant(ctx, prefix+"-req")
	got["grants"] = err == nil
	// ClaimNonce would replace an expired entry, so look at the raw
	// existence through a claim far in the past instead: NonceExists at
	// a time before expiry tells whether the row is still there.
	ok, err := s.NonceExists(ctx, storage.NonceJWTDenylist, prefix+"-jti", time.Time{}.Add(time.Hour))
	got["nonces"] = err == nil && ok
	_, err = s.GetSession(ctx, prefix+"-sess")
	got["sessions"] = err == nil
	_, err = s.GetFlow(ctx, prefix+"-flow")
	got["flows"] = err == nil
	_, err = s.GetDeviceGrant(ctx, prefix+"-dc")
	got["device_grants"] = err == nil
	_, err = s.GetLinkToken(ctx, prefix+"-link", storage.LinkVerifyEmail, time.Time{})
	got["link_tokens"] = err == nil
	_, err = s.GetMail(ctx, prefix+"-mail")
	got["mail_queue"] = err == nil
	evs, _, err := s.ListAudit(ctx, storage.AuditFilter{Type: "test." + prefix})
	got["audit_events"] = err == nil && len(evs) == 1
	return got
}

func TestRunOnceDeletesOnlyExpiredPastGrace(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			s, locker := b.open(t)
			seed(t, s, "old", now.Add(-100*24*time.Hour)) // also older than audit retention
			seed(t, s, "grace", now.Add(-10*time.Minute))
			seed(t, s, "live", now.Add(time.Hour))
			deleted := map[string]int{}
			j, err := janitor.New(s, janitor.Options{Grace: time.Hour, AuditRetention: 90 * 24 * time.Hour, Locker: locker,
				Now: func() time.Time { return now }, OnDeleted: func(table string, n int) { deleted[table] += n }})
			if err != nil {
				t.Fatal(err)
			}
			res, err := j.RunOnce(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !res.Ran {
				t.Fatal("pass did not run although nobody held the lock")
			}
			for table, present := range exists(t, s, "old") {
				if present {
					t.Errorf("%s: row expired 100 days ago was kept", table)
				}
				if res.Deleted[table] != 1 || deleted[table] != 1 {
					t.Errorf("%s: Result says %d deleted, OnDeleted %d; want 1", table, res.Deleted[table], deleted[table])
				}
			}
			for _, prefix := range []string{"grace", "live"} {
				for table, present := range exists(t, s, prefix) {
					if !present {
						t.Errorf("%s: %s row was deleted", table, prefix)
					}
				}
			}
		})
	}
}

// Failure counters go once idle, and their lock over, for CounterWindow +
// Grace; anything that can still count toward a lock stays.
func TestRunOnceSweepsOnlyStaleCounters(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			s, locker := b.open(t)
			ctx := context.Background()
			const window, grace = 12 * time.Hour, time.Hour
			counters := []struct {
				key         string
				last        time.Time
				lockedUntil time.Time // zero: never locked
				wantKept    bool
			}{
				{"user:stale", now.Add(-window - grace - time.Minute), time.Time{}, false},
				{"ip:192.0.2.1", now.Add(-3 * window), time.Time{}, false},
				{"user:lock-over", now.Add(-3 * window), now.Add(-3*window + 15*time.Minute), false},
				{"user:within-grace", now.Add(-window - grace + time.Minute), time.Time{}, true},
				{"client:recent", now.Add(-time.Minute), time.Time{}, true},
				{"user:locked", now.Add(-3 * window), now.Add(time.Hour), true},
			}
			for _, c := range counters {
				if _, err := s.RecordFailure(ctx, c.key, c.last, c.last.Add(-window)); err != nil {
					t.Fatal(err)
				}
				if !c.lockedUntil.IsZero() {
					if err := s.SetLock(ctx, c.key, c.lockedUntil); err != nil {
						t.Fatal(err)
					}
				}
			}
			deleted := map[string]int{}
			j, err := janitor.New(s, janitor.Options{Batch: 2, Grace: grace, CounterWindow: window, Locker: locker,
				Now: func() time.Time { return now }, OnDeleted: func(table string, n int) { deleted[table] += n }})
			if err != nil {
				t.Fatal(err)
			}
			res, err := j.RunOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.Deleted["failure_counters"] != 3 || deleted["failure_counters"] != 3 {
				t.Errorf("Result says %d counters deleted, OnDeleted %d; want 3", res.Deleted["failure_counters"], deleted["failure_counters"])
			}
			for _, c := range counters {
				_, err := s.GetFailures(ctx, c.key)
				if kept := err == nil; kept != c.wantKept {
					t.Errorf("%s: kept = %v (GetFailures: %v), want %v", c.key, kept, err, c.wantKept)
				}
			}
		})
	}
}

// The janitor's default must not forget failures the guard's default
// policy still counts.
func TestDefaultCounterWindowMatchesGuard(t *testing.T) {
	if want := throttle.DefaultConfig().CounterWindow(); janitor.DefaultCounterWindow < want {
		t.Errorf("DefaultCounterWindow = %s, shorter than the guard's default window %s", janitor.DefaultCounterWindow, want)
	}
}

// countingStore counts DeleteExpiredTokens calls.
type countingStore struct {
	storage.Store
	calls atomic.Int32
	block chan struct{} // if set, DeleteExpiredTokens waits on it
	in    chan struct{}
}

func (c *countingStore) DeleteExpiredTokens(ctx context.Context, before time.Time, limit int) (int, error) {
	c.calls.Add(1)
	if c.block != nil {
		c.in <- struct{}{}
		<-c.block
	}
	return c.Store.DeleteExpiredTokens(ctx, before, limit)
}

func TestRunOnceDeletesInBatches(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			s, locker := b.open(t)
			ctx := context.Background()
			const n, batch = 23, 5
			for i := range n {
				if err := s.CreateToken(ctx, storage.TokenRecord{Kind: storage.KindAccessToken, Signature: fmt.Sprintf("sig-%d", i),
					RequestID: "r", ClientID: "c", Active: true, RequestedAt: now.Add(-3 * time.Hour), ExpiresAt: now.Add(-2 * time.Hour), Data: []byte("x")}); err != nil {
					t.Fatal(err)
				}
			}
			cs := &countingStore{Store: s}
			j, err := janitor.New(cs, janitor.Options{Batch: batch, Locker: locker, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			res, err := j.RunOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.Deleted["tokens"] != n {
				t.Errorf("deleted %d tokens, want %d", res.Deleted["tokens"], n)
			}
			// 5+5+5+5+3: the short fifth batch ends the loop.
			if got := cs.calls.Load(); got != 5 {
				t.Errorf("%d DELETE batches, want 5", got)
			}
		})
	}
}

// TestOnePassAtATimeAcrossInstances: two janitors (two instances) over one
// Postgres database; while one is in the middle of a pass the other skips.
func TestOnePassAtATimeAcrossInstances(t *testing.T) {
	s := pgtest.Open(t)
	ctx := context.Background()
	a := &countingStore{Store: s, block: make(chan struct{}), in: make(chan struct{})}
	ja, err := janitor.New(a, janitor.Options{Locker: janitor.PostgresLocker{Pool: s.Pool()}})
	if err != nil {
		t.Fatal(err)
	}
	jb, err := janitor.New(s, janitor.Options{Locker: janitor.PostgresLocker{Pool: s.Pool()}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var resA janitor.Result
	var errA error
	wg.Go(func() { resA, errA = ja.RunOnce(ctx) })
	<-a.in // a holds the lock and is inside its first DELETE
	resB, err := jb.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if resB.Ran {
		t.Error("second janitor ran a pass while the first held the lock")
	}
	close(a.block)
	wg.Wait()
	if errA != nil || !resA.Ran {
		t.Fatalf("first janitor: ran=%v err=%v", resA.Ran, errA)
	}
	// Released: the other instance gets its turn now.
	resB, err = jb.RunOnce(ctx)
	if err != nil || !resB.Ran {
		t.Fatalf("after release: ran=%v err=%v", resB.Ran, err)
	}
}

func TestLockReleasedWhenHolderConnectionDies(t *testing.T) {
	s := pgtest.Open(t)
	ctx := context.Background()
	l := janitor.PostgresLocker{Pool: s.Pool()}
	unlock, ok, err := l.TryLock(ctx, "x")
	if err != nil || !ok {
		t.Fatalf("first TryLock: ok=%v err=%v", ok, err)
	}
	if _, ok, err := l.TryLock(ctx, "x"); err != nil || ok {
		t.Fatalf("second TryLock while held: ok=%v err=%v", ok, err)
	}
	if u, ok, err := l.TryLock(ctx, "y"); err != nil || !ok {
		t.Fatalf("other name: ok=%v err=%v", ok, err)
	} else {
		u()
	}
	// Kill every other backend of this database: the holder's session
	// ends and Postgres drops its lock.
	if _, err := s.Pool().Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	unlock() // must not hang or panic on a dead connection
	deadline := time.Now().Add(5 * time.Second)
	for {
		u, ok, err := l.TryLock(ctx, "x")
		if err == nil && ok {
			u()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lock never became free after its session died: ok=%v err=%v", ok, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestNewRejectsNegativeOptions(t *testing.T) {
	for name, o := range map[string]janitor.Options{
		"negative interval":  {Interval: -1},
		"negative batch":     {Batch: -1},
		"negative grace":     {Grace: -1},
		"negative retention": {AuditRetention: -1},
		"negative window":    {CounterWindow: -1},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := janitor.New(&countingStore{}, o); err == nil {
				t.Error("New accepted it")
			}
		})
	}
}

func TestLocalLocker(t *testing.T) {
	var l janitor.LocalLocker
	u, ok, _ := l.TryLock(context.Background(), "n")
	if !ok {
		t.Fatal("free lock not granted")
	}
	if _, ok, _ := l.TryLock(context.Background(), "n"); ok {
		t.Fatal("held lock granted twice")
	}
	u()
	u() // idempotent
	if u2, ok, _ := l.TryLock(context.Background(), "n"); !ok {
		t.Fatal("released lock not granted")
	} else {
		u2()
	}
}
