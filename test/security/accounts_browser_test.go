package security

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/mail/mailtest"
	"github.com/sesameauth/sesame/internal/server"
	"github.com/sesameauth/sesame/storage/postgres/pgtest"
)

// Accounts that run themselves, as a user meets them (issue 15): headless
// Chromium on the pages, a real SMTP server (mailtest, STARTTLS) receiving
// what the queue's worker sends, on SQLite and on Postgres.
//
//   - sign up from the login page's "Create account" link → the
//     confirmation mail arrives → with SESAME_REQUIRE_VERIFIED_EMAIL the
//     right password does not sign in yet → the link verifies → sign in
//     through an authorization and get tokens;
//   - "Forgot your password?" → the reset mail → a new password → the
//     refresh token issued before is refused, the old password too, the
//     new one signs in;
//   - an invitation (app.Invite, what `sesame users invite` and the admin
//     API call) → its mail → the sign-up form with the invited address →
//     the account exists with that address verified.
func TestAccountsInChromium(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := newChromium(t, 2*time.Minute)
			smtpd := mailtest.Start(t, false)
			cfg := baseConfig(t)
			if backend == "postgres" {
				cfg.DatabaseURL = pgtest.URL(t)
			}
			cfg.Issuer = issuerLocalhost
			cfg.Signup = app.SignupOpen
			cfg.RequireVerifiedEmail = true
			cfg.SMTPURL = smtpd.URL()
			cfg.MailFrom = "sesame@example.test"
			s := start(t, cfg, server.WithSMTPTLS(smtpd.ClientTLS()), server.WithMailInterval(50*time.Millisecond)).with(t)
			accountsInChromium(t, ctx, s, smtpd, backend == "sqlite")
		})
	}
}

