package app

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/secret"
	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/storage"
	"github.com/sesameauth/sesame/storage/sqlite"
)

const resetURL = "https://id.example.test" + PathResetPassword

// resetLinks returns the reset tokens mailed to addr, newest first.
func resetLinks(t *testing.T, st storage.Store, addr string) []string {
	t.Helper()
	ms, err := st.ListMail(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		if m.Recipient != addr || len(m.Links) != 1 || !strings.HasPrefix(m.Links[0], resetURL+"?") {
			continue
		}
		u, err := url.Parse(m.Links[0])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, u.Query().Get("token"))
	}
	return out
}

func mailCount(t *testing.T, st storage.Store) int {
	t.Helper()
	ms, err := st.ListMail(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	return len(ms)
}

func resetEvents(t *testing.T, st storage.Store, typ string) []storage.AuditEvent {
	t.Helper()
	ev, _, err := st.ListAudit(context.Background(), storage.AuditFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var out []storage.AuditEvent
	for _, e := range ev {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func TestForgotPasswordAnswersAlike(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		ctx := context.Background()
		svc := newService(t, st)
		alice, err := svc.CreateUser(ctx, "cli", NewUser{Username: "alice", Password: "pw-long-enough", Email: "alice@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.CreateUser(ctx, "cli", NewUser{Username: "nomail", Password: "pw-long-enough"}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.CreateUser(ctx, "cli", NewUser{Username: "gone", Password: "pw-long-enough", Email: "gone@example.com"}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.DisableUser(ctx, "cli", "gone"); err != nil {
			t.Fatal(err)
		}
		forgot := func(id string) error {
			return svc.ForgotPassword(ctx, ForgotRequest{Identifier: id, IP: "192.0.2.1", ResetURL: resetURL, Lifetime: time.Hour})
		}

		// Unknown, mail-less and disabled accounts: the same nil, no mail,
		// one audit event each that names no one.
		for _, id := range []string{"nobody", "nobody@example.com", "nomail", "gone", "gone@example.com"} {
			if err := forgot(id); err != nil {
				t.Fatalf("ForgotPassword(%q) = %v, want nil like for a real account", id, err)
			}
		}
		if n := mailCount(t, st); n != 0 {
			t.Fatalf("%d mails queued for accounts that cannot get a link", n)
		}
		if ev := resetEvents(t, st, "user.password_reset_requested"); len(ev) != 5 || ev[0].UserID != "" || ev[0].Details["links_sent"] != "0" {
			t.Fatalf("audit of unmatched requests: %+v", ev)
		}

		// Bad input that can match no account is refused before anything.
		for _, bad := range []string{"", "   ", "alice\r\nBcc: x@evil.test", "alice@example.com\nSubject: hi", strings.Repeat("a", 300)} {
			var ve *ValidationError
			if err := forgot(bad); !errors.As(err, &ve) || ve.Field != "identifier" {
				t.Errorf("ForgotPassword(%q) = %v, want an identifier ValidationError", bad, err)
			}
		}

		// A real account: by username (any case) and by email (any case).
		if err := forgot("ALICE"); err != nil {
			t.Fatal(err)
		}
		first := resetLinks(t, st, "alice@example.com")
		if len(first) != 1 || len(first[0]) < 22 {
			t.Fatalf("reset links after one request: %q", first)
		}
		if _, err := st.GetLinkToken(ctx, first[0], storage.LinkPasswordReset, testNow); !errors.Is(err, storage.ErrNotFound) {
			t.Fatal("the reset token is stored in the clear")
		}
		lt, err := st.GetLinkToken(ctx, secret.HashToken(first[0]), storage.LinkPasswordReset, testNow)
		if err != nil || lt.UserID != alice.ID || lt.Email != "alice@example.com" || !lt.ExpiresAt.Equal(testNow.Add(time.Hour)) {
			t.Fatalf("stored token %+v, %v: want bound to alice and her address, 1h", lt, err)
		}
		if err := forgot("Alice@Example.com"); err != nil {
			t.Fatal(err)
		}
		links := resetLinks(t, st, "alice@example.com")
		if len(links) != 2 {
			t.Fatalf("%d links after two requests", len(links))
		}
		// The newer link replaced the older one.
		if err := svc.CheckResetLink(ctx, first[0]); !errors.Is(err, ErrLinkInvalid) {
			t.Fatalf("the superseded link: %v", err)
		}
		newest := links[0]
		if newest == first[0] { // both mails have the same time
			newest = links[1]
		}
		if err := svc.CheckResetLink(ctx, newest); err != nil {
			t.Fatalf("the newest link: %v", err)
		}
	})
}

func TestResetPassword(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		ctx := context.Background()
		now := testNow
		svc := newService(t, st)
		svc.now = func() time.Time { return now }
		c, _, err := svc.CreateClient(ctx, "cli", webApp())
		if err != nil {
			t.Fatal(err)
		}
		alice, err := svc.CreateUser(ctx, "cli", NewUser{Username: "alice", Password: "pw-long-enough", Email: "alice@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		bob, _ := svc.CreateUser(ctx, "cli", NewUser{Username: "bob", Password: "pw-long-enough", Email: "bob@example.com"})
		seedGrant(t, st, "req-alice", c.ID, alice.ID)
		seedGrant(t, st, "req-bob", c.ID, bob.ID)
		if err := st.CreateSession(ctx, storage.LoginSession{
			ID: "sess-alice", UserID: alice.ID, AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour),
		}); err != nil {
			t.Fatal(err)
		}
		link := func(user, addr string) string {
			t.Helper()
			if err := svc.ForgotPassword(ctx, ForgotRequest{Identifier: user, IP: "192.0.2.1", ResetURL: resetURL}); err != nil {
				t.Fatal(err)
			}
			// The one that works (mails of one instant have no order).
			for _, l := range resetLinks(t, st, addr) {
				if svc.CheckResetLink(ctx, l) == nil {
					return l
				}
			}
			t.Fatalf("no working reset link mailed to %s", addr)
			return ""
		}
		tok := link("alice", "alice@example.com")

		// Links that are not this one's: tampered, foreign purpose, empty.
		verify, _ := secret.RandomToken(32)
		if err := st.CreateLinkToken(ctx, storage.LinkToken{Hash: secret.HashToken(verify), Purpose: storage.LinkVerifyEmail,
			UserID: alice.ID, Email: "alice@example.com", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		last := "A"
		if strings.HasSuffix(tok, "A") {
			last = "B"
		}
		tampered := tok[:len(tok)-1] + last
		for name, bad := range map[string]string{"tampered": tampered, "a verify-email link": verify, "empty": "", "over-long": strings.Repeat("a", 300)} {
			if _, err := svc.ResetPassword(ctx, bad, "violet-kettle-42"); !errors.Is(err, ErrLinkInvalid) {
				t.Errorf("%s: ResetPassword = %v, want ErrLinkInvalid", name, err)
			}
		}

		// The policy applies, and a refused password keeps the link.
		var ve *ValidationError
		for _, weak := range []string{"short", "password1", "ALICE"} {
			if _, err := svc.ResetPassword(ctx, tok, weak); !errors.As(err, &ve) || ve.Field != "password" {
				t.Fatalf("ResetPassword(%q) = %v, want a password ValidationError", weak, err)
			}
		}
		got, err := svc.ResetPassword(ctx, tok, "violet-kettle-42")
		if err != nil || got.ID != alice.ID {
			t.Fatalf("ResetPassword = %+v, %v", got, err)
		}
		pws := NewPasswords(st, nil, fastParams, nil)
		if _, err := pws.Verify(ctx, PasswordAttempt{Username: "alice", Password: "violet-kettle-42"}); err != nil {
			t.Fatalf("the new password does not sign in: %v", err)
		}
		if _, err := pws.Verify(ctx, PasswordAttempt{Username: "alice", Password: "pw-long-enough"}); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("the old password still signs in: %v", err)
		}
		// Her sessions and grants end; bob's stay.
		assertRevoked(t, st, "req-alice", true)
		assertRevoked(t, st, "req-bob", false)
		if s, err := st.GetSession(ctx, "sess-alice"); err != nil || s.RevokedAt == nil {
			t.Fatalf("session not revoked: %v %+v", err, s)
		}
		if ev := resetEvents(t, st, "user.password_reset"); len(ev) != 1 || ev[0].UserID != alice.ID || ev[0].Details["grants_revoked"] != "1" {
			t.Fatalf("audit: %+v", ev)
		}
		// Single use.
		if _, err := svc.ResetPassword(ctx, tok, "another-kettle-43"); !errors.Is(err, ErrLinkInvalid) {
			t.Fatalf("reused link: %v", err)
		}

		// Expired: a link works for its lifetime (1 h by default), not after.
		tok = link("bob", "bob@example.com")
		now = now.Add(DefaultResetLifetime + time.Second)
		if _, err := svc.ResetPassword(ctx, tok, "violet-kettle-42"); !errors.Is(err, ErrLinkInvalid) {
			t.Fatalf("expired link: %v", err)
		}

		// The email changed after the link was sent: refused.
		tok = link("bob", "bob@example.com")
		b, _ := st.GetUser(ctx, bob.ID)
		b.Email = "bob@elsewhere.example"
		if err := st.UpdateUser(ctx, b); err != nil {
			t.Fatal(err)
		}
		if err := svc.CheckResetLink(ctx, tok); !errors.Is(err, ErrLinkInvalid) {
			t.Fatalf("CheckResetLink after the email changed: %v", err)
		}
		if _, err := svc.ResetPassword(ctx, tok, "violet-kettle-42"); !errors.Is(err, ErrLinkInvalid) {
			t.Fatalf("ResetPassword after the email changed: %v", err)
		}
		assertRevoked(t, st, "req-bob", false)

		// A confirmed email change (account.go) ends pending reset links too.
		tok = link("alice", "alice@example.com")
		if _, err := svc.UpdateProfile(ctx, ProfileEdit{UserID: alice.ID, Email: "alice@new.example", ConfirmURL: confirmURL}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.ConfirmEmailChange(ctx, linkFor(t, st, "alice@new.example")); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.ResetPassword(ctx, tok, "violet-kettle-42"); !errors.Is(err, ErrLinkInvalid) {
			t.Fatalf("reset link after a confirmed email change: %v", err)
		}
	})
}

func TestForgotPasswordRateLimits(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		ctx := context.Background()
		now := testNow
		clock := func() time.Time { return now }
		svc := New(st, nil, fastParams, clock).WithLimiter(throttle.NewLimiter(st, clock), MailLimits{
			PerAddress:   throttle.Rate{Max: 5, Window: time.Hour},
			PerRecipient: throttle.Rate{Max: 2, Window: time.Hour},
		})
		if _, err := svc.CreateUser(ctx, "cli", NewUser{Username: "alice", Password: "pw-long-enough", Email: "alice@example.com"}); err != nil {
			t.Fatal(err)
		}
		forgot := func(id, ip string) error {
			return svc.ForgotPassword(ctx, ForgotRequest{Identifier: id, IP: ip, ResetURL: resetURL})
		}
		// Per recipient: after 2 mails the answer stays nil, no more mail —
		// whether she is named by username or by email, from any address.
		for i, id := range []string{"alice", "alice@example.com", "ALICE", "alice"} {
			if err := forgot(id, "192.0.2."+string(rune('1'+i))); err != nil {
				t.Fatalf("request %d: %v", i+1, err)
			}
		}
		if n := len(resetLinks(t, st, "alice@example.com")); n != 2 {
			t.Fatalf("%d reset mails to one recipient, want the limit 2", n)
		}
		if ev := resetEvents(t, st, "user.password_reset_requested"); ev[0].Details["limited"] != "recipient" {
			t.Fatalf("the limited request is not audited as such: %+v", ev[0])
		}
		// Per address: the 6th request from one address is refused,
		// known or unknown account alike, until the window ends.
		for i := range 5 {
			if err := forgot("nobody"+string(rune('a'+i)), "198.51.100.9"); err != nil {
				t.Fatalf("request %d: %v", i+1, err)
			}
		}
		for _, id := range []string{"nobody-else", "alice"} {
			var rl *RateLimitedError
			if err := forgot(id, "198.51.100.9"); !errors.As(err, &rl) || !errors.Is(err, ErrRateLimited) || !rl.Until.After(now) {
				t.Fatalf("over the address limit (%s): %v", id, err)
			}
		}
		if err := forgot("nobody", "198.51.100.10"); err != nil {
			t.Fatalf("another address: %v", err)
		}
		now = now.Add(time.Hour + time.Second)
		if err := forgot("nobody", "198.51.100.9"); err != nil {
			t.Fatalf("after the window: %v", err)
		}
		if err := forgot("alice", "198.51.100.9"); err != nil {
			t.Fatal(err)
		}
		if n := len(resetLinks(t, st, "alice@example.com")); n != 3 {
			t.Fatalf("%d reset mails after the recipient window ended, want 3", n)
		}
	})
}

// BenchmarkForgotPassword compares the answer for an existing and an
// unknown account (SQLite): the two should cost about the same.
func BenchmarkForgotPassword(b *testing.B) {
	for _, tc := range []struct{ name, id string }{{"existing", "alice"}, {"unknown", "nobody"}} {
		b.Run(tc.name, func(b *testing.B) {
			st := benchStore(b)
			svc := New(st, nil, fastParams, nil)
			if _, err := svc.CreateUser(context.Background(), "cli", NewUser{Username: "alice", Password: "pw-long-enough", Email: "alice@example.com"}); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if err := svc.ForgotPassword(context.Background(), ForgotRequest{Identifier: tc.id, IP: "192.0.2.1", ResetURL: resetURL}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchStore(b *testing.B) storage.Store {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "sesame.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	return st
}
