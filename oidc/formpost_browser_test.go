package oidc_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"
)

// scriptsDisabled switches JavaScript off (or on) in the page.
func scriptsDisabled(off bool) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: off})
		return chromedp.Void{}, err
	}
}

// TestBrowserFormPost drives a real Chromium through response_mode=form_post
// to a client callback on another origin: the page's own CSP (script-src
// 'self', form-action the client's origin only) must let the static script
// submit the form, and without JavaScript the Continue button must work.
// The client receives a POST with the code, which redeems.
func TestBrowserFormPost(t *testing.T) {
	ctx := newChrome(t, 60*time.Second)
	e := newEnv(t)
	cb := newClientCallback(t)
	e.addFormPostClient(cb, true) // first party: no consent page in the way

	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	// waitPosts waits until the client has received n form posts.
	waitPosts := func(step string, n int) {
		t.Helper()
		for i := 0; i < 200; i++ {
			if len(cb.received()) >= n {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("%s: the client received %d posts, want %d (browser at %s)", step, len(cb.received()), n, loc)
	}
	redeem := func(step string, a *authRequest) {
		t.Helper()
		got := cb.received()
		last := got[len(got)-1]
		if last.Get("state") != a.state || last.Get("iss") != e.issuer || last.Get("code") == "" || last.Get("error") != "" {
			t.Fatalf("%s: the client received %v", step, last)
		}
		if _, err := a.oauth2Config(e.issuer, formPostSecret).Exchange(context.Background(), last.Get("code"),
			oauth2.VerifierOption(a.verifier)); err != nil {
			t.Fatalf("%s: the posted code does not redeem: %v", step, err)
		}
	}

	// With JavaScript: sign in, and the form_post page submits itself.
	a := e.formPostRequest(cb, `st"<'>&1`)
	run("login page",
		chromedp.Navigate(a.url(e.issuer)),
		chromedp.WaitVisible(chromedp.CSS(`#username`)),
		chromedp.SendKeys(chromedp.CSS(`#username`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`#password`), alicePassword),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	)
	waitPosts("auto-submit", 1)
	run("client page", chromedp.WaitVisible(chromedp.CSS(`#received`)))
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || loc != cb.uri() {
		t.Fatalf("browser at %s (%v), want the callback %s", loc, err, cb.uri())
	}
	redeem("auto-submit", a)

	// Without JavaScript (signed in already): the page waits with its
	// Continue button, which posts the same form.
	a = e.formPostRequest(cb, "no-script")
	run("no script",
		scriptsDisabled(true),
		chromedp.Navigate(a.url(e.issuer)),
		chromedp.WaitVisible(chromedp.CSS(`#form-post button[type=submit]`)),
	)
	if n := len(cb.received()); n != 1 {
		t.Fatalf("the page was submitted without script: %d posts", n)
	}
	run("continue", chromedp.Click(chromedp.CSS(`#form-post button[type=submit]`)))
	waitPosts("continue button", 2)
	redeem("continue button", a)
	run("scripts back on", scriptsDisabled(false))

	// A callback that redirects within the client's origin: form-action
	// (which Chrome applies to that redirect too) allows it.
	cb.mu.Lock()
	cb.thenRedirect = true
	cb.mu.Unlock()
	a = e.formPostRequest(cb, "then-redirect")
	run("callback redirects", chromedp.Navigate(a.url(e.issuer)), chromedp.WaitVisible(chromedp.CSS(`#done`)))
	waitPosts("callback redirects", 3)
	redeem("callback redirects", a)
	cb.mu.Lock()
	cb.thenRedirect = false
	cb.mu.Unlock()

	// An error goes the same way: a scope the client may not ask for is
	// refused, and the error is posted to the client.
	a = e.formPostRequest(cb, "error-state")
	a.scope = "openid not-allowed"
	run("error", chromedp.Navigate(a.url(e.issuer)))
	waitPosts("error", 4)
	if last := cb.received()[3]; last.Get("error") != "invalid_scope" || last.Get("state") != "error-state" || last.Get("code") != "" {
		t.Fatalf("error post %v", last)
	}
	if body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#received`))); strings.TrimSpace(body) != "received" {
		t.Fatalf("client page: %q", body)
	}
}
