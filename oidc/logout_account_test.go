package oidc_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// signedInWithIDToken runs a flow for conf-app and returns its tokens.
func signedInWithIDToken(t *testing.T, e *env, b *browser) *oauth2.Token {
	t.Helper()
	a := e.newAuthRequest("conf-app", "/cb2")
	code := fullFlow(t, e, b, a, true)
	tok, err := a.oauth2Config(e.issuer, confSecret).Exchange(context.Background(), code, oauth2.VerifierOption(a.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok
}

func promptNoneError(t *testing.T, e *env, b *browser) string {
	t.Helper()
	a := e.newAuthRequest("conf-app", "/cb2")
	a.extra.Set("prompt", "none")
	resp, body := b.get(a.url(e.issuer))
	return location(t, resp, body).Query().Get("error")
}

func TestLogoutWithHintRedirectsToRegisteredURI(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	tok := signedInWithIDToken(t, e, b)
	idt, _ := tok.Extra("id_token").(string)
	q := url.Values{"id_token_hint": {idt}, "post_logout_redirect_uri": {e.issuer + "/bye"}, "state": {"st-123"}}
	resp, body := b.get("/oauth2/logout?" + q.Encode())
	loc := location(t, resp, body)
	if loc.Path != "/bye" || loc.Query().Get("state") != "st-123" {
		t.Fatalf("logout redirected to %s", loc)
	}
	if got := promptNoneError(t, e, b); got != "login_required" {
		t.Errorf("after logout prompt=none gave %q, want login_required", got)
	}
}

func TestLogoutRefusesUnregisteredRedirect(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	tok := signedInWithIDToken(t, e, b)
	idt, _ := tok.Extra("id_token").(string)
	tests := []struct{ name string }{{"unregistered"}, {"no client identifiable"}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{"post_logout_redirect_uri": {"https://evil.example/"}}
			if tc.name == "unregistered" {
				q.Set("id_token_hint", idt)
			}
			resp, _ := b.get("/oauth2/logout?" + q.Encode())
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Errorf("status %d location %q, want a 400 page and no redirect", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
	if got := promptNoneError(t, e, b); got == "login_required" {
		t.Error("a refused logout ended the session")
	}
}

func TestLogoutWithoutHintAsksForConfirmation(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	signedInWithIDToken(t, e, b)
	resp, body := b.get("/oauth2/logout")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Sign out?") {
		t.Fatalf("want the confirmation page, got %d", resp.StatusCode)
	}
	if got := promptNoneError(t, e, b); got == "login_required" {
		t.Fatal("a bare GET signed the user out (logout CSRF)")
	}
	action, csrf := formOf(t, body)
	resp, body = b.post(action, url.Values{"csrf_token": {csrf}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "You are signed out") {
		t.Fatalf("confirmed logout: %d\n%s", resp.StatusCode, body)
	}
	if got := promptNoneError(t, e, b); got != "login_required" {
		t.Errorf("after confirmed logout prompt=none gave %q", got)
	}
}

func TestAccountRevokeKillsRefreshToken(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	tok := signedInWithIDToken(t, e, b)
	resp, body := b.get("/account")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Confidential App") {
		t.Fatalf("account page %d does not list the app:\n%s", resp.StatusCode, body)
	}
	_, csrf := formOf(t, body)
	resp, body = b.post("/account/revoke", url.Values{"client_id": {"conf-app"}, "csrf_token": {csrf}})
	if loc := location(t, resp, body); loc.Path != "/account" {
		t.Fatalf("revoke redirected to %s", loc)
	}
	_, body = b.get("/account?done=revoked")
	if strings.Contains(body, "Confidential App") {
		t.Error("the app is still listed after revocation")
	}
	ctx := context.Background()
	cfg := (&authRequest{clientID: "conf-app", redirect: e.issuer + "/cb2"}).oauth2Config(e.issuer, confSecret)
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token(); err == nil {
		t.Error("the refresh token still works after the user removed access")
	}
	req, _ := http.NewRequest(http.MethodGet, e.issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusUnauthorized {
		t.Errorf("userinfo with a revoked access token: %d, want 401", r.StatusCode)
	}
	// The remembered consent is gone: the next authorization asks again.
	if got := promptNoneError(t, e, b); got != "consent_required" {
		t.Errorf("after revocation prompt=none gave %q, want consent_required", got)
	}
}

func TestAccountRequiresSignInAndCSRF(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	resp, body := b.get("/account")
	if loc := location(t, resp, body); loc.Path != "/login" {
		t.Fatalf("anonymous /account went to %s", loc)
	}
	signedInWithIDToken(t, e, b)
	resp, _ = b.post("/account/logout-all", url.Values{"csrf_token": {"forged"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("forged csrf: %d, want 403", resp.StatusCode)
	}
}

func TestAccountChangePasswordAndSignOutEverywhere(t *testing.T) {
	e := newEnv(t)
	b, other := e.browser(), e.browser()
	signedInWithIDToken(t, e, b)
	a := e.newAuthRequest("conf-app", "/cb2")
	fullFlow(t, e, other, a, false)
	_, body := b.get("/account")
	_, csrf := formOf(t, body)
	resp, body := b.post("/account/password", url.Values{"csrf_token": {csrf}, "current_password": {"wrong"}, "new_password": {"a brand new passphrase"}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong current password: %d", resp.StatusCode)
	}
	_, csrf = formOf(t, body)
	resp, body = b.post("/account/password", url.Values{"csrf_token": {csrf}, "current_password": {alicePassword}, "new_password": {"a brand new passphrase"}})
	if loc := location(t, resp, body); loc.RawQuery != "done=password" {
		t.Fatalf("password change went to %s", loc)
	}
	if got := promptNoneError(t, e, other); got != "login_required" {
		t.Errorf("other browser after password change: %q, want login_required", got)
	}
	resp, _ = e.browser().login(e.newAuthRequest("public-app", "/cb").url(e.issuer), "alice", "a brand new passphrase")
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("login with the new password: %d", resp.StatusCode)
	}
	_, body = b.get("/account")
	action := "/account/logout-all"
	_, csrf = formOf(t, body)
	resp, body = b.post(action, url.Values{"csrf_token": {csrf}})
	if loc := location(t, resp, body); loc.Path != "/signed-out" {
		t.Fatalf("sign out everywhere went to %s", loc)
	}
	if got := promptNoneError(t, e, b); got != "login_required" {
		t.Errorf("after sign out everywhere: %q", got)
	}
}

func TestMaxAgeAndLoginHint(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	signedInWithIDToken(t, e, b)
	time.Sleep(1100 * time.Millisecond)
	a := e.newAuthRequest("conf-app", "/cb2")
	a.extra.Set("max_age", "1")
	a.extra.Set("login_hint", "alice")
	resp, body := b.get(a.url(e.issuer))
	loc := location(t, resp, body)
	if loc.Path != "/login" {
		t.Fatalf("max_age exceeded went to %s, want /login", loc)
	}
	_, body = b.get(loc.String())
	if !strings.Contains(body, `value="alice"`) {
		t.Error("login_hint did not prefill the username")
	}
	action, csrf := formOf(t, body)
	resp, body = b.post(action, url.Values{"username": {"alice"}, "password": {alicePassword}, "csrf_token": {csrf}})
	resp, body = b.follow(resp, body)
	code := codeFrom(t, e, a, resp, body)
	if _, err := a.oauth2Config(e.issuer, confSecret).Exchange(context.Background(), code, oauth2.VerifierOption(a.verifier)); err != nil {
		t.Fatalf("exchange after max_age re-login: %v", err)
	}
}

func TestConsentPageShowsClientAndPlainScopes(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	resp, body := b.login(e.newAuthRequest("public-app", "/cb").url(e.issuer), "alice", alicePassword)
	resp, body = b.follow(resp, body)
	for _, want := range []string{"Public App", "https://example.com/privacy", "https://example.com/terms",
		"See your email address", "Stay connected", `name="remember"`, `value="deny"`, `name="csrf_token"`} {
		if !strings.Contains(body, want) {
			t.Errorf("consent page lacks %q", want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP = %q", csp)
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "style=") {
		t.Error("page has inline script or style")
	}
}
