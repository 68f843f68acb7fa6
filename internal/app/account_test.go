package app

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/storage"
)

const confirmURL = "https://id.example.test/account/email/confirm"

// linkFor returns the token of the newest queued mail to addr.
func linkFor(t *testing.T, st storage.Store, addr string) string {
	t.Helper()
	ms, err := st.ListMail(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Recipient == addr && len(m.Links) == 1 {
			u, err := url.Parse(m.Links[0])
			if err != nil || !strings.HasPrefix(m.Links[0], confirmURL+"?") {
				t.Fatalf("link %q is not under %s", m.Links[0], confirmURL)
			}
			return u.Query().Get("token")
		}
	}
	t.Fatalf("no link mailed to %s", addr)
	return ""
}

func TestEmailChange(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		ctx := context.Background()
		now := testNow
		svc := New(st, nil, fastParams, func() time.Time { return now })
		u, err := svc.CreateUser(ctx, "cli", NewUser{Username: "alice", Password: "pw-long-enough", Email: "old@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		edit := ProfileEdit{UserID: u.ID, Name: "Alice A", Email: "first@example.com", ConfirmURL: confirmURL, Lifetime: time.Hour}

		// Header injection and bad addresses are refused before anything is stored.
		for _, bad := range []ProfileEdit{
			{UserID: u.ID, Name: "Alice\r\nBcc: x@evil.test", ConfirmURL: confirmURL},
			{UserID: u.ID, Email: "a@example.com\r\nBcc: x@evil.test", ConfirmURL: confirmURL},
			{UserID: u.ID, Email: "a@example.com\nSubject: hi", ConfirmURL: confirmURL},
			{UserID: u.ID, Email: "Eve <eve@example.com>", ConfirmURL: confirmURL},
		} {
			var ve *ValidationError
			if _, err := svc.UpdateProfile(ctx, bad); !errors.As(err, &ve) {
				t.Errorf("UpdateProfile(%q, %q) = %v, want a ValidationError", bad.Name, bad.Email, err)
			}
		}
		if n, _ := st.CountUnsentMail(ctx); n != 0 {
			t.Fatalf("%d mails queued after refused edits", n)
		}

		res, err := svc.UpdateProfile(ctx, edit)
		if err != nil || !res.NameChanged || res.EmailPending != "first@example.com" {
			t.Fatalf("UpdateProfile = %+v, %v", res, err)
		}
		got, _ := st.GetUser(ctx, u.ID)
		if got.Email != "old@example.com" || got.Name != "Alice A" {
			t.Fatalf("after the request: email %q name %q; the email must stay until confirmed", got.Email, got.Name)
		}
		if n, _ := st.CountUnsentMail(ctx); n != 2 {
			t.Fatalf("queued %d mails, want 2 (link to the new address, notice to the old)", n)
		}
		first := linkFor(t, st, "first@example.com")
		if len(first) < 22 { // ≥128 bits in base64url
			t.Fatalf("token %q is too short", first)
		}
		if _, err := st.GetLinkToken(ctx, first, storage.LinkChangeEmail, now); !errors.Is(err, storage.ErrNotFound) {
			t.Fatal("the token is stored in the clear")
		}

		// A newer change supersedes the first link.
		edit.Email = "second@example.com"
		if _, err := svc.UpdateProfile(ctx, edit); err != nil {
			t.Fatal(err)
		}
		second := linkFor(t, st, "second@example.com")
		if _, err := svc.ConfirmEmailChange(ctx, first); !errors.Is(err, ErrLinkInvalid) {
			t.Errorf("superseded link: %v, want ErrLinkInvalid", err)
		}
		// Tampered, foreign-purpose.
		tampered := []byte(second)
		tampered[3] ^= 1
		if _, err := svc.ConfirmEmailChange(ctx, string(tampered)); !errors.Is(err, ErrLinkInvalid) {
			t.Errorf("tampered link: %v", err)
		}
		reset := "reset-token-of-alice-0123456789"
		if err := st.CreateLinkToken(ctx, storage.LinkToken{Hash: secret.HashToken(reset), Purpose: storage.LinkPasswordReset,
			UserID: u.ID, Email: "old@example.com", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.ConfirmEmailChange(ctx, reset); !errors.Is(err, ErrLinkInvalid) {
			t.Errorf("a password-reset link used as email confirmation: %v", err)
		}

		got, err = svc.ConfirmEmailChange(ctx, second)
		if err != nil || got.Email != "second@example.com" || !got.EmailVerified {
			t.Fatalf("ConfirmEmailChange = %+v, %v", got, err)
		}
		if _, err := svc.ConfirmEmailChange(ctx, second); !errors.Is(err, ErrLinkInvalid) {
			t.Errorf("reused link: %v", err)
		}
		if _, err := st.GetLinkToken(ctx, secret.HashToken(reset), storage.LinkPasswordReset, now); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("a reset link sent before the email changed still works: %v", err)
		}

		// Expired.
		edit.Email = "third@example.com"
		if _, err := svc.UpdateProfile(ctx, edit); err != nil {
			t.Fatal(err)
		}
		third := linkFor(t, st, "third@example.com")
		now = now.Add(time.Hour + time.Second)
		if _, err := svc.ConfirmEmailChange(ctx, third); !errors.Is(err, ErrLinkInvalid) {
			t.Errorf("expired link: %v", err)
		}
		got, _ = st.GetUser(ctx, u.ID)
		if got.Email != "second@example.com" {
			t.Errorf("email = %q after refused links, want second@example.com", got.Email)
		}
		ev, _, _ := st.ListAudit(ctx, storage.AuditFilter{Limit: 100})
		types := map[string]int{}
		for _, e := range ev {
			types[e.Type]++
		}
		if types["user.email_change_requested"] != 3 || types["user.email_changed"] != 1 || types["mail.queued"] != 6 {
			t.Errorf("audit = %v", types)
		}
	})
}

func TestRevokeOwnSession(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		ctx := context.Background()
		svc := newService(t, st)
		for _, s := range []storage.LoginSession{
			{ID: "s-alice", UserID: "alice", AuthTime: testNow, CreatedAt: testNow, ExpiresAt: testNow.Add(time.Hour)},
			{ID: "s-bob", UserID: "bob", AuthTime: testNow, CreatedAt: testNow, ExpiresAt: testNow.Add(time.Hour)},
		} {
			if err := st.CreateSession(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		if err := svc.RevokeOwnSession(ctx, "alice", "s-bob"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("revoking another user's session: %v, want not found", err)
		}
		if s, _ := st.GetSession(ctx, "s-bob"); s.RevokedAt != nil {
			t.Fatal("bob's session was revoked by alice")
		}
		if err := svc.RevokeOwnSession(ctx, "alice", "s-alice"); err != nil {
			t.Fatal(err)
		}
		if s, _ := st.GetSession(ctx, "s-alice"); s.RevokedAt == nil {
			t.Fatal("session not revoked")
		}
		if err := svc.RevokeOwnSession(ctx, "alice", "s-alice"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("second revoke: %v", err)
		}
	})
}
