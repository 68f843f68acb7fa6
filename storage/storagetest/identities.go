package storagetest

import (
	"testing"

	"github.com/sesameauth/sesame/storage"
)

func identity(upstream, subject, userID string) storage.Identity {
	return storage.Identity{
		UpstreamID: upstream, Subject: subject, UserID: userID,
		Username: "up-" + subject, Email: subject + "@up.test", Groups: []string{"eng", "Ops"},
		CreatedAt: base.In(zone), LastLoginAt: at(1).In(zone),
	}
}

func testIdentities(t *testing.T, h Harness) {
	t.Run("link, get, list by upstream then subject, one user per (upstream, subject)", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateUser(ctx, user("u-1", "alice")), "CreateUser u-1")
		ok(t, s.CreateUser(ctx, user("u-2", "bob")), "CreateUser u-2")
		for _, id := range []storage.Identity{identity("google", "s-9", "u-1"), identity("corp", "s-1", "u-1"), identity("google", "s-2", "u-2")} {
			ok(t, s.CreateIdentity(ctx, id), "CreateIdentity "+id.UpstreamID+"/"+id.Subject)
		}
		got, err := s.GetIdentity(ctx, "google", "s-9")
		ok(t, err, "GetIdentity")
		checkRecord(t, "GetIdentity", identity("google", "s-9", "u-1"), got)
		_, err = s.GetIdentity(ctx, "corp", "s-9")
		wantErr(t, err, storage.ErrNotFound, "GetIdentity: the subject belongs to another upstream")
		// The same subject at the same upstream cannot be linked twice,
		// not even to another user: that would hand one account to two.
		wantErr(t, s.CreateIdentity(ctx, identity("google", "s-9", "u-2")), storage.ErrConflict, "CreateIdentity of a linked (upstream, subject)")
		ok(t, s.CreateIdentity(ctx, identity("corp", "s-9", "u-2")), "CreateIdentity: same subject, other upstream")
		ids, err := s.ListUserIdentities(ctx, "u-1")
		ok(t, err, "ListUserIdentities")
		var keys []string
		for _, id := range ids {
			keys = append(keys, id.UpstreamID+"/"+id.Subject)
		}
		orderedEqual(t, "ListUserIdentities", keys, []string{"corp/s-1", "google/s-9"})
		ids, err = s.ListUserIdentities(ctx, "u-nobody")
		ok(t, err, "ListUserIdentities of a user without any")
		if len(ids) != 0 {
			t.Errorf("ListUserIdentities(u-nobody) = %v, want none", ids)
		}
	})

	t.Run("update replaces what the upstream said; unlink; deleting the user unlinks", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateUser(ctx, user("u-1", "alice")), "CreateUser u-1")
		ok(t, s.CreateIdentity(ctx, identity("google", "s-1", "u-1")), "CreateIdentity")
		next := identity("google", "s-1", "u-1")
		next.Email, next.Username, next.Groups, next.LastLoginAt = "new@up.test", "alice2", nil, at(5)
		next.UserID, next.CreatedAt = "u-other", at(9) // not updatable
		ok(t, s.UpdateIdentity(ctx, next), "UpdateIdentity")
		got, err := s.GetIdentity(ctx, "google", "s-1")
		ok(t, err, "GetIdentity after update")
		want := identity("google", "s-1", "u-1")
		want.Email, want.Username, want.Groups, want.LastLoginAt = "new@up.test", "alice2", nil, at(5)
		checkRecord(t, "GetIdentity after update", want, got)
		wantErr(t, s.UpdateIdentity(ctx, identity("google", "s-missing", "u-1")), storage.ErrNotFound, "UpdateIdentity of a missing link")

		ok(t, s.DeleteIdentity(ctx, "google", "s-1"), "DeleteIdentity")
		wantErr(t, s.DeleteIdentity(ctx, "google", "s-1"), storage.ErrNotFound, "DeleteIdentity twice")
		_, err = s.GetIdentity(ctx, "google", "s-1")
		wantErr(t, err, storage.ErrNotFound, "GetIdentity after unlink")

		ok(t, s.CreateIdentity(ctx, identity("corp", "s-2", "u-1")), "CreateIdentity again")
		ok(t, s.DeleteUser(ctx, "u-1"), "DeleteUser")
		_, err = s.GetIdentity(ctx, "corp", "s-2")
		wantErr(t, err, storage.ErrNotFound, "GetIdentity after its user was deleted")
		// A new user under the old id does not inherit the link.
		ok(t, s.CreateUser(ctx, user("u-1", "alice")), "CreateUser u-1 again")
		ids, err := s.ListUserIdentities(ctx, "u-1")
		ok(t, err, "ListUserIdentities")
		if len(ids) != 0 {
			t.Errorf("a re-created user inherited identities %v", ids)
		}
	})

	t.Run("find users by email folds ASCII case; empty finds nobody", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		a, b, c := user("u-1", "alice"), user("u-2", "bob"), user("u-3", "carol")
		a.Email, b.Email, c.Email = "Alice@Example.COM", "alice@example.com", "carol@example.com"
		for _, u := range []storage.User{a, b, c, user("u-4", "nomail")} {
			if u.ID == "u-4" {
				u.Email = ""
			}
			ok(t, s.CreateUser(ctx, u), "CreateUser "+u.ID)
		}
		us, err := s.FindUsersByEmail(ctx, "ALICE@example.com")
		ok(t, err, "FindUsersByEmail")
		var got []string
		for _, u := range us {
			got = append(got, u.ID)
		}
		orderedEqual(t, "FindUsersByEmail", got, []string{"u-1", "u-2"})
		us, err = s.FindUsersByEmail(ctx, "")
		ok(t, err, "FindUsersByEmail empty")
		if len(us) != 0 {
			t.Errorf("FindUsersByEmail(\"\") = %d users, want none", len(us))
		}
		us, err = s.FindUsersByEmail(ctx, "al%@example.com")
		ok(t, err, "FindUsersByEmail with a LIKE wildcard")
		if len(us) != 0 {
			t.Errorf("FindUsersByEmail treats %% as a wildcard: %d users", len(us))
		}
	})
}
