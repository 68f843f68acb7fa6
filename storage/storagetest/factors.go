package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
)

func totpFactor(id, userID string) storage.Factor {
	return storage.Factor{
		ID: id, UserID: userID, Kind: storage.FactorTOTP,
		Secret: []byte("sealed-" + id), CreatedAt: base.In(zone),
	}
}

func passkeyFactor(id, userID, credID string) storage.Factor {
	return storage.Factor{
		ID: id, UserID: userID, Kind: storage.FactorWebAuthn, Name: "Laptop " + id,
		Secret: []byte(`{"pk":"` + id + `"}`), CredentialID: credID, Counter: 3,
		Confirmed: true, CreatedAt: at(time.Minute),
	}
}

func factorIDs(fs []storage.Factor) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return out
}

func testFactors(t *testing.T, h Harness) {
	t.Run("create, get, by credential id, list oldest first, per user", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		totp := totpFactor("f-1", "u-1")
		key := passkeyFactor("f-2", "u-1", "cred-A")
		other := passkeyFactor("f-3", "u-2", "cred-B")
		for _, f := range []storage.Factor{key, totp, other} {
			ok(t, s.CreateFactor(ctx, f), "CreateFactor "+f.ID)
		}
		got, err := s.GetFactor(ctx, "f-1")
		ok(t, err, "GetFactor")
		checkRecord(t, "GetFactor (TOTP)", totp, got)
		got, err = s.GetFactorByCredentialID(ctx, "cred-A")
		ok(t, err, "GetFactorByCredentialID")
		checkRecord(t, "GetFactorByCredentialID", key, got)
		_, err = s.GetFactorByCredentialID(ctx, "")
		wantErr(t, err, storage.ErrNotFound, "GetFactorByCredentialID of an empty id (TOTP factors have none)")
		_, err = s.GetFactor(ctx, "f-missing")
		wantErr(t, err, storage.ErrNotFound, "GetFactor of a missing id")
		fs, err := s.ListFactors(ctx, "u-1")
		ok(t, err, "ListFactors")
		orderedEqual(t, "ListFactors u-1", factorIDs(fs), []string{"f-1", "f-2"})
		fs, err = s.ListFactors(ctx, "u-nobody")
		ok(t, err, "ListFactors of a user without factors")
		wantCount(t, len(fs), nil, 0, "ListFactors of a user without factors")

		wantErr(t, s.CreateFactor(ctx, totpFactor("f-1", "u-9")), storage.ErrConflict, "CreateFactor of a duplicate id")
		wantErr(t, s.CreateFactor(ctx, passkeyFactor("f-4", "u-9", "cred-A")), storage.ErrConflict,
			"CreateFactor of a credential id registered by another user")
		ok(t, s.CreateFactor(ctx, totpFactor("f-5", "u-2")), "a second factor without credential id")
	})

	t.Run("confirm once, only by its owner", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateFactor(ctx, totpFactor("f-1", "u-1")), "CreateFactor")
		wantErr(t, s.AdvanceFactorCounter(ctx, "f-1", 100, at(time.Minute)), storage.ErrNotFound,
			"AdvanceFactorCounter of an unconfirmed factor")
		wantErr(t, s.ConfirmFactor(ctx, "u-2", "f-1", 100, at(time.Minute)), storage.ErrNotFound, "ConfirmFactor by another user")
		wantErr(t, s.ConfirmFactor(ctx, "u-1", "f-missing", 100, at(time.Minute)), storage.ErrNotFound, "ConfirmFactor of a missing id")
		errs := contend(4, func(int) error { return s.ConfirmFactor(ctx, "u-1", "f-1", 100, at(time.Minute)) })
		oneWinner(t, errs, storage.ErrConflict, "concurrent ConfirmFactor")
		got, err := s.GetFactor(ctx, "f-1")
		ok(t, err, "GetFactor")
		if !got.Confirmed || got.Counter != 100 || got.LastUsedAt == nil || !sameTime(*got.LastUsedAt, at(time.Minute)) {
			t.Errorf("after ConfirmFactor: confirmed=%v counter=%d last_used=%v", got.Confirmed, got.Counter, got.LastUsedAt)
		}
	})

	t.Run("counter only moves forward; one of concurrent uses of a code wins", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateFactor(ctx, totpFactor("f-1", "u-1")), "CreateFactor")
		ok(t, s.ConfirmFactor(ctx, "u-1", "f-1", 100, base), "ConfirmFactor")
		wantErr(t, s.AdvanceFactorCounter(ctx, "f-1", 100, at(time.Second)), storage.ErrConflict, "the step already used (replay)")
		wantErr(t, s.AdvanceFactorCounter(ctx, "f-1", 99, at(time.Second)), storage.ErrConflict, "an earlier step")
		errs := contend(6, func(int) error { return s.AdvanceFactorCounter(ctx, "f-1", 101, at(2*time.Second)) })
		oneWinner(t, errs, storage.ErrConflict, "concurrent AdvanceFactorCounter with one code")
		got, err := s.GetFactor(ctx, "f-1")
		ok(t, err, "GetFactor")
		if got.Counter != 101 || got.LastUsedAt == nil || !sameTime(*got.LastUsedAt, at(2*time.Second)) {
			t.Errorf("after advance: counter=%d last_used=%v, want 101 at +2s", got.Counter, got.LastUsedAt)
		}
		wantErr(t, s.AdvanceFactorCounter(ctx, "f-missing", 5, base), storage.ErrNotFound, "AdvanceFactorCounter of a missing id")

		// An authenticator that does not count (always 0) may be used
		// again; one that counted may not go back to 0.
		zero := passkeyFactor("f-2", "u-1", "cred-Z")
		zero.Counter = 0
		ok(t, s.CreateFactor(ctx, zero), "CreateFactor zero counter")
		ok(t, s.AdvanceFactorCounter(ctx, "f-2", 0, at(time.Second)), "zero counter, first use")
		ok(t, s.AdvanceFactorCounter(ctx, "f-2", 0, at(2*time.Second)), "zero counter, second use")
		ok(t, s.AdvanceFactorCounter(ctx, "f-2", 1, at(3*time.Second)), "zero counter starts counting")
		wantErr(t, s.AdvanceFactorCounter(ctx, "f-2", 0, at(4*time.Second)), storage.ErrConflict, "a counting authenticator back at 0")
	})

	t.Run("rename and delete only the owner's factor", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateFactor(ctx, passkeyFactor("f-1", "u-1", "cred-A")), "CreateFactor")
		wantErr(t, s.RenameFactor(ctx, "u-2", "f-1", "stolen"), storage.ErrNotFound, "RenameFactor by another user")
		ok(t, s.RenameFactor(ctx, "u-1", "f-1", "YubiKey"), "RenameFactor")
		got, err := s.GetFactor(ctx, "f-1")
		ok(t, err, "GetFactor")
		if got.Name != "YubiKey" {
			t.Errorf("name after rename = %q", got.Name)
		}
		wantErr(t, s.DeleteFactor(ctx, "u-2", "f-1"), storage.ErrNotFound, "DeleteFactor by another user")
		ok(t, s.DeleteFactor(ctx, "u-1", "f-1"), "DeleteFactor")
		wantErr(t, s.DeleteFactor(ctx, "u-1", "f-1"), storage.ErrNotFound, "DeleteFactor twice")
		_, err = s.GetFactorByCredentialID(ctx, "cred-A")
		wantErr(t, err, storage.ErrNotFound, "credential of a deleted factor")
		ok(t, s.CreateFactor(ctx, passkeyFactor("f-2", "u-1", "cred-A")), "credential id reusable after delete")
	})

	t.Run("recovery codes: replace, single use, count, concurrent use", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.ReplaceRecoveryCodes(ctx, "u-1", []string{"h1", "h2", "h3"}, base), "ReplaceRecoveryCodes")
		ok(t, s.ReplaceRecoveryCodes(ctx, "u-2", []string{"h1"}, base), "ReplaceRecoveryCodes other user, same hash")
		n, err := s.CountRecoveryCodes(ctx, "u-1")
		wantCount(t, n, err, 3, "CountRecoveryCodes")
		ok(t, s.UseRecoveryCode(ctx, "u-1", "h2", at(time.Minute)), "UseRecoveryCode")
		wantErr(t, s.UseRecoveryCode(ctx, "u-1", "h2", at(time.Minute)), storage.ErrNotFound, "a used code again")
		wantErr(t, s.UseRecoveryCode(ctx, "u-1", "h-unknown", at(time.Minute)), storage.ErrNotFound, "an unknown code")
		wantErr(t, s.UseRecoveryCode(ctx, "u-3", "h1", at(time.Minute)), storage.ErrNotFound, "another user's code")
		n, err = s.CountRecoveryCodes(ctx, "u-1")
		wantCount(t, n, err, 2, "CountRecoveryCodes after one use")
		errs := contend(5, func(int) error { return s.UseRecoveryCode(ctx, "u-1", "h3", at(2*time.Minute)) })
		oneWinner(t, errs, storage.ErrNotFound, "concurrent UseRecoveryCode of one code")
		ok(t, s.ReplaceRecoveryCodes(ctx, "u-1", []string{"n1", "n2"}, at(time.Hour)), "regenerate")
		wantErr(t, s.UseRecoveryCode(ctx, "u-1", "h1", at(time.Hour)), storage.ErrNotFound, "an old code after regeneration")
		n, err = s.CountRecoveryCodes(ctx, "u-1")
		wantCount(t, n, err, 2, "CountRecoveryCodes after regeneration")
		n, err = s.CountRecoveryCodes(ctx, "u-2")
		wantCount(t, n, err, 1, "the other user's codes are untouched")
	})

	t.Run("DeleteUserFactors and DeleteUser remove factors and codes", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateUser(ctx, user("u-1", "alice")), "CreateUser u-1")
		ok(t, s.CreateUser(ctx, user("u-2", "bob")), "CreateUser u-2")
		ok(t, s.CreateFactor(ctx, totpFactor("f-1", "u-1")), "CreateFactor f-1")
		ok(t, s.CreateFactor(ctx, passkeyFactor("f-2", "u-1", "cred-A")), "CreateFactor f-2")
		ok(t, s.CreateFactor(ctx, passkeyFactor("f-3", "u-2", "cred-B")), "CreateFactor f-3")
		ok(t, s.ReplaceRecoveryCodes(ctx, "u-1", []string{"h1"}, base), "codes u-1")
		ok(t, s.ReplaceRecoveryCodes(ctx, "u-2", []string{"h2"}, base), "codes u-2")
		n, err := s.DeleteUserFactors(ctx, "u-1")
		wantCount(t, n, err, 2, "DeleteUserFactors")
		fs, err := s.ListFactors(ctx, "u-1")
		ok(t, err, "ListFactors")
		wantCount(t, len(fs), nil, 0, "factors left after DeleteUserFactors")
		c, err := s.CountRecoveryCodes(ctx, "u-1")
		wantCount(t, c, err, 0, "codes left after DeleteUserFactors")
		n, err = s.DeleteUserFactors(ctx, "u-1")
		wantCount(t, n, err, 0, "DeleteUserFactors of a user without any")

		ok(t, s.DeleteUser(ctx, "u-2"), "DeleteUser u-2")
		_, err = s.GetFactor(ctx, "f-3")
		wantErr(t, err, storage.ErrNotFound, "factor of a deleted user")
		c, err = s.CountRecoveryCodes(ctx, "u-2")
		wantCount(t, c, err, 0, "codes of a deleted user")
	})

	t.Run("a failed transaction leaves no factor behind", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		boom := errors.New("boom")
		err := storage.InTx(ctx, s, func(ctx context.Context) error {
			if err := s.CreateFactor(ctx, totpFactor("f-1", "u-1")); err != nil {
				return err
			}
			if err := s.ReplaceRecoveryCodes(ctx, "u-1", []string{"h1"}, base); err != nil {
				return err
			}
			return boom
		})
		wantErr(t, err, boom, "InTx")
		_, err = s.GetFactor(ctx, "f-1")
		wantErr(t, err, storage.ErrNotFound, "factor after rollback")
		n, err := s.CountRecoveryCodes(ctx, "u-1")
		wantCount(t, n, err, 0, "codes after rollback")
	})
}
