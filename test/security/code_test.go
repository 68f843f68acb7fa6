package security

import (
	"net/url"
	"strings"
	"testing"

	"github.com/sesameauth/sesame/internal/app"
)

// TestAuthorizationCodeAttacks covers PKCE (RFC 7636, RFC 9700 §2.1.1 and
// §4.8), code replay (RFC 6749 §4.1.2, §10.5), code injection across
// clients (RFC 9700 §4.5) and mix-up (RFC 9700 §4.4, RFC 9207).
func TestAuthorizationCodeAttacks(t *testing.T) {
	s := newServer(t)
	const pw = "correct horse battery"
	s.user("alice", pw)
	a, asec := s.webClient("a", true)
	b, bsec := s.webClient("b", true)
	pub, _ := s.client(app.ClientSpec{Name: "spa", Public: true, RedirectURIs: []string{"https://spa.example.com/cb"},
		GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"openid", "offline_access"}, SkipConsent: true})
	// authorizeError expects an error redirect to the client with iss.
	authorizeError := func(s *srv, az *authz, want string) {
		t := s.t
		t.Helper()
		r := s.browser().get(az.path())
		u := location(t, r)
		q := u.Query()
		if !strings.HasPrefix(u.String(), az.redirect+"?") || q.Get("error") != want || q.Get("code") != "" || q.Get("state") != az.state || q.Get("iss") != s.issuer {
			t.Fatalf("authorization response %s, want error=%s with state and iss", u, want)
		}
	}

	t.Run("RFC9700-2.1.1 public client without code_challenge is refused", func(t *testing.T) {
		s := s.with(t)
		az := newAuthz(t, pub, "openid")
		az.extra.Set("code_challenge", "")
		az.extra.Set("code_challenge_method", "")
		authorizeError(s, az, "invalid_request")
	})
	t.Run("RFC9700-2.1.1 plain code_challenge_method is refused", func(t *testing.T) {
		s := s.with(t)
		az := newAuthz(t, pub, "openid")
		az.extra.Set("code_challenge", az.verifier)
		az.extra.Set("code_challenge_method", "plain")
		authorizeError(s, az, "invalid_request")
	})
	t.Run("RFC7636-4.6 wrong code_verifier", func(t *testing.T) {
		s := s.with(t)
		az := newAuthz(t, pub, "openid")
		code := s.code(az, "alice", pw)
		az.verifier = random(t) + random(t)
		wantError(t, s.exchange(az, code, pub.ID, ""), 400, "invalid_grant")
	})
	t.Run("RFC7636-4.5 missing code_verifier", func(t *testing.T) {
		s := s.with(t)
		az := newAuthz(t, a, "openid")
		code := s.code(az, "alice", pw)
		r := s.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {az.redirect}}, a.ID, asec)
		wantError(t, r, 400, "invalid_grant")
	})
	t.Run("RFC7636-4.1 code_verifier shorter than 43 characters", func(t *testing.T) {
		s := s.with(t)
		az := newAuthz(t, a, "openid")
		az.verifier = "short"
		code := s.code(az, "alice", pw)
		wantError(t, s.exchange(az, code, a.ID, asec), 400, "invalid_grant")
	})
	t.Run("RFC9700-4.8.2 PKCE downgrade: verifier sent for a code issued without challenge", func(t *testing.T) {
		s := s.with(t)
		az := newAuthz(t, a, "openid")
		az.extra.Set("code_challenge", "")
		az.extra.Set("code_challenge_method", "")
		code := s.code(az, "alice", pw)
		wantError(t, s.exchange(az, code, a.ID, asec), 400, "invalid_grant")
	})
	t.Run("RFC6749-4.1.2 code replay is refused and revokes the tokens already issued", func(t *testing.T) {
		s := s.with(t)
		az := newAuthz(t, a, "openid offline_access")
		code := s.code(az, "alice", pw)
		first := s.exchange(az, code, a.ID, asec)
		wantTokens(t, first)
		wantError(t, s.exchange(az, code, a.ID, asec), 400, "invalid_grant")
		if s.active(first.str("access_token"), a.ID, asec) || s.active(first.str("refresh_token"), a.ID, asec) {
			t.Fatal("tokens of a replayed code are still active")
		}
	})
	t.Run("RFC9700-4.5 code injection: code of client A redeemed by client B", func(t *testing.T) {
		s := s.with(t)
		az := newAuthz(t, a, "openid")
		code := s.code(az, "alice", pw)
		injected := *az
		injected.redirect = b.RedirectURIs[0]
		wantError(t, s.exchange(&injected, code, b.ID, bsec), 400, "invalid_grant")
		// The victim's own redemption is unaffected by the attempt.
		wantTokens(t, s.exchange(az, code, a.ID, asec))
	})
	t.Run("RFC9700-4.5 code injection: code of a confidential client redeemed by a public one", func(t *testing.T) {
		s := s.with(t)
		az := newAuthz(t, a, "openid")
		code := s.code(az, "alice", pw)
		r := s.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {az.redirect},
			"code_verifier": {az.verifier}, "client_id": {pub.ID}}, "", "")
		wantError(t, r, 400, "invalid_grant")
	})
	t.Run("RFC6749-4.1.3 redirect_uri differs from the authorization request", func(t *testing.T) {
		s := s.with(t)
		az := newAuthz(t, a, "openid")
		code := s.code(az, "alice", pw)
		other := *az
		other.redirect = "https://a.example.com/other"
		wantError(t, s.exchange(&other, code, a.ID, asec), 400, "invalid_grant")
	})
	t.Run("RFC6749-4.1.3 redirect_uri omitted although it was in the authorization request", func(t *testing.T) {
		s := s.with(t)
		az := newAuthz(t, a, "openid")
		code := s.code(az, "alice", pw)
		r := s.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {az.verifier}}, a.ID, asec)
		wantError(t, r, 400, "invalid_grant")
	})
	t.Run("RFC6749-5.2 forged code", func(t *testing.T) {
		s := s.with(t)
		az := newAuthz(t, a, "openid")
		wantError(t, s.exchange(az, "sesame_ac_"+random(t)+"."+random(t), a.ID, asec), 400, "invalid_grant")
	})
	t.Run("RFC6749-3.2.1 confidential client's code redeemed without its secret", func(t *testing.T) {
		s := s.with(t)
		az := newAuthz(t, a, "openid")
		code := s.code(az, "alice", pw)
		r := s.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {az.redirect},
			"code_verifier": {az.verifier}, "client_id": {a.ID}}, "", "")
		wantError(t, r, 401, "invalid_client")
	})
	t.Run("RFC9207-2 authorization response names the issuer (mix-up defence)", func(t *testing.T) {
		s := s.with(t)
		az := newAuthz(t, a, "openid")
		br := s.browser()
		r := br.follow(br.login(az, "alice", pw))
		if got := location(t, r).Query().Get("iss"); got != s.issuer {
			t.Fatalf("iss = %q, want %q", got, s.issuer)
		}
	})
	t.Run("RFC9700-4.4 mix-up: Basic authenticates A while the body names client B", func(t *testing.T) {
		s := s.with(t)
		az := newAuthz(t, b, "openid")
		code := s.code(az, "alice", pw)
		r := s.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {az.redirect},
			"code_verifier": {az.verifier}, "client_id": {b.ID}}, a.ID, asec)
		// Two clients in one request are refused outright (issue 13
		// item 10) — before, Basic won and the code (B's) was invalid_grant.
		wantError(t, r, 400, "invalid_request")
	})
	t.Run("OIDC-Core-3.1.2.1 unregistered scope is refused at authorization", func(t *testing.T) {
		s := s.with(t)
		az := newAuthz(t, a, "openid sesame:admin")
		authorizeError(s, az, "invalid_scope")
	})
	t.Run("RFC6749-4.1.2.1 implicit response_type is refused", func(t *testing.T) {
		s := s.with(t)
		az := newAuthz(t, a, "openid")
		az.extra.Set("response_type", "token")
		r := s.browser().get(az.path())
		u := location(t, r)
		if u.Query().Get("error") == "" && !strings.Contains(u.Fragment, "error=") {
			t.Fatalf("response_type=token answered %s", u)
		}
		if strings.Contains(u.String(), "access_token") {
			t.Fatalf("an access token left through the front channel: %s", u)
		}
	})
}
