package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
)

func testNonces(t *testing.T, h Harness) {
	// ClaimNonce has no "now" argument: whether an existing entry has
	// expired is decided by the backend's clock, so these tests use real
	// time, far enough from the boundary to be deterministic.
	t.Run("first claim wins, second conflicts", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		exp := time.Now().Add(time.Hour)
		ok(t, s.ClaimNonce(ctx, storage.NonceClientAssertion, "jti-1", exp), "first ClaimNonce")
		wantErr(t, s.ClaimNonce(ctx, storage.NonceClientAssertion, "jti-1", exp.Add(time.Hour)), storage.ErrConflict, "second ClaimNonce")
		ok(t, s.ClaimNonce(ctx, storage.NonceClientAssertion, "jti-2", exp), "ClaimNonce of another value")
	})

	t.Run("namespaces are independent", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		exp := time.Now().Add(time.Hour)
		ok(t, s.ClaimNonce(ctx, storage.NonceClientAssertion, "same", exp), "ClaimNonce client_assertion")
		ok(t, s.ClaimNonce(ctx, storage.NonceJWTDenylist, "same", exp), "ClaimNonce jwt_denylist with the same value")
		wantErr(t, s.ClaimNonce(ctx, storage.NonceJWTDenylist, "same", exp), storage.ErrConflict, "second ClaimNonce jwt_denylist")
	})

	t.Run("an expired entry can be claimed again", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		now := time.Now()
		ok(t, s.ClaimNonce(ctx, storage.NonceClientAssertion, "jti", now.Add(-time.Minute)), "ClaimNonce with a past expiry")
		ok(t, s.ClaimNonce(ctx, storage.NonceClientAssertion, "jti", now.Add(time.Hour)), "ClaimNonce over the expired entry")
		wantErr(t, s.ClaimNonce(ctx, storage.NonceClientAssertion, "jti", now.Add(2*time.Hour)), storage.ErrConflict,
			"ClaimNonce over the renewed entry")
		exists, err := s.NonceExists(ctx, storage.NonceClientAssertion, "jti", now.Add(30*time.Minute))
		ok(t, err, "NonceExists")
		if !exists {
			t.Error("the renewed entry does not exist before its new expiry: the replacement did not store the new expiry")
		}
	})

	t.Run("exists honours now", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		exp := base.In(zone)
		ok(t, s.ClaimNonce(ctx, storage.NonceJWTDenylist, "jti", exp), "ClaimNonce")
		cases := []struct {
			name  string
			ns    string
			value string
			now   time.Time
			want  bool
		}{
			{"well before expiry", storage.NonceJWTDenylist, "jti", at(-time.Hour), true},
			{"just before expiry", storage.NonceJWTDenylist, "jti", at(-10 * time.Millisecond), true},
			{"after expiry", storage.NonceJWTDenylist, "jti", at(time.Second), false},
			{"other namespace", storage.NonceClientAssertion, "jti", at(-time.Hour), false},
			{"other value", storage.NonceJWTDenylist, "other", at(-time.Hour), false},
		}
		for _, c := range cases {
			got, err := s.NonceExists(ctx, c.ns, c.value, c.now)
			ok(t, err, "NonceExists "+c.name)
			if got != c.want {
				t.Errorf("NonceExists %s = %v, want %v", c.name, got, c.want)
			}
		}
	})

	t.Run("concurrent claims: exactly one of 8 wins", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		exp := time.Now().Add(time.Hour)
		errs := contend(8, func(int) error {
			return s.ClaimNonce(ctx, storage.NonceClientAssertion, "jti", exp)
		})
		oneWinner(t, errs, storage.ErrConflict, "ClaimNonce")
	})

	t.Run("concurrent claims over an expired entry: exactly one of 8 wins", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.ClaimNonce(ctx, storage.NonceClientAssertion, "jti", time.Now().Add(-time.Hour)), "ClaimNonce with a past expiry")
		exp := time.Now().Add(time.Hour)
		errs := contend(8, func(int) error {
			return s.ClaimNonce(ctx, storage.NonceClientAssertion, "jti", exp)
		})
		oneWinner(t, errs, storage.ErrConflict, "ClaimNonce")
	})

	t.Run("delete expired honours before and the batch limit", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		entries := []struct {
			ns, value string
			exp       time.Time
		}{
			{storage.NonceClientAssertion, "x1", at(-time.Hour).In(zone)},
			{storage.NonceJWTDenylist, "x2", at(-time.Second)},
			{storage.NonceJWTDenylist, "x3", time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)},
			{storage.NonceClientAssertion, "live1", at(time.Hour).In(zone)},
			{storage.NonceJWTDenylist, "live2", at(time.Second)},
		}
		for _, e := range entries {
			ok(t, s.ClaimNonce(ctx, e.ns, e.value, e.exp), "ClaimNonce "+e.value)
		}
		for round, want := range []int{2, 1, 0} {
			n, err := s.DeleteExpiredNonces(ctx, base, 2)
			wantCount(t, n, err, want, fmt.Sprintf("DeleteExpiredNonces limit 2, round %d", round+1))
		}
		for _, e := range entries[3:] {
			exists, err := s.NonceExists(ctx, e.ns, e.value, base)
			ok(t, err, "NonceExists")
			if !exists {
				t.Errorf("unexpired nonce %s was deleted", e.value)
			}
		}
	})
}
