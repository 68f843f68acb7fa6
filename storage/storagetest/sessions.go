package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
)

func loginSession(id, userID string) storage.LoginSession {
	return storage.LoginSession{
		ID:        id,
		UserID:    userID,
		AuthTime:  base.In(zone),
		AMR:       []string{"pwd", "otp"},
		CreatedAt: base,
		ExpiresAt: at(24 * time.Hour),
	}
}

func testSessions(t *testing.T, h Harness) {
	t.Run("create, get and revoke", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		want := loginSession("sess-1", "user-1")
		ok(t, s.CreateSession(ctx, want), "CreateSession")
		noAMR := loginSession("sess-2", "user-1")
		noAMR.AMR = nil
		ok(t, s.CreateSession(ctx, noAMR), "CreateSession without AMR")
		for _, w := range []storage.LoginSession{want, noAMR} {
			got, err := s.GetSession(ctx, w.ID)
			ok(t, err, "GetSession")
			checkRecord(t, "session "+w.ID, w, got)
		}
		_, err := s.GetSession(ctx, "nope")
		wantErr(t, err, storage.ErrNotFound, "GetSession of a missing session")

		ok(t, s.RevokeSession(ctx, "sess-1", at(time.Hour)), "RevokeSession")
		got, err := s.GetSession(ctx, "sess-1")
		ok(t, err, "GetSession of a revoked session")
		want.RevokedAt = ptr(at(time.Hour))
		checkRecord(t, "revoked session", want, got)
		got, err = s.GetSession(ctx, "sess-2")
		ok(t, err, "GetSession")
		checkRecord(t, "the other session", noAMR, got)
	})

	t.Run("list a user's live sessions, newest first, with the user agent", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		mk := func(id, user string, created time.Duration) storage.LoginSession {
			l := loginSession(id, user)
			l.CreatedAt = at(created)
			l.UserAgent = "Agent " + id
			return l
		}
		expired := mk("l-exp", "alice", 0)
		expired.ExpiresAt = at(time.Minute)
		for _, l := range []storage.LoginSession{
			mk("l-old", "alice", time.Minute), mk("l-new", "alice", 2*time.Minute), mk("l-rev", "alice", 3*time.Minute),
			expired, mk("l-bob", "bob", time.Minute),
		} {
			ok(t, s.CreateSession(ctx, l), "CreateSession "+l.ID)
		}
		ok(t, s.RevokeSession(ctx, "l-rev", at(5*time.Minute)), "RevokeSession")
		got, err := s.ListUserSessions(ctx, "alice", at(10*time.Minute))
		ok(t, err, "ListUserSessions")
		if len(got) != 2 || got[0].ID != "l-new" || got[1].ID != "l-old" {
			t.Fatalf("ListUserSessions = %+v, want l-new then l-old", got)
		}
		checkRecord(t, "listed session", mk("l-new", "alice", 2*time.Minute), got[0])
		none, err := s.ListUserSessions(ctx, "carol", base)
		ok(t, err, "ListUserSessions of a user without sessions")
		if len(none) != 0 {
			t.Errorf("ListUserSessions(carol) = %v, want none", none)
		}
	})

	t.Run("extend moves the expiry of an unrevoked session only", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		want := loginSession("e1", "user-1")
		ok(t, s.CreateSession(ctx, want), "CreateSession")
		ok(t, s.ExtendSession(ctx, "e1", at(48*time.Hour)), "ExtendSession")
		got, err := s.GetSession(ctx, "e1")
		ok(t, err, "GetSession")
		want.ExpiresAt = at(48 * time.Hour)
		checkRecord(t, "extended session", want, got)
		wantErr(t, s.ExtendSession(ctx, "nope", at(time.Hour)), storage.ErrNotFound, "ExtendSession of a missing session")
		ok(t, s.RevokeSession(ctx, "e1", at(time.Hour)), "RevokeSession")
		wantErr(t, s.ExtendSession(ctx, "e1", at(72*time.Hour)), storage.ErrNotFound, "ExtendSession of a revoked session")
	})

	t.Run("revoke a user's sessions counts the unrevoked ones", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		for _, ss := range []storage.LoginSession{
			loginSession("a1", "alice"), loginSession("a2", "alice"), loginSession("a3", "alice"), loginSession("b1", "bob"),
		} {
			ok(t, s.CreateSession(ctx, ss), "CreateSession "+ss.ID)
		}
		ok(t, s.RevokeSession(ctx, "a3", at(time.Minute)), "RevokeSession a3")
		n, err := s.RevokeUserSessions(ctx, "alice", at(time.Hour))
		wantCount(t, n, err, 2, "RevokeUserSessions alice")
		want := map[string]*time.Time{"a1": ptr(at(time.Hour)), "a2": ptr(at(time.Hour)), "a3": ptr(at(time.Minute)), "b1": nil}
		for id, w := range want {
			got, err := s.GetSession(ctx, id)
			ok(t, err, "GetSession "+id)
			switch {
			case w == nil && got.RevokedAt != nil:
				t.Errorf("%s revoked at %v, want not revoked", id, got.RevokedAt)
			case w != nil && (got.RevokedAt == nil || !sameTime(*got.RevokedAt, *w)):
				t.Errorf("%s RevokedAt = %v, want %v", id, got.RevokedAt, *w)
			}
		}
		n, err = s.RevokeUserSessions(ctx, "alice", at(2*time.Hour))
		wantCount(t, n, err, 0, "second RevokeUserSessions alice")
		n, err = s.RevokeUserSessions(ctx, "nobody", at(2*time.Hour))
		wantCount(t, n, err, 0, "RevokeUserSessions of a user without sessions")
	})

	t.Run("delete expired honours before and the batch limit", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		exps := []time.Time{at(-time.Hour).In(zone), at(-time.Millisecond * 100), at(-72 * time.Hour), at(time.Hour), at(time.Second).In(zone)}
		for i, exp := range exps {
			ss := loginSession(fmt.Sprintf("s%d", i), "user-1")
			ss.ExpiresAt = exp
			ok(t, s.CreateSession(ctx, ss), "CreateSession")
		}
		for round, want := range []int{2, 1, 0} {
			n, err := s.DeleteExpiredSessions(ctx, base, 2)
			wantCount(t, n, err, want, fmt.Sprintf("DeleteExpiredSessions limit 2, round %d", round+1))
		}
		for i := range exps {
			_, err := s.GetSession(ctx, fmt.Sprintf("s%d", i))
			if i < 3 {
				wantErr(t, err, storage.ErrNotFound, fmt.Sprintf("GetSession of expired s%d", i))
			} else if err != nil {
				t.Errorf("GetSession of unexpired s%d: %v", i, err)
			}
		}
	})
}
