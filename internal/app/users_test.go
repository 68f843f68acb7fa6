package app

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/password"
	"github.com/sesameauth/sesame/storage"
)

func TestCreateUserValidation(t *testing.T) {
	tests := []struct {
		name  string
		in    NewUser
		field string
	}{
		{"empty username", NewUser{Username: "  ", Password: "pw-long-enough"}, "username"},
		{"username with space", NewUser{Username: "al ice", Password: "pw-long-enough"}, "username"},
		{"username with markup", NewUser{Username: "<b>", Password: "pw-long-enough"}, "username"},
		{"username too long", NewUser{Username: strings.Repeat("a", 65), Password: "pw-long-enough"}, "username"},
		{"bad email", NewUser{Username: "alice", Password: "pw-long-enough", Email: "not-an-email"}, "email"},
		{"email with display name", NewUser{Username: "alice", Password: "pw-long-enough", Email: "Alice <a@example.com>"}, "email"},
		{"empty password", NewUser{Username: "alice"}, "password"},
		{"password too long", NewUser{Username: "alice", Password: strings.Repeat("x", 1025)}, "password"},
		{"name with control char", NewUser{Username: "alice", Password: "pw-long-enough", Name: "a\x00b"}, "name"},
	}
	forEachStore(t, func(t *testing.T, st storage.Store) {
		svc := newService(t, st)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := svc.CreateUser(context.Background(), "test", tt.in)
				var ve *ValidationError
				if !errors.As(err, &ve) || ve.Field != tt.field {
					t.Fatalf("want ValidationError on %s, got %v", tt.field, err)
				}
				if n := countUsers(t, st); n != 0 {
					t.Fatalf("%d users written", n)
				}
			})
		}
	})
}

func TestDuplicateUsernameIsCaseInsensitive(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		ctx := context.Background()
		svc := newService(t, st)
		u, err := svc.CreateUser(ctx, "cli", NewUser{Username: " Alice.Smith@corp ", Password: "pw-long-enough", Email: "alice@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if u.Username != "Alice.Smith@corp" {
			t.Fatalf("username not trimmed: %q", u.Username)
		}
		if len(u.ID) != 36 {
			t.Fatalf("id %q is not a UUID", u.ID)
		}
		if strings.Contains(u.PasswordHash, "pw-long-enough") || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
			t.Fatalf("hash %q", u.PasswordHash)
		}
		before := countAudit(t, st)
		_, err = svc.CreateUser(ctx, "cli", NewUser{Username: "alice.smith@CORP", Password: "other-password"})
		if !errors.Is(err, storage.ErrConflict) {
			t.Fatalf("want conflict, got %v", err)
		}
		if n := countUsers(t, st); n != 1 {
			t.Fatalf("%d users", n)
		}
		if countAudit(t, st) != before {
			t.Fatal("a failed create must not be audited as a change")
		}
		for _, key := range []string{u.ID, "ALICE.SMITH@CORP"} {
			got, err := svc.GetUser(ctx, key)
			if err != nil || got.ID != u.ID {
				t.Fatalf("GetUser(%q) = %v, %v", key, got.ID, err)
			}
		}
		if _, err := svc.GetUser(ctx, "bob"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("missing user: %v", err)
		}
	})
}

func TestVerifyPassword(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		ctx := context.Background()
		svc := newService(t, st)
		pws := NewPasswords(st, nil, fastParams, nil)
		if _, err := svc.CreateUser(ctx, "cli", NewUser{Username: "alice", Password: "right-password"}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.CreateUser(ctx, "cli", NewUser{Username: "mallory", Password: "right-password"}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.DisableUser(ctx, "cli", "mallory"); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name, user, pw string
			ok             bool
		}{
			{"right password", "alice", "right-password", true},
			{"username case-insensitive", "ALICE", "right-password", true},
			{"wrong password", "alice", "wrong", false},
			{"empty password", "alice", "", false},
			{"username trimmed", "  alice\t", "right-password", true},
			{"over-long password", "alice", strings.Repeat("r", password.MaxLength+1), false},
			{"over-long username", strings.Repeat("a", MaxUsernameBytes+1), "right-password", false},
			{"unknown user", "bob", "right-password", false},
			{"disabled user", "mallory", "right-password", false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				u, err := pws.Verify(ctx, PasswordAttempt{Username: tt.user, Password: tt.pw})
				if tt.ok {
					if err != nil || u.Username != "alice" {
						t.Fatalf("got %v, %v", u.Username, err)
					}
					return
				}
				if !errors.Is(err, ErrInvalidCredentials) {
					t.Fatalf("want ErrInvalidCredentials, got %v", err)
				}
			})
		}
		t.Run("last login recorded on success only", func(t *testing.T) {
			ctx := context.Background()
			if _, err := svc.CreateUser(ctx, "cli", NewUser{Username: "lena", Password: "right-password"}); err != nil {
				t.Fatal(err)
			}
			if _, err := pws.Verify(ctx, PasswordAttempt{Username: "lena", Password: "wrong-password"}); !errors.Is(err, ErrInvalidCredentials) {
				t.Fatal(err)
			}
			if u, _ := st.GetUserByUsername(ctx, "lena"); u.LastLoginAt != nil {
				t.Fatalf("a failed sign-in set last_login_at %v", u.LastLoginAt)
			}
			before := time.Now().Add(-time.Second)
			got, err := pws.Verify(ctx, PasswordAttempt{Username: "LENA", Password: "right-password"})
			if err != nil {
				t.Fatal(err)
			}
			stored, _ := st.GetUserByUsername(ctx, "lena")
			if stored.LastLoginAt == nil || stored.LastLoginAt.Before(before) || time.Since(*stored.LastLoginAt) > time.Minute ||
				got.LastLoginAt == nil || !got.LastLoginAt.Equal(*stored.LastLoginAt) {
				t.Fatalf("last_login_at stored %v, returned %v", stored.LastLoginAt, got.LastLoginAt)
			}
			if !stored.UpdatedAt.Equal(got.UpdatedAt) {
				t.Fatal("recording the sign-in changed updated_at")
			}
		})
		t.Run("rehash on stronger params", func(t *testing.T) {
			stronger := NewPasswords(st, nil, password.Params{MemoryKiB: 128, Iterations: 2, Parallelism: 1}, nil)
			if _, err := stronger.Verify(ctx, PasswordAttempt{Username: "alice", Password: "right-password"}); err != nil {
				t.Fatal(err)
			}
			u, _ := st.GetUserByUsername(ctx, "alice")
			if !strings.Contains(u.PasswordHash, "m=128,t=2,p=1") {
				t.Fatalf("hash not upgraded: %s", u.PasswordHash)
			}
			if _, err := stronger.Verify(ctx, PasswordAttempt{Username: "alice", Password: "right-password"}); err != nil {
				t.Fatalf("login after rehash: %v", err)
			}
		})
		t.Run("set password", func(t *testing.T) {
			if err := svc.SetPassword(ctx, "cli", "alice", "new one!!"); err != nil {
				t.Fatal(err)
			}
			if _, err := pws.Verify(ctx, PasswordAttempt{Username: "alice", Password: "right-password"}); !errors.Is(err, ErrInvalidCredentials) {
				t.Fatal("old password still works")
			}
			if _, err := pws.Verify(ctx, PasswordAttempt{Username: "alice", Password: "new one!!"}); err != nil {
				t.Fatal(err)
			}
			if err := svc.SetPassword(ctx, "cli", "nobody", "x"); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("unknown user: %v", err)
			}
		})
	})
}

