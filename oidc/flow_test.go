package oidc_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// fullFlow runs login + consent (allow) for alice and returns the code;
// with remember=false a consent remembered earlier is accepted.
func fullFlow(t *testing.T, e *env, b *browser, a *authRequest, remember bool) string {
	t.Helper()
	resp, body := b.login(a.url(e.issuer), "alice", alicePassword)
	resp, body = b.follow(resp, body)
	if resp.StatusCode == http.StatusSeeOther && !remember {
		// Consent remembered from an earlier flow of this user.
		return codeFrom(t, e, a, resp, body)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="decision" value="allow"`) {
		t.Fatalf("expected the consent page, got %d:\n%s", resp.StatusCode, body)
	}
	resp, body = b.consent(body, "allow", remember)
	resp, body = b.follow(resp, body)
	return codeFrom(t, e, a, resp, body)
}

func TestCodeFlowPKCEIssuesVerifiableTokens(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	a := e.newAuthRequest("public-app", "/cb")
	code := fullFlow(t, e, b, a, true)

	ctx := context.Background()
	cfg := a.oauth2Config(e.issuer, "")
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(a.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.RefreshToken == "" {
		t.Error("no refresh token although offline_access was granted to a client allowed refresh_token")
	}
	provider, err := gooidc.NewProvider(ctx, e.issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	verifier := provider.Verifier(&gooidc.Config{ClientID: a.clientID, SupportedSigningAlgs: []string{"ES256"}})
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := verifier.Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("verify id token: %v", err)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	var claims map[string]any
	_ = idt.Claims(&claims)
	if idt.Subject != e.alice.ID || idt.Nonce != a.nonce {
		t.Errorf("sub/nonce = %q/%q, want %q/%q", idt.Subject, idt.Nonce, e.alice.ID, a.nonce)
	}
	for _, c := range []string{"auth_time", "sid", "azp", "amr", "at_hash", "email", "name", "preferred_username"} {
		if _, ok := claims[c]; !ok {
			t.Errorf("ID token lacks %q: %v", c, claims)
		}
	}
	if claims["azp"] != a.clientID {
		t.Errorf("azp = %v", claims["azp"])
	}

	// userinfo answers from the access token's scopes.
	ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	var uic map[string]any
	_ = ui.Claims(&uic)
	if uic["sub"] != e.alice.ID || uic["email"] != "alice@example.com" || uic["preferred_username"] != "alice" {
		t.Errorf("userinfo claims %v", uic)
	}

	// OIDC refresh returns a fresh ID token.
	refreshed, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	rawID2, _ := refreshed.Extra("id_token").(string)
	if rawID2 == "" || rawID2 == rawID {
		t.Fatal("refresh did not return a new ID token")
	}
	if _, err := verifier.Verify(ctx, rawID2); err != nil {
		t.Errorf("verify refreshed id token: %v", err)
	}
}

func TestUserinfoErrorsCarryBearerChallenge(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, auth string
		status     int
		wantErr    string
	}{
		{"no token", "", http.StatusUnauthorized, ""},
		{"unknown token", "Bearer not-a-token", http.StatusUnauthorized, `error="invalid_token"`},
		{"wrong scheme", "Basic YTpi", http.StatusUnauthorized, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, e.issuer+"/userinfo", nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			wa := resp.Header.Get("WWW-Authenticate")
			if !strings.HasPrefix(wa, "Bearer") || !strings.Contains(wa, tc.wantErr) {
				t.Errorf("WWW-Authenticate = %q, want Bearer with %q", wa, tc.wantErr)
			}
		})
	}
}

// decode is a tiny helper for JSON error bodies.
func decode(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
	return m
}
