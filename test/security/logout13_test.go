package security

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/internal/config"
)

// TestLogoutRedirectNeedsIDTokenHint (issue 13 item 8): OIDC RP-Initiated
// Logout 1.0 §3 — without an id_token_hint for the client the OP "MUST
// NOT perform post-logout redirection". Any registered https URI,
// including one a dynamically registered client chose for itself, was an
// open redirector: GET /oauth2/logout?client_id=X&post_logout_redirect_uri=U
// redirected to U for anyone.
func TestLogoutRedirectNeedsIDTokenHint(t *testing.T) {
	backends(t, func(c *config.Config) { c.OpenRegistration = true }, func(t *testing.T, s *srv) {
		const pw = "correct horse battery"
		s.user("alice", pw)
		rp, rpsec := s.client(app.ClientSpec{Name: "rp", RedirectURIs: []string{"https://rp.example.com/cb"},
			PostLogoutRedirectURIs: []string{"https://rp.example.com/bye"}, GrantTypes: []string{"authorization_code"},
			Scopes: []string{"openid"}, SkipConsent: true})
		other, _ := s.client(app.ClientSpec{Name: "other", RedirectURIs: []string{"https://other.example.com/cb"},
			PostLogoutRedirectURIs: []string{"https://other.example.com/bye"}, GrantTypes: []string{"authorization_code"},
			Scopes: []string{"openid"}, SkipConsent: true})

		// An attacker registers a client of its own whose "logout page"
		// is the phishing site.
		body, _ := json.Marshal(map[string]any{"redirect_uris": []string{"https://evil.example.com/cb"},
			"post_logout_redirect_uris": []string{"https://evil.example.com/phish"}, "client_name": "evil"})
		req, _ := http.NewRequest(http.MethodPost, s.issuer+"/oauth2/register", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		reg := s.do(req)
		if reg.status != http.StatusCreated {
			t.Fatalf("register: %d %s", reg.status, reg.body)
		}
		evil := reg.str("client_id")

		signedOut := func(t *testing.T, r resp) {
			t.Helper()
			if r.status != http.StatusOK || r.header.Get("Location") != "" || !strings.Contains(strings.ToLower(string(r.body)), "signed out") {
				t.Fatalf("got %d Location=%q, want the signed-out page:\n%.300s", r.status, r.header.Get("Location"), r.body)
			}
		}
		for _, tc := range []struct{ name, query string }{
			{"self-registered client's URI without id_token_hint", "client_id=" + evil + "&post_logout_redirect_uri=" + url.QueryEscape("https://evil.example.com/phish")},
			{"registered URI of a real client without id_token_hint", "client_id=" + rp.ID + "&post_logout_redirect_uri=" + url.QueryEscape("https://rp.example.com/bye") + "&state=x"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				signedOut(t, s.with(t).get("/oauth2/logout?"+tc.query))
			})
		}

		// With the ID token of the signed-in user for that client the RP
		// gets its redirect (with state).
		b := s.browser()
		az := newAuthz(t, rp, "openid")
		tok := s.exchange(az, b.code(az, "alice", pw), rp.ID, rpsec)
		wantTokens(t, tok)
		idt := tok.str("id_token")
		t.Run("valid id_token_hint for the client redirects", func(t *testing.T) {
			r := b.get("/oauth2/logout?" + url.Values{"id_token_hint": {idt}, "post_logout_redirect_uri": {"https://rp.example.com/bye"}, "state": {"s1"}}.Encode())
			if u := location(t, r); u.Host != "rp.example.com" || u.Path != "/bye" || u.Query().Get("state") != "s1" {
				t.Fatalf("redirected to %s", u)
			}
		})
		t.Run("id_token_hint of one client, URI of another", func(t *testing.T) {
			r := s.with(t).get("/oauth2/logout?" + url.Values{"id_token_hint": {idt}, "client_id": {other.ID},
				"post_logout_redirect_uri": {"https://other.example.com/bye"}}.Encode())
			if r.status != http.StatusBadRequest || r.header.Get("Location") != "" {
				t.Fatalf("got %d Location=%q, want 400 without redirect", r.status, r.header.Get("Location"))
			}
		})
	})
}
