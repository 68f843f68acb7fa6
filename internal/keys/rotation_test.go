package keys

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

func TestRotatedKeyVerifiesUntilRetainAfterRetireThenRunPrunesIt(t *testing.T) {
	forEachBackend(t, testRotatedKeyVerifiesUntilRetainAfterRetireThenRunPrunesIt)
}

func testRotatedKeyVerifiesUntilRetainAfterRetireThenRunPrunesIt(t *testing.T, open storeFactory) {
	ctx := context.Background()
	st := open(t)
	clk := newClock()
	const retain = 2 * time.Hour
	m := newManager(t, st, testRing(t, 1), Options{
		Algorithms: []string{ES256}, RetainAfterRetire: retain,
		RefreshInterval: 5 * time.Millisecond, Now: clk.Now,
	})
	old, _ := m.Active(ctx, ES256)
	tok := signWith(t, old, []byte(`{"sub":"u1"}`))

	info, err := m.Rotate(ctx, ES256)
	if err != nil {
		t.Fatal(err)
	}
	if info.KID == old.KID || info.State != string(storage.KeyActive) || info.Alg != ES256 {
		t.Fatalf("Rotate returned %+v", info)
	}
	if cur, _ := m.Active(ctx, ES256); cur.KID != info.KID {
		t.Errorf("active key %s after rotation, want %s", cur.KID, info.KID)
	}
	if _, err := verifyViaLookup(ctx, m, tok); err != nil {
		t.Errorf("token signed by the retired key no longer verifies: %v", err)
	}
	k, err := m.Lookup(ctx, old.KID)
	if err != nil || k.State != storage.KeyRetired {
		t.Fatalf("Lookup(old) = %v, %v; want the retired key", k, err)
	}
	body, _, _ := m.JWKS(ctx)
	if kids := kidsOf(t, body); !kids[old.KID] || !kids[info.KID] {
		t.Errorf("JWKS %v lacks the old or the new key", kids)
	}
	infos, _ := m.List(ctx)
	for _, in := range infos {
		if in.KID == old.KID {
			if in.RetiredAt == nil || in.RetireAfter == nil || !in.RetireAfter.Equal(in.RetiredAt.Add(retain)) {
				t.Errorf("retired key info %+v: want retire_after = retired_at + %s", in, retain)
			}
		}
	}

	// Just before RetireAfter the old key is still there.
	clk.Advance(retain - time.Second)
	if _, err := m.Lookup(ctx, old.KID); err != nil {
		t.Errorf("retired key unpublished a second early: %v", err)
	}

	// Past RetireAfter: Lookup stops at once, Run deletes the key.
	clk.Advance(2 * time.Second)
	if _, err := verifyViaLookup(ctx, m, tok); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("token of an expired retired key: err = %v, want ErrUnknownKey", err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { m.Run(runCtx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for byState(t, st, ES256)[storage.KeyRetired] != 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run did not delete the retired key past retire_after")
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	<-done
	body, _, _ = m.JWKS(ctx)
	if kids := kidsOf(t, body); kids[old.KID] || !kids[info.KID] || len(kids) != 1 {
		t.Errorf("JWKS after pruning = %v, want only %s", kids, info.KID)
	}
	if _, err := m.Lookup(ctx, old.KID); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Lookup(pruned) error = %v", err)
	}
}

func TestPrivateKeysAreEncryptedAtRest(t *testing.T) {
	ctx := context.Background()
	st := newSQLite(t)
	m := newManager(t, st, testRing(t, 1), Options{Algorithms: []string{ES256, RS256}})

	for _, alg := range []string{ES256, RS256} {
		k, _ := m.Active(ctx, alg)
		row, err := st.GetKey(ctx, k.KID)
		if err != nil {
			t.Fatal(err)
		}
		privJSON, err := json.Marshal(jose.JSONWebKey{Key: k.Signer})
		if err != nil {
			t.Fatal(err)
		}
		var priv map[string]string
		if err := json.Unmarshal(privJSON, &priv); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(row.PrivateEnc, []byte(priv["d"])) || bytes.Contains(row.PrivateEnc, []byte(`"d"`)) {
			t.Errorf("%s: private_enc contains the private exponent in clear", alg)
		}
		if bytes.Contains(row.PublicJWK, []byte(`"d"`)) {
			t.Errorf("%s: public_jwk holds private material: %s", alg, row.PublicJWK)
		}
	}

	t.Run("a different SESAME_SECRET fails with a clear error", func(t *testing.T) {
		_, err := New(ctx, st, testRing(t, 2), Options{Algorithms: []string{ES256, RS256}, Logger: quietLogger()})
		if !errors.Is(err, secret.ErrDecrypt) || !strings.Contains(err.Error(), "decrypt private key") {
			t.Fatalf("New with the wrong secret: err = %v, want a decrypt error naming the key", err)
		}
	})
	t.Run("the old secret kept beside a new one still opens the keys", func(t *testing.T) {
		m2 := newManager(t, st, testRing(t, 2, 1), Options{Algorithms: []string{ES256, RS256}})
		a, _ := m.Active(ctx, ES256)
		b, _ := m2.Active(ctx, ES256)
		if a.KID != b.KID {
			t.Errorf("rotated-secret manager uses %s, want %s", b.KID, a.KID)
		}
	})
	t.Run("a sealed key moved to another row does not open", func(t *testing.T) {
		es, _ := m.Active(ctx, ES256)
		rs, _ := m.Active(ctx, RS256)
		other, _ := st.GetKey(ctx, rs.KID)
		if _, err := st.DB().ExecContext(ctx, `UPDATE signing_keys SET private_enc = ? WHERE kid = ?`, other.PrivateEnc, es.KID); err != nil {
			t.Fatal(err)
		}
		_, err := New(ctx, st, testRing(t, 1), Options{Algorithms: []string{ES256, RS256}, Logger: quietLogger()})
		if !errors.Is(err, secret.ErrDecrypt) || !strings.Contains(err.Error(), es.KID) {
			t.Errorf("swapped private_enc: err = %v, want a decrypt error for %s", err, es.KID)
		}
	})
}

func TestConcurrentRotationsEndWithOneNewActiveKey(t *testing.T) {
	forEachBackend(t, testConcurrentRotationsEndWithOneNewActiveKey)
}

func testConcurrentRotationsEndWithOneNewActiveKey(t *testing.T, open storeFactory) {
	ctx := context.Background()
	st := open(t)
	ring := testRing(t, 1)
	algs := []string{ES256, EdDSA}
	m1 := newManager(t, st, ring, Options{Algorithms: algs})
	m2 := newManager(t, st, ring, Options{Algorithms: algs})
	before := map[string]string{}
	for _, alg := range algs {
		k, _ := m1.Active(ctx, alg)
		before[alg] = k.KID
	}

	var wg sync.WaitGroup
	start := make(chan struct{})
	results := make([][]Info, 2)
	errs := make([]error, 2)
	for i, m := range []*Manager{m1, m2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = m.RotateAll(ctx)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("RotateAll on manager %d: %v", i+1, err)
		}
	}
	for _, m := range []*Manager{m1, m2} {
		if err := m.Reload(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for ai, alg := range algs {
		got := byState(t, st, alg)
		if got[storage.KeyActive] != 1 || got[storage.KeyPending] != 0 {
			t.Errorf("%s after concurrent rotations: %v, want one active key and no pending leftover", alg, got)
		}
		// Either both rotations collided (one new key) or they ran one after
		// the other (two); never a lost key or a second active one.
		if n := got[storage.KeyRetired]; n < 1 || n > 2 {
			t.Errorf("%s: %d retired keys, want 1 or 2", alg, n)
		}
		a1, _ := m1.Active(ctx, alg)
		a2, _ := m2.Active(ctx, alg)
		if a1.KID != a2.KID || a1.KID == before[alg] {
			t.Errorf("%s: managers use %s and %s (before: %s)", alg, a1.KID, a2.KID, before[alg])
		}
		if r1, r2 := results[0][ai].KID, results[1][ai].KID; r1 != a1.KID && r2 != a1.KID {
			t.Errorf("%s: neither rotation reported the active key %s (%s, %s)", alg, a1.KID, r1, r2)
		}
		if _, err := m1.Lookup(ctx, before[alg]); err != nil {
			t.Errorf("%s: the key active before rotation is no longer published: %v", alg, err)
		}
	}
}

func TestAutomaticRotationPublishesBeforeActivating(t *testing.T) {
	forEachBackend(t, testAutomaticRotationPublishesBeforeActivating)
}

func testAutomaticRotationPublishesBeforeActivating(t *testing.T, open storeFactory) {
	ctx := context.Background()
	st := open(t)
	ring := testRing(t, 1)
	clk := newClock()
	opts := Options{
		Algorithms: []string{ES256}, RotationInterval: 10 * 24 * time.Hour,
		PublishLead: 24 * time.Hour, RetainAfterRetire: 2 * time.Hour, Now: clk.Now,
	}
	// Two instances run maintenance at the same moments, concurrently.
	m1 := newManager(t, st, ring, opts)
	m2 := newManager(t, st, ring, opts)
	maintainBoth := func() {
		t.Helper()
		var wg sync.WaitGroup
		for _, m := range []*Manager{m1, m2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := m.maintain(ctx); err != nil {
					t.Errorf("maintain: %v", err)
				}
			}()
		}
		wg.Wait()
		for _, m := range []*Manager{m1, m2} {
			if err := m.Reload(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	k1, _ := m1.Active(ctx, ES256)
	_, etag0, _ := m1.JWKS(ctx)

	clk.Advance(8 * 24 * time.Hour)
	maintainBoth()
	if got := byState(t, st, ES256); got[storage.KeyPending] != 0 {
		t.Fatalf("pending key created 2 days before rotation (lead is 1 day): %v", got)
	}

	// Day 9 + 1s: inside the publish lead, a pending key appears in the JWKS.
	clk.Advance(24*time.Hour + time.Second)
	maintainBoth()
	got := byState(t, st, ES256)
	if got[storage.KeyPending] < 1 || got[storage.KeyActive] != 1 {
		t.Fatalf("after entering the publish lead: %v, want a pending key", got)
	}
	body, etag1, _ := m1.JWKS(ctx)
	if etag1 == etag0 || len(kidsOf(t, body)) < 2 {
		t.Errorf("pending key not published (etag %s → %s, %d keys)", etag0, etag1, len(kidsOf(t, body)))
	}
	if a, _ := m1.Active(ctx, ES256); a.KID != k1.KID {
		t.Fatalf("a pending key signs before the rotation is due")
	}

	// Just before the due time nothing is activated.
	clk.Advance(24*time.Hour - 2*time.Second)
	maintainBoth()
	if a, _ := m1.Active(ctx, ES256); a.KID != k1.KID {
		t.Fatal("rotated before RotationInterval")
	}

	// Due: exactly one new active key, which was already published.
	clk.Advance(2 * time.Second)
	maintainBoth()
	a1, _ := m1.Active(ctx, ES256)
	a2, _ := m2.Active(ctx, ES256)
	if a1.KID == k1.KID || a1.KID != a2.KID {
		t.Fatalf("after due time: active %s / %s, old %s", a1.KID, a2.KID, k1.KID)
	}
	if !kidsOf(t, body)[a1.KID] {
		t.Errorf("activated key %s was not in the JWKS published before activation", a1.KID)
	}
	if old, err := m1.Lookup(ctx, k1.KID); err != nil || old.State != storage.KeyRetired {
		t.Errorf("previous key: %v, %v; want retired and published", old, err)
	}

	// A pending key both instances may have created in the same instant is
	// removed once it is superseded (after the grace period).
	clk.Advance(supersededGrace + time.Second)
	maintainBoth()
	got = byState(t, st, ES256)
	if got[storage.KeyActive] != 1 || got[storage.KeyRetired] != 1 || got[storage.KeyPending] != 0 {
		t.Errorf("after rotation by two instances: %v, want 1 active, 1 retired, 0 pending", got)
	}
	body, _, _ = m1.JWKS(ctx)
	if kids := kidsOf(t, body); len(kids) != 2 {
		t.Errorf("JWKS %v, want the active and the retired key", kids)
	}
}

func TestActivationAloneKeepsTheETag(t *testing.T) {
	ctx := context.Background()
	st := newSQLite(t)
	clk := newClock()
	m := newManager(t, st, testRing(t, 1), Options{
		Algorithms: []string{EdDSA}, RotationInterval: 48 * time.Hour, PublishLead: time.Hour, Now: clk.Now,
	})
	clk.Advance(47*time.Hour + time.Second)
	if err := m.maintain(ctx); err != nil {
		t.Fatal(err)
	}
	_, etagPending, _ := m.JWKS(ctx)
	clk.Advance(time.Hour)
	if err := m.maintain(ctx); err != nil {
		t.Fatal(err)
	}
	if got := byState(t, st, EdDSA); got[storage.KeyRetired] != 1 {
		t.Fatalf("rotation did not happen: %v", got)
	}
	if _, etag, _ := m.JWKS(ctx); etag != etagPending {
		t.Errorf("ETag changed (%s → %s) though activation only changed states, not the published set", etagPending, etag)
	}
}

func TestUnknownKidLookupsAreRateLimited(t *testing.T) {
	ctx := context.Background()
	sq := newSQLite(t)
	st := &countingStore{KeyStore: sq}
	ring := testRing(t, 1)
	m := newManager(t, st, ring, Options{Algorithms: []string{ES256}})
	var mono time.Duration
	var monoMu sync.Mutex
	m.monoNow = func() time.Duration { monoMu.Lock(); defer monoMu.Unlock(); return mono }
	advance := func(d time.Duration) { monoMu.Lock(); mono += d; monoMu.Unlock() }
	advance(time.Hour)

	st.lists.Store(0)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				if _, err := m.Lookup(ctx, fmt.Sprintf("forged-%d-%d", g, i)); !errors.Is(err, ErrUnknownKey) {
					t.Errorf("Lookup(forged) error = %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := st.lists.Load(); n != 1 {
		t.Errorf("1600 unknown-kid lookups within one second hit the store %d times, want 1", n)
	}

	// A key created by another instance is found once the limiter allows a reload.
	other := newManager(t, sq, ring, Options{Algorithms: []string{ES256}})
	info, err := other.Rotate(ctx, ES256)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Lookup(ctx, info.KID); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Lookup within the same second reloaded anyway: %v", err)
	}
	advance(time.Second)
	k, err := m.Lookup(ctx, info.KID)
	if err != nil || k.KID != info.KID {
		t.Fatalf("Lookup of another instance's new key after a second: %v, %v", k, err)
	}
	if n := st.lists.Load(); n != 2 {
		t.Errorf("store hit %d times in total, want 2", n)
	}
	// Known kids never touch the store.
	for range 100 {
		if _, err := m.Lookup(ctx, info.KID); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.lists.Load(); n != 2 {
		t.Errorf("lookups of a known kid hit the store (%d calls)", n)
	}
}

func TestOnChangeIsCalledForStoreChanges(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	calls := 0
	m := newManager(t, newSQLite(t), testRing(t, 1), Options{
		Algorithms: []string{ES256},
		OnChange:   func() { mu.Lock(); calls++; mu.Unlock() },
	})
	mu.Lock()
	afterStart := calls
	mu.Unlock()
	if afterStart != 2 { // create + activate
		t.Errorf("OnChange called %d times on first start, want 2", afterStart)
	}
	if _, err := m.Rotate(ctx, ES256); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != afterStart+2 {
		t.Errorf("OnChange called %d times by a rotation, want 2", calls-afterStart)
	}
}
