package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// The backend keeps full nanosecond precision (the shared suite only asks
// for milliseconds), stores instants whatever the zone, and keeps the zero
// time distinct from the Unix epoch.
func TestTimesRoundTripExactly(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	cases := []struct {
		name string
		at   time.Time
	}{
		{"nanoseconds", time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.UTC)},
		{"one nanosecond past a second", time.Date(2026, 3, 14, 15, 9, 26, 1, time.UTC)},
		{"other zone", time.Date(2026, 3, 14, 20, 9, 26, 999999999, time.FixedZone("UTC+5", 5*3600))},
		{"zero time", time.Time{}},
		{"unix epoch", time.Unix(0, 0)},
		{"far future", time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		{"with monotonic reading", time.Now()},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := storage.TokenRecord{
				Kind: storage.KindAccessToken, Signature: fmt.Sprintf("sig-%d", i), RequestID: "r",
				Active: true, RequestedAt: c.at, ExpiresAt: c.at, FirstUsedAt: &c.at,
			}
			if err := s.CreateToken(ctx, rec); err != nil {
				t.Fatalf("CreateToken: %v", err)
			}
			got, err := s.GetToken(ctx, rec.Kind, rec.Signature)
			if err != nil {
				t.Fatalf("GetToken: %v", err)
			}
			for name, g := range map[string]time.Time{"RequestedAt": got.RequestedAt, "ExpiresAt": got.ExpiresAt, "FirstUsedAt": *got.FirstUsedAt} {
				if !g.Equal(c.at) {
					t.Errorf("%s = %v, want %v", name, g, c.at)
				}
				if g.Location() != time.UTC {
					t.Errorf("%s comes back in %v, want UTC", name, g.Location())
				}
			}
		})
	}
}

func TestNullableTimesStayNil(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	k := storage.SigningKey{KID: "k1", Alg: "ES256", Use: "sig", State: storage.KeyPending, CreatedAt: base}
	if err := s.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetKey(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ActivatedAt != nil || got.RetiredAt != nil || got.RetireAfter != nil {
		t.Errorf("unset times read back as %v %v %v, want nil", got.ActivatedAt, got.RetiredAt, got.RetireAfter)
	}
}

func TestInvalidCursorIsAPlainError(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	cases := []struct {
		name string
		list func() error
	}{
		{"users, not base64", func() error {
			_, _, err := s.ListUsers(ctx, storage.ListOptions{Cursor: "!!!"})
			return err
		}},
		{"clients, not base64", func() error {
			_, _, err := s.ListClients(ctx, storage.ListOptions{Cursor: "***"})
			return err
		}},
		{"audit, not base64", func() error {
			_, _, err := s.ListAudit(ctx, storage.AuditFilter{Cursor: "%%"})
			return err
		}},
		{"audit, base64 of garbage", func() error {
			_, _, err := s.ListAudit(ctx, storage.AuditFilter{Cursor: encodeCursor("garbage")})
			return err
		}},
		{"audit, bad id", func() error {
			_, _, err := s.ListAudit(ctx, storage.AuditFilter{Cursor: encodeCursor(ts(base) + " x")})
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.list()
			if !errors.Is(err, errBadCursor) {
				t.Errorf("got %v, want an invalid-cursor error", err)
			}
			if errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrConflict) {
				t.Errorf("error %v matches a storage sentinel", err)
			}
		})
	}
}

// A non-positive batch limit deletes nothing rather than everything.
func TestDeleteExpiredWithZeroLimitDeletesNothing(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	rec := storage.TokenRecord{Kind: storage.KindAccessToken, Signature: "s", RequestID: "r",
		RequestedAt: base, ExpiresAt: base}
	if err := s.CreateToken(ctx, rec); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{0, -1} {
		n, err := s.DeleteExpiredTokens(ctx, base.Add(time.Hour), limit)
		if err != nil || n != 0 {
			t.Errorf("DeleteExpiredTokens limit %d = %d, %v; want 0, nil", limit, n, err)
		}
	}
	if _, err := s.GetToken(ctx, rec.Kind, rec.Signature); err != nil {
		t.Errorf("token gone after zero-limit deletes: %v", err)
	}
}