// seedGrant stores a grant with an access and a refresh token row.
func seedGrant(t *testing.T, st storage.Store, reqID, clientID, subject string) {
	t.Helper()
	ctx := context.Background()
	if err := st.CreateGrant(ctx, storage.Grant{
		RequestID: reqID, ClientID: clientID, Subject: subject, GrantType: "authorization_code",
		CreatedAt: testNow, LastUsedAt: testNow, ExpiresAt: testNow.Add(time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []storage.TokenKind{storage.KindAccessToken, storage.KindRefreshToken} {
		if err := st.CreateToken(ctx, storage.TokenRecord{
			Kind: kind, Signature: reqID + string(kind), RequestID: reqID, ClientID: clientID, Subject: subject,
			Active: true, RequestedAt: testNow, ExpiresAt: testNow.Add(time.Hour), Data: []byte("{}"),
		}); err != nil {
			t.Fatal(err)
		}
	}
}

func assertRevoked(t *testing.T, st storage.Store, reqID string, want bool) {
	t.Helper()
	ctx := context.Background()
	g, err := st.GetGrant(ctx, reqID)
	if err != nil {
		t.Fatal(err)
	}
	if (g.RevokedAt != nil) != want {
		t.Fatalf("grant %s revoked=%v, want %v", reqID, g.RevokedAt != nil, want)
	}
	for _, kind := range []storage.TokenKind{storage.KindAccessToken, storage.KindRefreshToken} {
		rec, err := st.GetToken(ctx, kind, reqID+string(kind))
		if err != nil {
			t.Fatal(err)
		}
		if rec.Active == want {
			t.Fatalf("%s of %s active=%v after revocation=%v", kind, reqID, rec.Active, want)
		}
	}
}

func TestDisableAndDeleteRevoke(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		ctx := context.Background()
		svc := newService(t, st)
		c, _, err := svc.CreateClient(ctx, "cli", webApp())
		if err != nil {
			t.Fatal(err)
		}
		alice, _ := svc.CreateUser(ctx, "cli", NewUser{Username: "alice", Password: "pw-long-enough"})
		bob, _ := svc.CreateUser(ctx, "cli", NewUser{Username: "bob", Password: "pw-long-enough"})
		seedGrant(t, st, "req-alice", c.ID, alice.ID)
		seedGrant(t, st, "req-bob", c.ID, bob.ID)
		if err := st.CreateSession(ctx, storage.LoginSession{
			ID: "sess-alice", UserID: alice.ID, AuthTime: testNow, CreatedAt: testNow, ExpiresAt: testNow.Add(time.Hour),
		}); err != nil {
			t.Fatal(err)
		}

		u, err := svc.DisableUser(ctx, "cli", "alice")
		if err != nil || !u.Disabled {
			t.Fatalf("disable: %v %+v", err, u)
		}
		assertRevoked(t, st, "req-alice", true)
		assertRevoked(t, st, "req-bob", false)
		s, err := st.GetSession(ctx, "sess-alice")
		if err != nil || s.RevokedAt == nil {
			t.Fatalf("session not revoked: %v %+v", err, s)
		}

		n, err := svc.RevokeForClient(ctx, "cli", c.ID)
		if err != nil || n != 1 {
			t.Fatalf("revoke for client: %d, %v", n, err)
		}
		assertRevoked(t, st, "req-bob", true)

		if err := svc.DeleteUser(ctx, "cli", "alice"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.GetUser(ctx, alice.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("deleted user still found: %v", err)
		}
		if _, err := svc.DisableUser(ctx, "cli", "alice"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("disable deleted user: %v", err)
		}
		events, _, _ := svc.ListAudit(ctx, storage.AuditFilter{UserID: alice.ID, Limit: 10})
		if len(events) == 0 || events[0].Type != "user.deleted" {
			t.Fatalf("audit: %+v", events)
		}
	})
}
