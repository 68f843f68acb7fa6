package storagetest

import (
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// user returns a user with every field set.
func user(id, username string) storage.User {
	return storage.User{
		ID:            id,
		Username:      username,
		Email:         id + "@mail.test",
		EmailVerified: true,
		Name:          "Person " + id,
		PasswordHash:  "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
		Disabled:      false,
		CreatedAt:     base.In(zone),
		UpdatedAt:     at(time.Second),
		LastLoginAt:   ptr(at(3 * time.Second).In(zone)),
	}
}

func userIDs(us []storage.User) []string {
	out := make([]string, 0, len(us))
	for _, u := range us {
		out = append(out, u.ID)
	}
	return out
}

func testUsers(t *testing.T, h Harness) {
	t.Run("create then get by id and by username in any case", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		want := user("u-alice", "Alice")
		ok(t, s.CreateUser(ctx, want), "CreateUser")

		got, err := s.GetUser(ctx, "u-alice")
		ok(t, err, "GetUser")
		checkRecord(t, "GetUser", want, got)

		for _, name := range []string{"Alice", "alice", "aLiCe", "ALICE"} {
			got, err := s.GetUserByUsername(ctx, name)
			ok(t, err, "GetUserByUsername "+name)
			// The username is unique case-insensitively but stored as typed.
			checkRecord(t, "GetUserByUsername "+name, want, got)
		}
	})

	t.Run("username differing only in case conflicts", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateUser(ctx, user("u-1", "Alice")), "CreateUser")
		wantErr(t, s.CreateUser(ctx, user("u-2", "aLICE")), storage.ErrConflict, "CreateUser with aLICE")
		_, err := s.GetUser(ctx, "u-2")
		wantErr(t, err, storage.ErrNotFound, "GetUser of the rejected user")
		got, err := s.GetUserByUsername(ctx, "alice")
		ok(t, err, "GetUserByUsername")
		if got.ID != "u-1" || got.Username != "Alice" {
			t.Errorf("alice is now %q/%q, want u-1/Alice", got.ID, got.Username)
		}
	})

	t.Run("duplicate id conflicts", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateUser(ctx, user("u-1", "first")), "CreateUser")
		wantErr(t, s.CreateUser(ctx, user("u-1", "second")), storage.ErrConflict, "CreateUser with the same id")
		_, err := s.GetUserByUsername(ctx, "second")
		wantErr(t, err, storage.ErrNotFound, "GetUserByUsername of the rejected user")
	})

	t.Run("update replaces every field but id and created_at", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		orig := user("u-1", "alice")
		ok(t, s.CreateUser(ctx, orig), "CreateUser")
		upd := storage.User{
			ID: "u-1", Username: "Alicia", Email: "alicia@mail.test", EmailVerified: false,
			Name: "Alicia B.", PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$bmV3c2FsdA$bmV3aGFzaA",
			Disabled: true, CreatedAt: at(99 * time.Hour), UpdatedAt: at(2 * time.Hour),
		}
		ok(t, s.UpdateUser(ctx, upd), "UpdateUser")
		got, err := s.GetUser(ctx, "u-1")
		ok(t, err, "GetUser")
		want := upd
		want.CreatedAt = orig.CreatedAt
		checkRecord(t, "updated user", want, got)
		_, err = s.GetUserByUsername(ctx, "alice")
		wantErr(t, err, storage.ErrNotFound, "GetUserByUsername of the old username")
		_, err = s.GetUserByUsername(ctx, "ALICIA")
		ok(t, err, "GetUserByUsername of the new username")
	})

	t.Run("record login sets last_login_at and nothing else", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		never := user("u-1", "alice")
		never.LastLoginAt = nil
		ok(t, s.CreateUser(ctx, never), "CreateUser without a last login")
		got, err := s.GetUser(ctx, "u-1")
		ok(t, err, "GetUser")
		checkRecord(t, "user who never signed in", never, got)

		when := at(5 * time.Hour).In(zone)
		ok(t, s.RecordLogin(ctx, "u-1", when), "RecordLogin")
		want := never
		want.LastLoginAt = &when
		got, err = s.GetUserByUsername(ctx, "ALICE")
		ok(t, err, "GetUserByUsername")
		checkRecord(t, "user after RecordLogin", want, got)
		us, _, err := s.ListUsers(ctx, storage.ListOptions{})
		ok(t, err, "ListUsers")
		if len(us) != 1 {
			t.Fatalf("ListUsers: %d users", len(us))
		}
		checkRecord(t, "listed user after RecordLogin", want, us[0])

		later := at(6 * time.Hour)
		ok(t, s.RecordLogin(ctx, "u-1", later), "second RecordLogin")
		got, err = s.GetUser(ctx, "u-1")
		ok(t, err, "GetUser")
		want.LastLoginAt = &later
		checkRecord(t, "user after the second RecordLogin", want, got)
		wantErr(t, s.RecordLogin(ctx, "u-nope", later), storage.ErrNotFound, "RecordLogin of a missing user")
	})

	t.Run("update changing only the case of its own username succeeds", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateUser(ctx, user("u-1", "alice")), "CreateUser")
		upd := user("u-1", "ALICE")
		ok(t, s.UpdateUser(ctx, upd), "UpdateUser to ALICE")
		got, err := s.GetUserByUsername(ctx, "alice")
		ok(t, err, "GetUserByUsername")
		if got.Username != "ALICE" {
			t.Errorf("username = %q, want ALICE as typed", got.Username)
		}
	})

	t.Run("update to a username taken by another user conflicts and changes nothing", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		bob := user("u-bob", "bob")
		ok(t, s.CreateUser(ctx, bob), "CreateUser bob")
		alice := user("u-alice", "alice")
		ok(t, s.CreateUser(ctx, alice), "CreateUser alice")
		upd := alice
		upd.Username, upd.Email, upd.Disabled = "BOB", "changed@mail.test", true
		wantErr(t, s.UpdateUser(ctx, upd), storage.ErrConflict, "UpdateUser to BOB")
		got, err := s.GetUser(ctx, "u-alice")
		ok(t, err, "GetUser alice")
		checkRecord(t, "alice after the refused update", alice, got)
		got, err = s.GetUserByUsername(ctx, "bob")
		ok(t, err, "GetUserByUsername bob")
		checkRecord(t, "bob after the refused update", bob, got)
	})

	t.Run("missing user is not found", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateUser(ctx, user("u-1", "present")), "CreateUser")
		_, err := s.GetUser(ctx, "u-nope")
		wantErr(t, err, storage.ErrNotFound, "GetUser")
		_, err = s.GetUserByUsername(ctx, "nope")
		wantErr(t, err, storage.ErrNotFound, "GetUserByUsername")
		wantErr(t, s.UpdateUser(ctx, user("u-nope", "nope")), storage.ErrNotFound, "UpdateUser")
		wantErr(t, s.DeleteUser(ctx, "u-nope"), storage.ErrNotFound, "DeleteUser")
	})

	t.Run("delete removes only that user", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		ok(t, s.CreateUser(ctx, user("u-1", "one")), "CreateUser one")
		ok(t, s.CreateUser(ctx, user("u-2", "two")), "CreateUser two")
		ok(t, s.DeleteUser(ctx, "u-1"), "DeleteUser")
		_, err := s.GetUser(ctx, "u-1")
		wantErr(t, err, storage.ErrNotFound, "GetUser after delete")
		_, err = s.GetUserByUsername(ctx, "ONE")
		wantErr(t, err, storage.ErrNotFound, "GetUserByUsername after delete")
		wantErr(t, s.DeleteUser(ctx, "u-1"), storage.ErrNotFound, "second DeleteUser")
		_, err = s.GetUser(ctx, "u-2")
		ok(t, err, "GetUser of the other user")
		// The username is free again.
		ok(t, s.CreateUser(ctx, user("u-3", "One")), "CreateUser reusing the deleted username")
	})

	t.Run("count", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		n, err := s.CountUsers(ctx)
		wantCount(t, n, err, 0, "CountUsers on an empty store")
		for _, id := range []string{"a", "b", "c"} {
			ok(t, s.CreateUser(ctx, user("u-"+id, id)), "CreateUser")
		}
		n, err = s.CountUsers(ctx)
		wantCount(t, n, err, 3, "CountUsers after 3 creates")
		ok(t, s.DeleteUser(ctx, "u-b"), "DeleteUser")
		n, err = s.CountUsers(ctx)
		wantCount(t, n, err, 2, "CountUsers after a delete")
	})

	t.Run("list pages in lower(username) order", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		// Inserted out of order, mixed case: byte order would put the
		// capitalised names first.
		for _, name := range []string{"eve", "Frank", "bob", "grace", "Alice", "Dave", "carol"} {
			ok(t, s.CreateUser(ctx, user("u-"+strings.ToLower(name), name)), "CreateUser "+name)
		}
		want := []string{"u-alice", "u-bob", "u-carol", "u-dave", "u-eve", "u-frank", "u-grace"}
		pages := pageThrough(t, "ListUsers limit 3", 5, func(c string) (page, error) {
			us, next, err := s.ListUsers(ctx, storage.ListOptions{Limit: 3, Cursor: c})
			return page{userIDs(us), next}, err
		})
		checkPages(t, "ListUsers limit 3", pages, []int{3, 3, 1}, want)

		us, next, err := s.ListUsers(ctx, storage.ListOptions{})
		ok(t, err, "ListUsers with the default limit")
		orderedEqual(t, "ListUsers with the default limit", userIDs(us), want)
		if next != "" {
			t.Errorf("ListUsers with the default limit: next cursor %q on the only page", next)
		}
		if len(us) > 0 {
			checkRecord(t, "listed user", user("u-alice", "Alice"), us[0])
		}
	})

	t.Run("list query is a case-insensitive literal substring of username, email or name", func(t *testing.T) {
		s, ctx := h.New(t), t.Context()
		fixtures := []storage.User{
			{ID: "u-alice", Username: "Alice", Email: "a@mail.test", Name: "Alice Liddell"},
			{ID: "u-bob", Username: "bob", Email: "bob@Builders.test", Name: "Robert"},
			{ID: "u-drop", Username: "droptables", Email: "d@mail.test", Name: "Bobby Tables"},
			{ID: "u-pct", Username: "100%sure", Email: "p@mail.test", Name: "Percy"},
			{ID: "u-und", Username: "under_score", Email: "u@mail.test", Name: "Una"},
			{ID: "u-bsl", Username: `back\slash`, Email: "s@mail.test", Name: "Sly"},
		}
		for _, u := range fixtures {
			u.CreatedAt, u.UpdatedAt = base, base
			ok(t, s.CreateUser(ctx, u), "CreateUser "+u.Username)
		}
		cases := []struct {
			name, query string
			want        []string
		}{
			{"username in another case", "aLI", []string{"u-alice"}},
			{"email in another case", "BUILDERS", []string{"u-bob"}},
			{"name in another case", "TABLES", []string{"u-drop"}},
			{"one query matching username and name", "bob", []string{"u-bob", "u-drop"}},
			{"percent sign is literal", "%", []string{"u-pct"}},
			{"percent inside a word is literal", "0%s", []string{"u-pct"}},
			{"underscore is literal", "_", []string{"u-und"}},
			{"backslash is literal", `\`, []string{"u-bsl"}},
			{"no match", "zzz", nil},
			{"empty query matches all", "", []string{"u-alice", "u-bsl", "u-bob", "u-drop", "u-pct", "u-und"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				us, _, err := s.ListUsers(ctx, storage.ListOptions{Query: c.query})
				ok(t, err, "ListUsers")
				sortedEqual(t, "ListUsers query "+c.query, userIDs(us), c.want)
			})
		}
		t.Run("query with pagination", func(t *testing.T) {
			pages := pageThrough(t, "ListUsers query b limit 1", 5, func(c string) (page, error) {
				us, next, err := s.ListUsers(ctx, storage.ListOptions{Query: "B", Limit: 1, Cursor: c})
				return page{userIDs(us), next}, err
			})
			// "b" matches back\slash, bob, droptables (Bobby Tables).
			checkPages(t, "ListUsers query b limit 1", pages, []int{1, 1, 1}, []string{"u-bsl", "u-bob", "u-drop"})
		})
	})
}
