package app

import (
	"context"
	"testing"
	"time"

	"github.com/sesameauth/sesame/storage"
)

// TestImportUserLastLogin: Django's last_login is copied, a second
// identical import is "unchanged", and a later sign-in to Sesame is never
// moved back by a re-import.
func TestImportUserLastLogin(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		ctx := context.Background()
		svc := newService(t, st)
		django := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("CEST", 2*3600))
		in := ImportedUser{Username: "ida", PasswordHash: "!unusable", LastLoginAt: django}
		u, outcome, err := svc.ImportUser(ctx, in)
		if err != nil || outcome != ImportCreated {
			t.Fatalf("first import: %v %v", outcome, err)
		}
		want := django.UTC().Truncate(time.Microsecond)
		stored, err := st.GetUser(ctx, u.ID)
		if err != nil || stored.LastLoginAt == nil || !stored.LastLoginAt.Equal(want) {
			t.Fatalf("stored last_login_at %v (%v), want %v", stored.LastLoginAt, err, want)
		}
		if _, outcome, err := svc.ImportUser(ctx, in); err != nil || outcome != ImportUnchanged {
			t.Fatalf("second identical import: %v %v", outcome, err)
		}
		// An import of a user who never signed in, twice.
		if _, outcome, err := svc.ImportUser(ctx, ImportedUser{Username: "never", PasswordHash: "!x"}); err != nil || outcome != ImportCreated {
			t.Fatalf("import never: %v %v", outcome, err)
		}
		if n, _ := st.GetUserByUsername(ctx, "never"); n.LastLoginAt != nil {
			t.Fatalf("never signed in, but last_login_at %v", n.LastLoginAt)
		}
		if _, outcome, err := svc.ImportUser(ctx, ImportedUser{Username: "never", PasswordHash: "!x"}); err != nil || outcome != ImportUnchanged {
			t.Fatalf("second import of never: %v %v", outcome, err)
		}

		// Django saw a newer login: updated.
		newer := in
		newer.LastLoginAt = django.Add(time.Hour)
		if _, outcome, err := svc.ImportUser(ctx, newer); err != nil || outcome != ImportUpdated {
			t.Fatalf("import with a newer last_login: %v %v", outcome, err)
		}
		// Sesame saw a newer one still: a re-import keeps it.
		sesame := time.Now().UTC().Truncate(time.Microsecond)
		if err := st.RecordLogin(ctx, u.ID, sesame); err != nil {
			t.Fatal(err)
		}
		for _, again := range []ImportedUser{newer, in, {Username: "ida", PasswordHash: "!unusable"}} {
			if _, outcome, err := svc.ImportUser(ctx, again); err != nil || outcome != ImportUnchanged {
				t.Fatalf("re-import after a Sesame sign-in (django %v): %v %v", again.LastLoginAt, outcome, err)
			}
		}
		stored, _ = st.GetUser(ctx, u.ID)
		if stored.LastLoginAt == nil || !stored.LastLoginAt.Equal(sesame) {
			t.Fatalf("last_login_at %v after re-imports, want Sesame's %v", stored.LastLoginAt, sesame)
		}
	})
}