func accountsInChromium(t *testing.T, ctx context.Context, s *srv, smtpd *mailtest.Server, screenshots bool) {
	c, sec := s.client(app.ClientSpec{Name: "accounts-app", RedirectURIs: []string{s.issuer + "/cb"},
		GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"openid", "email", "offline_access"},
		SkipConsent: true})
	shots := t.TempDir()
	if screenshots {
		shots = shotsDir(t)
	}
	b := &chrome{t: t, ctx: ctx, s: s, shots: shots}
	run, text, waitURL, shot, signOut := b.run, b.text, b.waitURL, b.shot, b.signOut
	// mailLink waits for the n-th message (1-based) and returns it with
	// the one link it carries to path on the issuer.
	mailLink := func(n int, to, subject, path string) string {
		t.Helper()
		m := smtpd.Wait(n, 30*time.Second)[n-1]
		if len(m.To) != 1 || m.To[0] != to {
			t.Fatalf("mail %d went to %v, want %s", n, m.To, to)
		}
		msg, body := mailtest.Parts(t, m.Data)
		if got := msg.Header.Get("Subject"); got != subject {
			t.Fatalf("mail %d subject %q, want %q", n, got, subject)
		}
		re := regexp.MustCompile(regexp.QuoteMeta(s.issuer+path) + `\?[^\s"<>]+`)
		plain := re.FindAllString(body["text/plain"], -1)
		html := re.FindAllString(body["text/html"], -1)
		if len(plain) != 1 || len(html) != 1 || plain[0] != strings.ReplaceAll(html[0], "&amp;", "&") {
			t.Fatalf("mail %d: want one absolute %s link in each part, got text %q html %q", n, path, plain, html)
		}
		return plain[0]
	}
	signIn := func(step, username, pw string) {
		t.Helper()
		run(step, chromedp.WaitVisible(chromedp.CSS(`#username`)),
			chromedp.SetValue(chromedp.CSS(`#username`), username),
			chromedp.SetValue(chromedp.CSS(`#password`), pw),
			chromedp.Click(chromedp.CSS(`form:has(#username) button[type=submit]`)))
	}
	// authorize signs in through an authorization and returns the tokens.
	authorize := func(step, username, pw string) resp {
		t.Helper()
		a := newAuthz(t, c, "openid email offline_access")
		run(step, chromedp.Navigate(s.issuer+a.path()))
		signIn(step, username, pw)
		cb := waitURL(step, s.issuer+"/cb?")
		if cb.Query().Get("state") != a.state {
			t.Fatalf("%s: state %q, want %q", step, cb.Query().Get("state"), a.state)
		}
		r := s.exchange(a, cb.Query().Get("code"), c.ID, sec)
		wantTokens(t, r)
		if r.str("refresh_token") == "" {
			t.Fatalf("%s: no refresh token: %s", step, r.body)
		}
		return r
	}
	const (
		bobPw  = "purple monkey dishwasher"
		bobNew = "correct horse battery staple"
	)

	// 1. Sign up from the login page.
	run("login page", chromedp.Navigate(s.issuer+newAuthz(t, c, "openid").path()),
		chromedp.WaitVisible(chromedp.CSS(`#signup-link`)), chromedp.WaitVisible(chromedp.CSS(`#forgot-link`)))
	run("create account", chromedp.Click(chromedp.CSS(`#signup-link`)))
	waitURL("sign-up page", s.issuer+"/signup")
	run("fill in", chromedp.WaitVisible(chromedp.CSS(`#username`)),
		chromedp.SetValue(chromedp.CSS(`#username`), "bob"),
		chromedp.SetValue(chromedp.CSS(`#email`), "bob@example.com"),
		chromedp.SetValue(chromedp.CSS(`#name`), "Bob Example"),
		chromedp.SetValue(chromedp.CSS(`#password`), bobPw))
	shot("signup.png")
	run("submit", chromedp.Click(chromedp.CSS(`form[action="/signup"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p[role=status]`)))
	if got := text(`p[role=status]`); !strings.Contains(got, "bob@example.com") {
		t.Fatalf("after sign-up the page says %q, want it to name the address", got)
	}
	shot("signup-sent.png")
	bob, err := s.s.Store.GetUserByUsername(s.ctx, "bob")
	if err != nil || bob.Email != "bob@example.com" || bob.EmailVerified {
		t.Fatalf("after sign-up: %+v, %v (want bob@example.com, not verified)", bob, err)
	}
	verify := mailLink(1, "bob@example.com", "Confirm your email address", app.PathVerifyEmail)

	// Not verified yet: the right password does not sign in, and the
	// page offers the resend link.
	run("sign in before verifying", chromedp.Navigate(s.issuer+"/login"))
	signIn("sign in before verifying", "bob", bobPw)
	run("refused", chromedp.WaitVisible(chromedp.CSS(`#login-error`)), chromedp.WaitVisible(chromedp.CSS(`#resend-link`)))

	run("verify", chromedp.Navigate(verify), chromedp.WaitVisible(chromedp.CSS(`p[role=status]`)))
	shot("verify-email.png")
	if bob, _ = s.s.Store.GetUserByUsername(s.ctx, "bob"); !bob.EmailVerified {
		t.Fatal("the verification link did not set email_verified")
	}
	run("the link is spent", chromedp.Navigate(verify), chromedp.WaitVisible(chromedp.CSS(`a[href^="/verify-email/resend"]`)))
	before := authorize("sign in after verifying", "bob", bobPw)
	signOut()

	// 2. Forgot the password.
	run("forgot link", chromedp.Navigate(s.issuer+"/login"), chromedp.WaitVisible(chromedp.CSS(`#forgot-link`)),
		chromedp.Click(chromedp.CSS(`#forgot-link`)))
	waitURL("forgot page", s.issuer+app.PathForgotPassword)
	run("ask", chromedp.WaitVisible(chromedp.CSS(`#identifier`)), chromedp.SetValue(chromedp.CSS(`#identifier`), "bob@example.com"))
	shot("forgot.png")
	run("send", chromedp.Click(chromedp.CSS(`form[action="/password/forgot"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#forgot-sent`)))
	reset := mailLink(2, "bob@example.com", "Reset your password", app.PathResetPassword)
	run("reset page", chromedp.Navigate(reset), chromedp.WaitVisible(chromedp.CSS(`#password`)),
		chromedp.SetValue(chromedp.CSS(`#password`), bobNew))
	shot("reset.png")
	run("set", chromedp.Click(chromedp.CSS(`form[action="/password/reset"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p[role=status]`)))
	wantError(t, s.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {before.str("refresh_token")}}, c.ID, sec),
		400, "invalid_grant")
	if s.active(before.str("access_token"), c.ID, sec) {
		t.Fatal("the access token issued before the reset is still active")
	}
	run("old password", chromedp.Navigate(s.issuer+"/login"))
	signIn("old password", "bob", bobPw)
	run("old password refused", chromedp.WaitVisible(chromedp.CSS(`#login-error`)))
	run("the reset link is spent", chromedp.Navigate(reset), chromedp.WaitVisible(chromedp.CSS(`#reset-invalid`)))
	authorize("new password", "bob", bobNew)
	signOut()

	// 3. An invitation.
	inv, err := s.s.App.Invite(s.ctx, "test", "carol@example.com")
	if err != nil || !inv.Queued {
		t.Fatalf("invite: %+v, %v", inv, err)
	}
	invite := mailLink(3, "carol@example.com", "You are invited to create an account", app.PathSignup)
	if invite != inv.Link {
		t.Fatalf("mailed invitation %q, Invite returned %q", invite, inv.Link)
	}
	run("invitation", chromedp.Navigate(invite), chromedp.WaitVisible(chromedp.CSS(`#username`)))
	readonly, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		`document.querySelector('#email').readOnly && document.querySelector('#email').value === 'carol@example.com'`))
	if err != nil || !readonly {
		t.Fatal("the invitation's sign-up form does not show the invited address read-only")
	}
	run("accept", chromedp.SetValue(chromedp.CSS(`#username`), "carol"),
		chromedp.SetValue(chromedp.CSS(`#password`), "carol's own passphrase"))
	shot("invite.png")
	run("accept", chromedp.Click(chromedp.CSS(`form:has(#username) button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`a.button.primary[href="/login"]`)))
	carol, err := s.s.Store.GetUserByUsername(s.ctx, "carol")
	if err != nil || carol.Email != "carol@example.com" || !carol.EmailVerified {
		t.Fatalf("after accepting the invitation: %+v, %v (want carol@example.com, verified)", carol, err)
	}
	authorize("invited user signs in", "carol", "carol's own passphrase")

	// Each event sent exactly one mail.
	time.Sleep(300 * time.Millisecond) // six worker ticks: a duplicate would have gone out
	if n := len(smtpd.Messages()); n != 3 {
		t.Fatalf("%d mails received, want 3 (confirm, reset, invitation)", n)
	}
}
