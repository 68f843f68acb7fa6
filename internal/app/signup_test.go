package app

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sesameauth/sesame/internal/throttle"
	"github.com/sesameauth/sesame/storage"
)

const testIssuer = "https://id.example.test"

func signupService(t *testing.T, st storage.Store, mode string, now *time.Time) *Service {
	t.Helper()
	return New(st, nil, fastParams, func() time.Time { return *now }).
		WithAccounts(AccountSettings{Issuer: testIssuer + "/", Signup: mode, VerifyLifetime: time.Hour, InviteLifetime: 2 * time.Hour})
}

// mailedToken returns the token (query parameter param) of the newest
// queued mail to addr whose link starts with prefix, and how many mails
// went to addr.
func mailedToken(t *testing.T, st storage.Store, addr, prefix, param string) (string, int) {
	t.Helper()
	ms, err := st.ListMail(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	n, tok := 0, ""
	for _, m := range ms { // newest first
		if m.Recipient != addr {
			continue
		}
		n++
		if tok == "" && len(m.Links) == 1 && strings.HasPrefix(m.Links[0], prefix+"?") {
			u, err := url.Parse(m.Links[0])
			if err != nil {
				t.Fatal(err)
			}
			tok = u.Query().Get(param)
		}
	}
	return tok, n
}

func auditTypes(t *testing.T, st storage.Store) map[string]int {
	t.Helper()
	ev, _, err := st.ListAudit(context.Background(), storage.AuditFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range ev {
		out[e.Type]++
	}
	return out
}

func TestSignUpModes(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		ctx := context.Background()
		now := testNow
		in := SignUp{Username: "carol", Email: "carol@example.com", Password: "a fine passphrase"}
		for _, mode := range []string{"", SignupOff, SignupInvite} {
			if _, err := signupService(t, st, mode, &now).SignUp(ctx, in); !errors.Is(err, ErrSignupClosed) {
				t.Errorf("mode %q without invitation: %v, want ErrSignupClosed", mode, err)
			}
		}
		off := signupService(t, st, SignupOpen, &now)
		off.accounts.MailOff = true
		if _, err := off.SignUp(ctx, in); !errors.Is(err, ErrMailOff) {
			t.Errorf("open without mail: %v, want ErrMailOff", err)
		}
		if n := countUsers(t, st); n != 0 {
			t.Fatalf("%d users after refused sign-ups", n)
		}
		if n, _ := st.CountUnsentMail(ctx); n != 0 {
			t.Fatalf("%d mails after refused sign-ups", n)
		}
	})
}

