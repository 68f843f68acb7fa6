package oidc_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestDemoAppSignsInOverHTTP drives /demo as a newcomer would: the demo
// relying party redirects to the authorization endpoint, and after login
// and consent its callback exchanges the code over HTTP, verifies the ID
// token and shows the claims and the userinfo response.
func TestDemoAppSignsInOverHTTP(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	resp, body := b.get("/demo")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Sign in with Sesame") {
		t.Fatalf("/demo: %d", resp.StatusCode)
	}
	resp, body = b.get("/demo/login")
	authz := location(t, resp, body)
	q := authz.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("state") == "" || q.Get("nonce") == "" || q.Get("client_id") != "demo-app" {
		t.Fatalf("demo authorize URL lacks PKCE/state/nonce: %s", authz)
	}
	resp, body = b.login(authz.String(), "alice", alicePassword)
	resp, body = b.follow(resp, body)
	resp, body = b.consent(body, "allow", true)
	resp, body = b.follow(resp, body)
	cb := location(t, resp, body)
	if cb.Path != "/demo/callback" {
		t.Fatalf("ended at %s", cb)
	}
	resp, body = b.get(cb.String())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("callback: %d\n%s", resp.StatusCode, body)
	}
	for _, want := range []string{"ID token claims", "UserInfo response", e.alice.ID, "alice@example.com", "refresh token"} {
		if !strings.Contains(body, want) {
			t.Errorf("demo result lacks %q", want)
		}
	}
	// A callback that does not match the browser's state is refused.
	resp, _ = e.browser().get("/demo/callback?" + url.Values{"code": {"x"}, "state": {"y"}}.Encode())
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("callback without the state cookie: %d, want 400", resp.StatusCode)
	}
}
