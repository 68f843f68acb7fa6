package oidc_test

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// chromiumPath finds a headless-capable Chromium; "" if none.
func chromiumPath() string {
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	return ""
}

// screenshotDir is docs/img when SESAME_UPDATE_SCREENSHOTS=1, else a
// temporary directory, so ordinary runs (and CI) leave the tree clean.
func screenshotDir(t *testing.T) string {
	if os.Getenv("SESAME_UPDATE_SCREENSHOTS") == "1" {
		return filepath.Join("..", "docs", "img")
	}
	return t.TempDir()
}

// newChrome starts a headless Chromium for one test (skipped when none is
// installed, except under CI) and returns its context, bounded by timeout.
func newChrome(t *testing.T, timeout time.Duration, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	exe := chromiumPath()
	if exe == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is required under CI (apt-get install -y chromium)")
		}
		t.Skip("chromium not installed (apt-get install -y chromium); CI unset")
	}
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	}, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	ctx, cancel := context.WithTimeout(bctx, timeout)
	t.Cleanup(func() { cancel(); cancelBrowser(); cancelAlloc() })
	return ctx
}

// TestBrowserEndToEnd drives a real headless Chromium through the login,
// consent, account and logout pages (no JavaScript on our side: the
// browser only submits forms and follows redirects).
func TestBrowserEndToEnd(t *testing.T) {
	ctx := newChrome(t, 60*time.Second, chromedp.WindowSize(900, 1000))
	e := newEnv(t)
	shots := screenshotDir(t)

	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	text := func(step, sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		return strings.TrimSpace(v)
	}
	// waitURL waits until the browser is at a URL starting with prefix.
	waitURL := func(step, prefix string) *url.URL {
		t.Helper()
		var loc string
		for i := 0; i < 100; i++ {
			l, err := chromedp.Run(ctx, chromedp.Location())
			if err != nil {
				t.Fatalf("%s: %v", step, err)
			}
			loc = l
			if strings.HasPrefix(loc, prefix) {
				return mustParse(loc)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("%s: browser at %s, want %s…", step, loc, prefix)
		return nil
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// prompt=none without a session: login_required at the redirect URI.
	a := e.newAuthRequest("public-app", "/cb")
	a.extra.Set("prompt", "none")
	run("prompt=none", chromedp.Navigate(a.url(e.issuer)))
	if got := waitURL("prompt=none", e.issuer+"/cb?").Query().Get("error"); got != "login_required" {
		t.Fatalf("prompt=none without session: error=%q", got)
	}

	// Wrong password, then the right one.
	a = e.newAuthRequest("public-app", "/cb")
	run("login page",
		chromedp.Navigate(a.url(e.issuer)),
		chromedp.WaitVisible(chromedp.CSS(`#username`)),
		chromedp.SendKeys(chromedp.CSS(`#username`), "alice"),
	)
	shot("login.png")
	run("wrong password",
		chromedp.SendKeys(chromedp.CSS(`#password`), "not my password"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#login-error`)),
	)
	msg := text("read error", "#login-error")
	if msg != "Incorrect username or password." {
		t.Errorf("login error %q", msg)
	}
	run("right password",
		chromedp.SendKeys(chromedp.CSS(`#password`), alicePassword),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`button[value="allow"]`)),
	)
	shot("consent.png")
	run("allow", chromedp.Click(chromedp.CSS(`button[value="allow"]`)))
	cb := waitURL("redirect with code", e.issuer+"/cb?")
	if cb.Query().Get("state") != a.state || cb.Query().Get("iss") != e.issuer {
		t.Errorf("callback %s lacks state/iss", cb)
	}

	// The client's side: token exchange, ID token and userinfo.
	cctx := context.Background()
	cfg := a.oauth2Config(e.issuer, "")
	tok, err := cfg.Exchange(cctx, cb.Query().Get("code"), oauth2.VerifierOption(a.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	provider, err := gooidc.NewProvider(cctx, e.issuer)
	if err != nil {
		t.Fatal(err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&gooidc.Config{ClientID: "public-app", SupportedSigningAlgs: []string{"ES256"}}).Verify(cctx, rawID)
	if err != nil || idt.Nonce != a.nonce || idt.Subject != e.alice.ID {
		t.Fatalf("id token: %v (nonce %q sub %q)", err, idt.Nonce, idt.Subject)
	}
	if _, err := provider.UserInfo(cctx, oauth2.StaticTokenSource(tok)); err != nil {
		t.Fatalf("userinfo: %v", err)
	}

	// Deny (prompt=consent forces the page for an already-consented app).
	d := e.newAuthRequest("public-app", "/cb")
	d.extra.Set("prompt", "consent")
	run("deny",
		chromedp.Navigate(d.url(e.issuer)),
		chromedp.WaitVisible(chromedp.CSS(`button[value="deny"]`)),
		chromedp.Click(chromedp.CSS(`button[value="deny"]`)),
	)
	if got := waitURL("deny", e.issuer+"/cb?").Query().Get("error"); got != "access_denied" {
		t.Errorf("deny: error=%q", got)
	}

	// Single sign-on: a second (first-party) client, no second login.
	s := e.newAuthRequest("first-party", "/cb3")
	s.scope = "openid profile"
	run("sso", chromedp.Navigate(s.url(e.issuer)))
	if got := waitURL("sso", e.issuer+"/cb3?").Query().Get("code"); got == "" {
		t.Error("SSO: no code for the second client")
	}

	// Account page: remove the app's access; its refresh token then fails.
	run("account",
		chromedp.Navigate(e.issuer+"/account"),
		chromedp.WaitVisible(chromedp.CSS(`.app`)),
	)
	shot("account.png")
	run("revoke",
		chromedp.Click(chromedp.CSS(`button[aria-label="Remove access for Public App"]`)),
		// The confirmation page (no script): nothing is removed yet.
		chromedp.WaitVisible(chromedp.CSS(`button.danger-solid`)),
	)
	if h1 := text("confirm", "h1"); h1 != "Remove access for Public App?" {
		t.Errorf("confirmation page: %q", h1)
	}
	run("confirm revoke",
		chromedp.Click(chromedp.CSS(`button.danger-solid`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
	)
	if _, err := cfg.TokenSource(cctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Error("refresh token still works after revocation on the account page")
	}

	// Logout (confirmation page, then signed out).
	run("logout",
		chromedp.Navigate(e.issuer+"/oauth2/logout"),
		chromedp.WaitVisible(chromedp.CSS(`button.primary`)),
		chromedp.Click(chromedp.CSS(`button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`h1.signed-out`)),
	)
	if h1 := text("signed out", "h1"); h1 != "You are signed out" {
		t.Errorf("after logout: %q", h1)
	}
	n := e.newAuthRequest("first-party", "/cb3")
	n.scope = "openid"
	n.extra.Set("prompt", "none")
	run("after logout", chromedp.Navigate(n.url(e.issuer)))
	if got := waitURL("after logout", e.issuer+"/cb3?").Query().Get("error"); got != "login_required" {
		t.Errorf("after logout prompt=none: error=%q", got)
	}
}
