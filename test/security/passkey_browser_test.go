package security

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/config"
	"github.com/sesameauth/sesame/storage"
)

// Passkeys in a real browser: headless Chromium (chromium_test.go) with
// the DevTools virtual authenticator (CTAP2, resident keys, user
// verification). The page's own script (/static/passkeys.js, under the
// strict CSP) runs the ceremonies.

func TestPasskeysInChromium(t *testing.T) {
	ctx := newChromium(t, 90*time.Second)
	cfg := baseConfig(t)
	cfg.Issuer = issuerLocalhost
	cfg.AccessTokenFormat = "jwt"
	s := start(t, cfg).with(t)
	const pw = "alice's long passphrase"
	alice := s.user("alice", pw)
	c, sec := s.client(app.ClientSpec{Name: "passkey-app", RedirectURIs: []string{s.issuer + "/cb"},
		GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid"}, SkipConsent: true})
	b := &chrome{t: t, ctx: ctx, s: s, shots: shotsDir(t)}
	run, waitURL, shot, signOut := b.run, b.waitURL, b.shot, b.signOut
	// code runs an authorization whose sign-in the caller drives, and
	// returns the token response.
	tokens := func(a *authz, step string) resp {
		t.Helper()
		cb := waitURL(step, s.issuer+"/cb?")
		return s.exchange(a, cb.Query().Get("code"), c.ID, sec)
	}

	// The virtual authenticator: a platform authenticator with resident
	// keys that verifies the user.
	run("load", chromedp.Navigate(s.issuer+"/login"))
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	if _, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
			Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
			IsUserVerified: true, AutomaticPresenceSimulation: true,
		}}); err != nil {
		t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}

	// Register a passkey on the account page.
	run("password sign-in",
		chromedp.WaitVisible(chromedp.CSS(`#username`)),
		chromedp.SendKeys(chromedp.CSS(`#username`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`#password`), pw),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)))
	waitURL("account", s.issuer+"/account")
	run("security page", chromedp.Navigate(s.issuer+"/account/security"), chromedp.WaitVisible(chromedp.CSS(`#passkey-register`)),
		chromedp.SetValue(chromedp.CSS(`#passkey-name`), "Laptop"))
	run("register", chromedp.Click(chromedp.CSS(`#passkey-register`)))
	waitURL("registered", s.issuer+"/account/security?done=passkey")
	run("passkey listed", chromedp.WaitVisible(chromedp.CSS(`#passkeys`)))
	fs, err := s.s.Store.ListFactors(context.Background(), alice.ID)
	if err != nil || len(fs) != 1 || fs[0].Kind != storage.FactorWebAuthn || fs[0].Name != "Laptop" || fs[0].CredentialID == "" {
		t.Fatalf("stored factors after registration: %+v, %v", fs, err)
	}
	shot("passkeys.png")
	// The authenticator-app enrolment page (QR code) for the docs.
	run("totp enrolment", chromedp.Click(chromedp.CSS(`form[action="/account/security/totp"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#totp-secret`)))
	shot("totp-enrol.png")
	signOut()

	// Passwordless: "Sign in with a passkey" on the login page.
	a := newAuthz(t, c, "openid")
	run("login page", chromedp.Navigate(s.issuer+a.path()), chromedp.WaitVisible(chromedp.CSS(`#passkey-signin`)))
	run("passkey sign-in", chromedp.Click(chromedp.CSS(`#passkey-signin`)))
	s.wantAuthentication(t, tokens(a, "passwordless"), c.ID, sec, []string{"hwk", "mfa"}, app.ACRMFA)
	signOut()

	// Password, then the passkey as the second factor.
	a = newAuthz(t, c, "openid")
	run("password", chromedp.Navigate(s.issuer+a.path()), chromedp.WaitVisible(chromedp.CSS(`#username`)),
		chromedp.SendKeys(chromedp.CSS(`#username`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`#password`), pw),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)))
	waitURL("second step", s.issuer+"/login/mfa?")
	run("second-factor page", chromedp.WaitVisible(chromedp.CSS(`#passkey-second`)))
	shot("second-factor.png")
	run("passkey as second factor", chromedp.Click(chromedp.CSS(`#passkey-second`)))
	s.wantAuthentication(t, tokens(a, "second factor"), c.ID, sec, []string{"pwd", "hwk", "mfa"}, app.ACRMFA)

	// Remove it (the password again).
	sel := `input[id^="remove-"]`
	run("remove", chromedp.Navigate(s.issuer+"/account/security"), chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.SendKeys(chromedp.CSS(sel), pw),
		chromedp.Click(chromedp.CSS(`#passkeys form[action="/account/security/remove"] button`)))
	waitURL("removed", s.issuer+"/account/security?done=removed")
	if fs, _ := s.s.Store.ListFactors(context.Background(), alice.ID); len(fs) != 1 || fs[0].Kind != storage.FactorTOTP {
		t.Fatalf("factors after removing the passkey: %+v (want only the unfinished TOTP enrolment)", fs)
	}
	_ = config.Default
}