func TestSignUpVerifyEmail(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		ctx := context.Background()
		now := testNow
		svc := signupService(t, st, SignupOpen, &now)

		// Bad input is refused before anything is stored: header
		// injection in name and email, display names, lists, the
		// password policy.
		for _, bad := range []SignUp{
			{Username: "carol", Email: "carol@example.com\r\nBcc: x@evil.test", Password: "a fine passphrase"},
			{Username: "carol", Email: "carol@example.com\nSubject: hi", Password: "a fine passphrase"},
			{Username: "carol", Email: "Carol <carol@example.com>", Password: "a fine passphrase"},
			{Username: "carol", Email: "carol@example.com, x@evil.test", Password: "a fine passphrase"},
			{Username: "carol", Email: "", Password: "a fine passphrase"},
			{Username: "carol", Email: "carol@example.com", Name: "Carol\r\nBcc: x@evil.test", Password: "a fine passphrase"},
			{Username: "car\r\nol", Email: "carol@example.com", Password: "a fine passphrase"},
			{Username: "car ol", Email: "carol@example.com", Password: "a fine passphrase"},
			{Username: "carol", Email: "carol@example.com", Password: "short"},
			{Username: "carol", Email: "carol@example.com", Password: "Carol"},
		} {
			if _, err := svc.SignUp(ctx, bad); !IsValidation(err) {
				t.Errorf("SignUp(%q, %q, %q) = %v, want a ValidationError", bad.Username, bad.Email, bad.Name, err)
			}
		}
		if n := countUsers(t, st); n != 0 {
			t.Fatalf("%d users after bad input", n)
		}

		res, err := svc.SignUp(ctx, SignUp{Username: "carol", Email: "carol@example.com", Name: "Carol", Password: "a fine passphrase"})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Created || res.Verified || res.User.EmailVerified || res.Email != "carol@example.com" {
			t.Fatalf("result %+v, want a new unverified account", res)
		}
		u, err := st.GetUserByUsername(ctx, "carol")
		if err != nil || u.EmailVerified || u.Name != "Carol" {
			t.Fatalf("stored %+v, %v", u, err)
		}
		tok, n := mailedToken(t, st, "carol@example.com", testIssuer+PathVerifyEmail, "token")
		if tok == "" || n != 1 || len(tok) < 40 {
			t.Fatalf("verification mail: token %q, %d mails", tok, n)
		}
		if a := auditTypes(t, st); a["user.signed_up"] != 1 || a["mail.queued"] != 1 {
			t.Fatalf("audit %v", a)
		}

		// The username is taken whatever its case; nothing is mailed.
		if _, err := svc.SignUp(ctx, SignUp{Username: "CAROL", Email: "other@example.com", Password: "a fine passphrase"}); !errors.Is(err, ErrUsernameTaken) {
			t.Fatalf("taken username: %v", err)
		}
		// The email is taken: the answer looks like a sign-up, no account
		// is made and the owner gets a notice instead.
		res2, err := svc.SignUp(ctx, SignUp{Username: "mallory", Email: "Carol@Example.com", Password: "a fine passphrase"})
		if err != nil || res2.Created || res2.Email != "Carol@Example.com" {
			t.Fatalf("taken email: %+v, %v", res2, err)
		}
		if _, err := st.GetUserByUsername(ctx, "mallory"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("an account was made for a taken email: %v", err)
		}
		if _, n := mailedToken(t, st, "carol@example.com", "", ""); n != 2 {
			t.Fatalf("%d mails to the owner, want the verification and the notice", n)
		}

		// Bad links: tampered, foreign purpose, unknown.
		tampered := tok[:len(tok)-1] + "A"
		if tok[len(tok)-1] == 'A' {
			tampered = tok[:len(tok)-1] + "B"
		}
		for name, bad := range map[string]string{"tampered": tampered, "empty": "", "long": strings.Repeat("x", 300)} {
			if _, err := svc.VerifyEmail(ctx, bad); !errors.Is(err, ErrLinkInvalid) {
				t.Errorf("%s link: %v, want ErrLinkInvalid", name, err)
			}
		}
		if _, err := svc.ConfirmEmailChange(ctx, tok); !errors.Is(err, ErrLinkInvalid) {
			t.Errorf("verification link as an email-change link: %v", err)
		}
		if _, err := svc.CheckInvitation(ctx, tok); !errors.Is(err, ErrLinkInvalid) {
			t.Errorf("verification link as an invitation: %v", err)
		}

		// The link verifies once.
		v, err := svc.VerifyEmail(ctx, tok)
		if err != nil || !v.EmailVerified {
			t.Fatalf("VerifyEmail: %+v, %v", v, err)
		}
		if u, _ := st.GetUser(ctx, v.ID); !u.EmailVerified {
			t.Fatal("email_verified not stored")
		}
		if _, err := svc.VerifyEmail(ctx, tok); !errors.Is(err, ErrLinkInvalid) {
			t.Fatalf("reused link: %v", err)
		}
		if a := auditTypes(t, st); a["user.email_verified"] != 1 || a["user.signup_email_taken"] != 1 {
			t.Fatalf("audit %v", a)
		}
	})
}

