package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
)

func regToken(id string, maxUses int, expires time.Time) storage.RegistrationToken {
	return storage.RegistrationToken{
		ID:          id,
		Description: "token " + id,
		MaxUses:     maxUses,
		CreatedAt:   base.In(zone),
		ExpiresAt:   expires,
	}
}

func testRegistrationTokens(t *testing.T, h Harness) {
	t.Run("create, list, delete", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		want := map[string]storage.RegistrationToken{
			"rt-1": regToken("rt-1", 5, at(time.Hour)),
			"rt-2": regToken("rt-2", 0, at(24*time.Hour).In(zone)),
		}
		for _, id := range []string{"rt-1", "rt-2"} {
			ok(t, s.CreateRegistrationToken(ctx, want[id]), "CreateRegistrationToken "+id)
		}
		ts, err := s.ListRegistrationTokens(ctx)
		ok(t, err, "ListRegistrationTokens")
		var ids []string
		for _, got := range ts {
			ids = append(ids, got.ID)
			checkRecord(t, "listed registration token "+got.ID, want[got.ID], got)
		}
		sortedEqual(t, "ListRegistrationTokens", ids, []string{"rt-1", "rt-2"})

		ok(t, s.DeleteRegistrationToken(ctx, "rt-1"), "DeleteRegistrationToken")
		wantErr(t, s.DeleteRegistrationToken(ctx, "rt-1"), storage.ErrNotFound, "second DeleteRegistrationToken")
		_, err = s.UseRegistrationToken(ctx, "rt-1", base)
		wantErr(t, err, storage.ErrNotFound, "UseRegistrationToken of a deleted token")
		ts, err = s.ListRegistrationTokens(ctx)
		ok(t, err, "ListRegistrationTokens")
		if len(ts) != 1 || ts[0].ID != "rt-2" {
			t.Errorf("after delete ListRegistrationTokens returned %d tokens, want only rt-2", len(ts))
		}
	})

	t.Run("use counts uses until exhausted", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateRegistrationToken(ctx, regToken("limited", 2, at(time.Hour))), "CreateRegistrationToken")
		for i := 1; i <= 2; i++ {
			got, err := s.UseRegistrationToken(ctx, "limited", at(time.Duration(i)*time.Minute))
			ok(t, err, fmt.Sprintf("use %d", i))
			want := regToken("limited", 2, at(time.Hour))
			want.Uses = i
			checkRecord(t, fmt.Sprintf("token returned by use %d", i), want, got)
		}
		_, err := s.UseRegistrationToken(ctx, "limited", at(3*time.Minute))
		wantErr(t, err, storage.ErrNotFound, "use 3 of a MaxUses=2 token")
		ts, err := s.ListRegistrationTokens(ctx)
		ok(t, err, "ListRegistrationTokens")
		if len(ts) != 1 || ts[0].Uses != 2 {
			t.Errorf("after the refused use the list shows %+v, want one token with 2 uses", ts)
		}
	})

	t.Run("unlimited token", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateRegistrationToken(ctx, regToken("free", 0, at(time.Hour))), "CreateRegistrationToken")
		for i := 1; i <= 4; i++ {
			got, err := s.UseRegistrationToken(ctx, "free", base)
			ok(t, err, fmt.Sprintf("use %d of an unlimited token", i))
			if got.Uses != i {
				t.Errorf("use %d returned Uses=%d", i, got.Uses)
			}
		}
	})

	t.Run("expired and missing tokens are not found", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateRegistrationToken(ctx, regToken("old", 0, at(-time.Second).In(zone))), "CreateRegistrationToken")
		_, err := s.UseRegistrationToken(ctx, "old", base)
		wantErr(t, err, storage.ErrNotFound, "UseRegistrationToken of an expired token")
		got, err := s.UseRegistrationToken(ctx, "old", at(-time.Minute))
		ok(t, err, "UseRegistrationToken of the same token before its expiry")
		if got.Uses != 1 {
			t.Errorf("Uses = %d after one successful use (the expired attempt must not count)", got.Uses)
		}
		_, err = s.UseRegistrationToken(ctx, "nope", base)
		wantErr(t, err, storage.ErrNotFound, "UseRegistrationToken of a missing token")
		wantErr(t, s.DeleteRegistrationToken(ctx, "nope"), storage.ErrNotFound, "DeleteRegistrationToken of a missing token")
	})

	t.Run("concurrent uses of a single-use token: exactly one of 8 wins", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateRegistrationToken(ctx, regToken("once", 1, at(time.Hour))), "CreateRegistrationToken")
		errs := contend(8, func(int) error {
			_, err := s.UseRegistrationToken(ctx, "once", base)
			return err
		})
		oneWinner(t, errs, storage.ErrNotFound, "UseRegistrationToken")
		ts, err := s.ListRegistrationTokens(ctx)
		ok(t, err, "ListRegistrationTokens")
		if len(ts) != 1 || ts[0].Uses != 1 {
			t.Errorf("after the race the list shows %+v, want one token with 1 use", ts)
		}
	})
}