// Two Store instances on one file behave like two server processes:
// their conditional updates still have exactly one winner.
func TestRacesAcrossStoresOnOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sesame.db")
	stores := make([]*Store, 3)
	for i := range stores {
		s, err := Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	if _, err := stores[0].Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := stores[0].CreateToken(ctx, storage.TokenRecord{Kind: storage.KindRefreshToken, Signature: "rt",
		RequestID: "r", Active: true, RequestedAt: base, ExpiresAt: base.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, kid := range []string{"old", "new-a", "new-b", "new-c"} {
		state := storage.KeyPending
		if kid == "old" {
			state = storage.KeyActive
		}
		if err := stores[0].CreateKey(ctx, storage.SigningKey{KID: kid, Alg: "ES256", Use: "sig", State: state, CreatedAt: base}); err != nil {
			t.Fatal(err)
		}
	}
	if err := stores[0].CreateRegistrationToken(ctx, storage.RegistrationToken{ID: "iat", MaxUses: 2,
		CreatedAt: base, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}

	const perStore = 4
	type result struct{ deact, claim, activate, use error }
	results := make([]result, len(stores)*perStore)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range results {
		s := stores[i%len(stores)]
		wg.Go(func() {
			<-start
			r := &results[i]
			r.deact = s.DeactivateToken(ctx, storage.KindRefreshToken, "rt", base, []byte{byte(i)})
			r.claim = s.ClaimNonce(ctx, storage.NonceClientAssertion, "jti", time.Now().Add(time.Hour))
			r.activate = s.ActivateKey(ctx, []string{"new-a", "new-b", "new-c"}[i%3], "old", base, base.Add(time.Hour))
			_, r.use = s.UseRegistrationToken(ctx, "iat", time.Now())
		})
	}
	close(start)
	wg.Wait()

	count := func(name string, pick func(result) error, loser error, wantWins int) {
		t.Helper()
		wins := 0
		for i, r := range results {
			switch err := pick(r); {
			case err == nil:
				wins++
			case !errors.Is(err, loser):
				t.Errorf("%s caller %d: %v, want nil or %v", name, i, err, loser)
			}
		}
		if wins != wantWins {
			t.Errorf("%s: %d winners, want %d", name, wins, wantWins)
		}
	}
	count("DeactivateToken", func(r result) error { return r.deact }, storage.ErrConflict, 1)
	count("ClaimNonce", func(r result) error { return r.claim }, storage.ErrConflict, 1)
	count("ActivateKey", func(r result) error { return r.activate }, storage.ErrConflict, 1)
	count("UseRegistrationToken", func(r result) error { return r.use }, storage.ErrNotFound, 2)

	keys, err := stores[1].ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	active := 0
	for _, k := range keys {
		if k.State == storage.KeyActive {
			active++
		}
	}
	if active != 1 {
		t.Errorf("%d active ES256 keys after the race, want 1", active)
	}
}

// The one-active-key-per-algorithm index backs ActivateKey's check.
func TestSecondActiveKeyConflicts(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	for i, kid := range []string{"a", "b"} {
		err := s.CreateKey(ctx, storage.SigningKey{KID: kid, Alg: "ES256", Use: "sig", State: storage.KeyActive, CreatedAt: base})
		if i == 1 && !errors.Is(err, storage.ErrConflict) {
			t.Errorf("second active ES256 key: %v, want ErrConflict", err)
		}
	}
	if err := s.CreateKey(ctx, storage.SigningKey{KID: "c", Alg: "RS256", Use: "sig", State: storage.KeyActive, CreatedAt: base}); err != nil {
		t.Errorf("active key of another algorithm: %v", err)
	}
}