func TestVerificationLinkExpiresAndIsBoundToTheAddress(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		ctx := context.Background()
		now := testNow
		svc := signupService(t, st, SignupOpen, &now)
		if _, err := svc.SignUp(ctx, SignUp{Username: "dave", Email: "dave@example.com", Password: "a fine passphrase"}); err != nil {
			t.Fatal(err)
		}
		first, _ := mailedToken(t, st, "dave@example.com", testIssuer+PathVerifyEmail, "token")

		// Resend: unknown and verified accounts get nothing (and the same
		// answer); the unverified one gets a new link and the old ends.
		for _, id := range []string{"nobody", "nobody@example.com"} {
			if err := svc.ResendVerification(ctx, id, "192.0.2.1"); err != nil {
				t.Fatalf("resend to %s: %v", id, err)
			}
		}
		now = now.Add(time.Second) // ListMail is newest first
		if err := svc.ResendVerification(ctx, "DAVE@example.com", "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		second, n := mailedToken(t, st, "dave@example.com", testIssuer+PathVerifyEmail, "token")
		if n != 2 || second == first {
			t.Fatalf("resend: %d mails, same token %v", n, second == first)
		}
		if _, err := svc.VerifyEmail(ctx, first); !errors.Is(err, ErrLinkInvalid) {
			t.Fatalf("superseded link: %v", err)
		}

		// Expired: an hour and a second later (VerifyLifetime 1h).
		now = now.Add(time.Hour + time.Second)
		second, _ = mailedToken(t, st, "dave@example.com", testIssuer+PathVerifyEmail, "token")
		if _, err := svc.VerifyEmail(ctx, second); !errors.Is(err, ErrLinkInvalid) {
			t.Fatalf("expired link: %v", err)
		}

		// Bound to the address: the user's email changed since.
		if err := svc.ResendVerification(ctx, "dave", ""); err != nil {
			t.Fatal(err)
		}
		third, _ := mailedToken(t, st, "dave@example.com", testIssuer+PathVerifyEmail, "token")
		u, _ := st.GetUserByUsername(ctx, "dave")
		u.Email = "dave@other.example"
		if err := st.UpdateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.VerifyEmail(ctx, third); !errors.Is(err, ErrLinkInvalid) {
			t.Fatalf("link for an old address: %v", err)
		}
		if u, _ := st.GetUser(ctx, u.ID); u.EmailVerified {
			t.Fatal("verified by a link sent to another address")
		}
	})
}

func TestInvitation(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		ctx := context.Background()
		now := testNow
		if _, err := signupService(t, st, SignupOff, &now).Invite(ctx, "cli", "erin@example.com"); !errors.Is(err, ErrSignupClosed) {
			t.Fatalf("invite with sign-up off: %v", err)
		}
		svc := signupService(t, st, SignupInvite, &now)
		for _, bad := range []string{"", "erin@example.com\r\nBcc: x@evil.test", "Erin <erin@example.com>"} {
			if _, err := svc.Invite(ctx, "cli", bad); !IsValidation(err) {
				t.Errorf("Invite(%q) = %v, want a ValidationError", bad, err)
			}
		}
		inv, err := svc.Invite(ctx, "cli", "erin@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if !inv.Queued || !strings.HasPrefix(inv.Link, testIssuer+PathSignup+"?invite=") || !inv.ExpiresAt.Equal(now.Add(2*time.Hour)) {
			t.Fatalf("invitation %+v", inv)
		}
		tok, n := mailedToken(t, st, "erin@example.com", testIssuer+PathSignup, InviteParam)
		if n != 1 || !strings.HasSuffix(inv.Link, tok) {
			t.Fatalf("invitation mail: %d, token %q", n, tok)
		}
		if email, err := svc.CheckInvitation(ctx, tok); err != nil || email != "erin@example.com" {
			t.Fatalf("CheckInvitation: %q, %v", email, err)
		}
		// An invitation is no verification link.
		if _, err := svc.VerifyEmail(ctx, tok); !errors.Is(err, ErrLinkInvalid) {
			t.Fatalf("invitation as a verification link: %v", err)
		}
		// A taken username leaves the invitation usable.
		if _, err := svc.CreateUser(ctx, "cli", NewUser{Username: "taken", Password: "pw-long-enough"}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.SignUp(ctx, SignUp{Username: "taken", Password: "a fine passphrase", Invitation: tok}); !errors.Is(err, ErrUsernameTaken) {
			t.Fatalf("taken username: %v", err)
		}
		// The account gets the invited address (not the form's), verified.
		res, err := svc.SignUp(ctx, SignUp{Username: "erin", Email: "someone@else.example", Password: "a fine passphrase", Invitation: tok})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Created || !res.Verified || res.User.Email != "erin@example.com" || !res.User.EmailVerified {
			t.Fatalf("accepted: %+v", res)
		}
		if _, n := mailedToken(t, st, "erin@example.com", "", ""); n != 1 {
			t.Fatalf("%d mails to erin, want only the invitation", n)
		}
		if _, err := svc.SignUp(ctx, SignUp{Username: "erin2", Password: "a fine passphrase", Invitation: tok}); !errors.Is(err, ErrLinkInvalid) {
			t.Fatalf("reused invitation: %v", err)
		}
		if _, err := svc.Invite(ctx, "cli", "ERIN@example.com"); !errors.Is(err, storage.ErrConflict) {
			t.Fatalf("invite an existing address: %v", err)
		}
		// Expired invitation.
		inv2, err := svc.Invite(ctx, "cli", "frank@example.com")
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(2*time.Hour + time.Second)
		tok2, _ := mailedToken(t, st, "frank@example.com", testIssuer+PathSignup, InviteParam)
		if _, err := svc.SignUp(ctx, SignUp{Username: "frank", Password: "a fine passphrase", Invitation: tok2}); !errors.Is(err, ErrLinkInvalid) {
			t.Fatalf("expired invitation %s: %v", inv2.Link, err)
		}
		if a := auditTypes(t, st); a["user.invited"] != 2 || a["user.invitation_accepted"] != 1 {
			t.Fatalf("audit %v", a)
		}
		// Without mail the link is made (to be given by hand), not queued.
		off := signupService(t, st, SignupInvite, &now)
		off.accounts.MailOff = true
		inv3, err := off.Invite(ctx, "cli", "gina@example.com")
		if _, n := mailedToken(t, st, "gina@example.com", "", ""); err != nil || inv3.Queued || inv3.Link == "" || n != 0 {
			t.Fatalf("invite without mail: %+v, %v, %d mails", inv3, err, n)
		}
	})
}

func TestRequireVerifiedEmail(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		ctx := context.Background()
		now := testNow
		svc := signupService(t, st, SignupOpen, &now)
		if _, err := svc.SignUp(ctx, SignUp{Username: "hana", Email: "hana@example.com", Password: "a fine passphrase"}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.CreateUser(ctx, "cli", NewUser{Username: "nomail", Password: "pw-long-enough"}); err != nil {
			t.Fatal(err)
		}
		loose := NewPasswords(st, nil, fastParams, nil)
		strict := NewPasswords(st, nil, fastParams, nil).WithRequireVerifiedEmail(true)
		attempt := PasswordAttempt{Username: "hana", Password: "a fine passphrase"}
		if _, err := loose.Verify(ctx, attempt); err != nil {
			t.Fatalf("without the setting: %v", err)
		}
		var ue *UnverifiedError
		if _, err := strict.Verify(ctx, attempt); !errors.As(err, &ue) || ue.Email != "hana@example.com" {
			t.Fatalf("unverified sign-in: %v", err)
		}
		if _, err := strict.Verify(ctx, PasswordAttempt{Username: "hana", Password: "wrong password!"}); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("a wrong password must not say the address is unverified: %v", err)
		}
		reauth := attempt
		reauth.Reauth = true
		if _, err := strict.Verify(ctx, reauth); err != nil {
			t.Fatalf("re-check of a signed-in user: %v", err)
		}
		if _, err := strict.Verify(ctx, PasswordAttempt{Username: "nomail", Password: "pw-long-enough"}); err != nil {
			t.Fatalf("a user without an address: %v", err)
		}
		tok, _ := mailedToken(t, st, "hana@example.com", testIssuer+PathVerifyEmail, "token")
		if _, err := svc.VerifyEmail(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if _, err := strict.Verify(ctx, attempt); err != nil {
			t.Fatalf("verified sign-in: %v", err)
		}
	})
}

// Sign-up and "send the link again" follow the limits of limits.go: over
// the per-address limit the request is refused (and creates nothing);
// over the per-recipient limit the answer stays the same but no more
// mail goes to that address.
func TestSignUpAndResendRateLimits(t *testing.T) {
	forEachStore(t, func(t *testing.T, st storage.Store) {
		ctx := context.Background()
		now := testNow
		clock := func() time.Time { return now }
		svc := signupService(t, st, SignupOpen, &now).WithLimiter(throttle.NewLimiter(st, clock), MailLimits{
			PerAddress:   throttle.Rate{Max: 4, Window: time.Hour},
			PerRecipient: throttle.Rate{Max: 2, Window: time.Hour},
		})
		signUp := func(user, email, ip string) (SignUpResult, error) {
			return svc.SignUp(ctx, SignUp{Username: user, Email: email, Password: "a fine passphrase", IP: ip})
		}
		// Three sign-ups naming one address from three networks: the
		// first makes the account, the second mails "you have an account",
		// the third answers the same and mails nothing.
		for i, user := range []string{"mia", "mia2", "mia3"} {
			if _, err := signUp(user, "mia@example.com", "192.0.2."+string(rune('1'+i))); err != nil {
				t.Fatalf("sign-up %d: %v", i+1, err)
			}
		}
		if _, n := mailedToken(t, st, "mia@example.com", "", ""); n != 2 {
			t.Fatalf("%d mails to one recipient, want the limit 2", n)
		}
		// Resend for her: the recipient limit of "resend" is its own, by
		// what was typed; over it, nil and nothing sent.
		for i := range 3 {
			if err := svc.ResendVerification(ctx, "mia", "192.0.2.20"); err != nil {
				t.Fatalf("resend %d: %v", i+1, err)
			}
		}
		if _, n := mailedToken(t, st, "mia@example.com", "", ""); n != 4 {
			t.Fatalf("%d mails after three resends, want 4 (2 + the resend limit 2)", n)
		}
		// Per address: the 5th sign-up from one address is refused and
		// makes no account.
		for i := range 4 {
			if _, err := signUp("u"+string(rune('a'+i)), "u"+string(rune('a'+i))+"@example.com", "198.51.100.9"); err != nil {
				t.Fatalf("sign-up %d: %v", i+1, err)
			}
		}
		users := countUsers(t, st)
		var rl *RateLimitedError
		if _, err := signUp("ue", "ue@example.com", "198.51.100.9"); !errors.As(err, &rl) || !rl.Until.After(now) {
			t.Fatalf("5th sign-up from one address: %v", err)
		}
		if countUsers(t, st) != users {
			t.Fatal("a refused sign-up made an account")
		}
		for range 4 {
			_ = svc.ResendVerification(ctx, "nobody", "198.51.100.7")
		}
		if err := svc.ResendVerification(ctx, "mia", "198.51.100.7"); !errors.As(err, &rl) {
			t.Fatalf("5th resend from one address: %v", err)
		}
		now = now.Add(time.Hour + time.Second)
		if _, err := signUp("ue", "ue@example.com", "198.51.100.9"); err != nil {
			t.Fatalf("after the window: %v", err)
		}
	})
}
